"""Find the header row(s) of a grade table and map its columns by their text.

Columns are recognised by what their header *says* (never where it is): the
text is folded (:func:`gradesync.gradebook.text.key`) and looked up in
:data:`LABELS`; a few regular shapes (``TX3``, ``ĐĐGtx 3``, ``Điểm GK``,
``ĐTBmhk (HKI)``) are reduced to a label first. Two-row headers with a merged
group (``ĐĐGtx`` above ``1 2 3 4``) are understood: calamine gives a merged
value only in its first cell, so the group is carried right across the
sub-header cells beneath it.

Roles (what a column holds): ``student_id``, ``full_name``, ``family_name``,
``given_name``, ``tx`` (one ĐĐGtx a column), ``tx_all`` (all ĐĐGtx in one
cell), ``gk``, ``ck``, ``tb``, ``result`` (Đ/CĐ, or a primary level T/H/C),
``score`` (primary test), ``comment``, ``exempt``, ``note``, ``rating.<key>``
(primary qualities/competencies), and ``skip`` for known columns that carry
nothing to send (STT, date of birth, …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gradesync.gradebook.text import key
from gradesync.gradebook.values import is_blank

__all__ = ["ASSESSMENT_ROLES", "LABELS", "Column", "HeaderMap", "column_letter", "find_header"]

_LABEL_TEXT: dict[str, tuple[str, ...]] = {
    "skip": ("STT", "TT", "Số TT", "Số thứ tự", "Ngày sinh", "Ngày tháng năm sinh", "NS",
             "Giới tính", "Nữ", "Nam/Nữ", "GT", "Dân tộc", "Lớp", "Nơi sinh", "Chữ ký", "Ký tên",
             "Ký xác nhận"),
    "student_id": ("Mã HS", "Mã học sinh", "Mã định danh", "Mã định danh Bộ GD&ĐT",
                   "Mã định danh Bộ GDĐT", "Mã định danh học sinh", "Mã ĐDHS", "Mã ĐD",
                   "Mã số học sinh", "Mã số HS", "MSHS", "MaHS", "Mã định danh cá nhân",
                   "Số định danh cá nhân", "Số ĐDCN", "Mã định danh/Số định danh cá nhân",
                   "ID", "Mã", "Student ID", "Mã định danh Bộ GD&ĐT (10 số)"),
    "full_name": ("Họ và tên", "Họ tên", "Họ và tên học sinh", "Họ tên học sinh",
                  "Tên học sinh", "Học sinh", "Họ và tên HS", "Họ tên HS", "Full name"),
    "family_name": ("Họ và tên đệm", "Họ đệm", "Họ và đệm", "Họ", "Họ và chữ đệm",
                    "Họ, tên đệm", "Họ tên đệm"),
    "given_name": ("Tên",),
    "tx_all": ("ĐĐGtx", "ĐGTX", "TX", "Điểm TX", "Điểm ĐĐGtx", "Điểm đánh giá thường xuyên",
               "Đánh giá thường xuyên", "ĐĐG thường xuyên", "KTTX", "Điểm KTTX",
               "Kiểm tra thường xuyên", "Điểm thường xuyên", "ĐĐGtx (cách nhau bởi dấu cách)"),
    "gk": ("ĐĐGgk", "GK", "Giữa kỳ", "Giữa học kỳ", "KTGK", "ĐGGK", "Điểm giữa kỳ",
           "Kiểm tra giữa kỳ", "ĐĐG giữa kỳ", "Đánh giá giữa kỳ", "Điểm KTGK"),
    "ck": ("ĐĐGck", "CK", "Cuối kỳ", "Cuối học kỳ", "KTCK", "ĐGCK", "Điểm cuối kỳ",
           "Kiểm tra cuối kỳ", "ĐĐG cuối kỳ", "Đánh giá cuối kỳ", "Điểm KTCK"),
    "tb": ("ĐTBmhk", "ĐTBm", "ĐTBM", "TBM", "TBmhk", "ĐTB", "TB", "Điểm TB", "Điểm trung bình",
           "Trung bình", "Trung bình môn", "TB môn", "TBHK", "ĐTBHK", "ĐTB môn học kỳ",
           "Điểm trung bình môn học kỳ", "Điểm trung bình môn", "TBmHK"),
    "result": ("Đánh giá", "Kết quả", "KQ", "Kết quả đánh giá", "Xếp loại", "Đánh giá HK",
               "KQ học kỳ", "Mức đánh giá", "Đánh giá học kỳ", "Kết quả học tập",
               "Mức đạt được", "Mức đạt", "Mức", "Mức độ", "Mức hoàn thành",
               "Mức độ hoàn thành", "Đánh giá môn học", "Kết quả môn học"),
    "score": ("Điểm KTĐK", "Điểm KT", "Điểm kiểm tra", "KTĐK", "Điểm kiểm tra định kỳ",
              "Điểm", "Bài kiểm tra", "Điểm bài kiểm tra", "Điểm KT định kỳ"),
    "comment": ("Nhận xét", "NX", "Lời nhận xét", "Nhận xét của giáo viên", "Nhận xét môn học",
                "Nội dung nhận xét"),
    "exempt": ("Miễn", "MG", "Miễn giảm", "Miễn học", "Miễn học thực hành", "Khuyết tật",
               "HS khuyết tật", "HSKT", "Được miễn"),
    "note": ("Ghi chú", "GC"),
    "rating.yeu_nuoc": ("Yêu nước",),
    "rating.nhan_ai": ("Nhân ái",),
    "rating.cham_chi": ("Chăm chỉ",),
    "rating.trung_thuc": ("Trung thực",),
    "rating.trach_nhiem": ("Trách nhiệm",),
    "rating.tu_chu_tu_hoc": ("Tự chủ và tự học", "Tự chủ, tự học"),
    "rating.giao_tiep_hop_tac": ("Giao tiếp và hợp tác", "Giao tiếp, hợp tác"),
    "rating.gqvd_sang_tao": ("Giải quyết vấn đề và sáng tạo", "GQVĐ và sáng tạo"),
    "rating.ngon_ngu": ("Ngôn ngữ",),
    "rating.tinh_toan": ("Tính toán",),
    "rating.khoa_hoc": ("Khoa học",),
    "rating.cong_nghe": ("Công nghệ",),
    "rating.tin_hoc": ("Tin học",),
    "rating.tham_mi": ("Thẩm mĩ", "Thẩm mỹ"),
    "rating.the_chat": ("Thể chất",),
}  # fmt: skip


def _key(text: str) -> str:
    """:func:`key`, with ``y`` read as ``i`` (``kỳ``/``kì``, ``lý``/``lí`` are one word)."""
    return key(text).replace("y", "i")


LABELS: dict[str, str] = {_key(text): role for role, texts in _LABEL_TEXT.items() for text in texts}

#: Roles that make a table a *grade* table (an id/name list alone is not one).
ASSESSMENT_ROLES = frozenset({"tx", "tx_all", "gk", "ck", "tb", "result", "score"})
_IDENTITY_ROLES = frozenset({"student_id", "full_name", "family_name"})
#: Roles a table may hold once; ``tx`` is the only repeated one.
_SINGLE_ROLES = frozenset(
    {"student_id", "full_name", "family_name", "given_name", "tx_all", "gk", "ck", "tb",
     "result", "score", "comment", "exempt", "note"}
)  # fmt: skip

_TX_NUMBERED = re.compile(r"(?:diem)?(?:ddg|dg|kt|d)?tx(?:lan)?([1-9])")
_PAREN = re.compile(r"\([^)]*\)")
_SEMESTER_SUFFIX = re.compile(r"(?:hk|hocki)(?:ii|i|1|2)$")
_SUB_NUMBER = re.compile(r"(?:lan|l|tx|cot)?([1-9])")
_HEADER_SCAN_ROWS = 40


@dataclass(frozen=True, slots=True)
class Column:
    index: int  # 0-based
    role: str
    header: str  # the text as the teacher wrote it ("ĐĐGtx / 2" for two rows)
    cell: str  # A1 of the (lowest) header cell


@dataclass(slots=True)
class HeaderMap:
    """The mapped columns of one table and what could not be mapped."""

    top: int  # 0-based first header row
    bottom: int  # 0-based last header row (data starts below it)
    columns: list[Column] = field(default_factory=list)  # mapped, first of each role
    tx: list[Column] = field(default_factory=list)  # one ĐĐGtx a column, in order
    unmapped: list[Column] = field(default_factory=list)  # role "?"
    duplicates: list[tuple[Column, Column]] = field(default_factory=list)  # (first, again)

    def get(self, role: str) -> Column | None:
        for column in self.columns:
            if column.role == role:
                return column
        return None

    @property
    def roles(self) -> set[str]:
        out = {c.role for c in self.columns}
        if self.tx:
            out.add("tx")
        return out


_letters: list[str] = []


def column_letter(index: int) -> str:
    """0-based column index → ``A``, ``B``, … ``AA``."""
    while len(_letters) <= index:
        n, out = len(_letters) + 1, ""
        while n:
            n, rem = divmod(n - 1, 26)
            out = chr(65 + rem) + out
        _letters.append(out)
    return _letters[index]


def _text(value: object) -> str:
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def role_of(text: str) -> str | None:
    """The role a header text names, or ``None``."""
    k = _key(text)
    if not k:
        return None
    role = LABELS.get(k)
    if role:
        return role
    if _TX_NUMBERED.fullmatch(k):
        return "tx"
    for variant in (
        _key(_PAREN.sub("", text)),
        k.removeprefix("diem"),
        _SEMESTER_SUFFIX.sub("", k),
        _SEMESTER_SUFFIX.sub("", _key(_PAREN.sub("", text))),
    ):
        if variant and variant != k:
            role = LABELS.get(variant) or ("tx" if _TX_NUMBERED.fullmatch(variant) else None)
            if role:
                return role
    return None


def _row_roles(row: list[object]) -> list[str | None]:
    return [role_of(_text(v)) if isinstance(v, str) else None for v in row]


def _is_sub_header(row: list[object], identity_cols: list[int]) -> bool:
    """Is ``row`` the second row of a two-row header? Its identity cells are blank
    (merged down from above) and it holds sub-labels (numbers 1–9 or known labels)."""
    if any(i < len(row) and not is_blank(row[i]) for i in identity_cols):
        return False
    for value in row:
        text = _text(value)
        if text and (_SUB_NUMBER.fullmatch(key(text)) or role_of(text)):
            return True
    return False


def _resolve(group: str, sub: str) -> str | None:
    """The role of a column under a two-row header (``group`` above ``sub``)."""
    if not sub:
        return role_of(group)
    role = role_of(sub)
    if role and role != "tx_all":
        return role
    group_role = role_of(group) if group else None
    if group_role in ("tx_all", "tx") and _SUB_NUMBER.fullmatch(key(sub)):
        return "tx"
    return role_of(f"{group} {sub}") if group else role


def find_header(rows: list[list[object]]) -> HeaderMap | None:
    """The header of the grade table in ``rows``, or ``None`` when there is none.

    The header is the first row (within the first 40) naming a student id or
    name column and, on it or on the row below, at least one assessment column.
    """
    limit = min(len(rows), _HEADER_SCAN_ROWS)
    for r in range(limit):
        roles = _row_roles(rows[r])
        identity = [i for i, role in enumerate(roles) if role in _IDENTITY_ROLES]
        if not identity:
            continue
        below = rows[r + 1] if r + 1 < len(rows) else []
        two_rows = bool(below) and _is_sub_header(below, identity)
        header = _map(rows[r], below if two_rows else [], r, two_rows)
        if header.roles & ASSESSMENT_ROLES:
            return header
    return None


def _map(top: list[object], sub: list[object], r: int, two_rows: bool) -> HeaderMap:
    header = HeaderMap(top=r, bottom=r + 1 if two_rows else r)
    width = max(len(top), len(sub))
    seen: dict[str, Column] = {}
    group, group_open = "", False
    for c in range(width):
        top_text = _text(top[c]) if c < len(top) else ""
        sub_text = _text(sub[c]) if c < len(sub) else ""
        if top_text:
            group, group_open = top_text, bool(sub_text)
        elif not (sub_text and group_open):
            group, group_open = "", False  # a gap ends a merged group
        if not group and not sub_text:
            continue
        role = _resolve(group, sub_text) if two_rows else role_of(group)
        label = " / ".join(t for t in (group, sub_text) if t)
        # Point at the cell that holds the text: the sub-header, or the top row
        # for a header merged down over both rows.
        cell = f"{column_letter(c)}{(header.bottom if sub_text else header.top) + 1}"
        column = Column(c, role or "?", label, cell)
        if role is None:
            header.unmapped.append(column)
        elif role == "tx":
            header.tx.append(column)
        elif role in _SINGLE_ROLES and role in seen:
            header.duplicates.append((seen[role], column))
        elif role != "skip":
            seen[role] = column
            header.columns.append(column)
    if header.tx and "tx_all" in seen:
        # One ĐĐGtx a column *and* an all-in-one column: read the columns.
        header.duplicates.append((header.tx[0], seen["tx_all"]))
        header.columns.remove(seen["tx_all"])
    return header
