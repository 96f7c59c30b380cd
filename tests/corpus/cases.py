"""The quirky-workbook corpus: every layout and mistake domain.md lists, built in code.

Each :class:`Case` builds one workbook with openpyxl and states the **exact**
findings the reader must report, as ``(code, cell)`` pairs (``cell`` is
``None`` for sheet- and file-level findings). Some cases also check values
read (``check``). ``formats`` names the LibreOffice conversions the case is
also run through (``xls``, ``ods``), ``recalc`` marks cases whose formulas
need LibreOffice to compute and cache their values.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from gradesync.gradebook.model import Hints, WorkbookReport

D = Decimal


def sid(n: int) -> str:
    """A valid 10-digit Ministry code with a leading zero (as HCMC's start 079…)."""
    return f"079{n:07d}"


TITLE = [
    ["SỞ GIÁO DỤC VÀ ĐÀO TẠO TP. HỒ CHÍ MINH"],
    ["TRƯỜNG THCS NGUYỄN DU"],
    ["BẢNG ĐIỂM HỌC KỲ I - NĂM HỌC 2025-2026"],
    ["Lớp: 6A1", None, None, "Môn: Toán"],
    [],
]
TWO_ROW_HEADER = [
    ["STT", "Mã định danh Bộ GD&ĐT", "Họ và tên", "ĐĐGtx", None, None, None, "ĐĐGgk", "ĐĐGck",
     "ĐTBmhk", "Nhận xét"],
    [None, None, None, 1, 2, 3, 4],
]  # fmt: skip
GOOD = [  # tx ×4, gk, ck, tb (right), comment
    [sid(1), "Nguyễn Văn An", 8, 7.5, 9, 10, 8, 9, 8.6, "Chăm chỉ"],
    [sid(2), "Trần Thị Bình", 6, 7, 5.5, 8, 7, 6.5, 6.7, None],
    [sid(3), "Lê Hoàng Cường", 10, 9, 9.5, 10, 9, 10, 9.6, None],
]


def sheet_with(ws: Worksheet, title: list[list], header: list[list], rows: list[list]) -> None:
    """Title block, header rows, then data rows numbered in an STT column."""
    for line in title + header:
        ws.append(line)
    for n, row in enumerate(rows, 1):
        ws.append([n, *row])


def standard(ws: Worksheet, rows: list[list] | None = None) -> None:
    sheet_with(ws, TITLE, TWO_ROW_HEADER, GOOD if rows is None else rows)
    ws.merge_cells("D6:G6")
    for col in "ABCHIJK":
        ws.merge_cells(f"{col}6:{col}7")


@dataclass
class Case:
    name: str
    build: Callable[[openpyxl.Workbook], None]
    expected: list[tuple[str, str | None]]
    filename: str = "BangDiem.xlsx"
    hints: Hints | None = None
    check: Callable[[WorkbookReport], None] | None = None
    formats: tuple[str, ...] = ()
    recalc: bool = False
    notes: str = ""
    extra: dict = field(default_factory=dict)

    def workbook(self) -> openpyxl.Workbook:
        wb = openpyxl.Workbook()
        self.build(wb)
        return wb


def only_book(report: WorkbookReport):
    assert len(report.gradebooks) == 1, [b.sheet for b in report.gradebooks]
    return report.gradebooks[0]


# --- the cases -----------------------------------------------------------------


def _title_block(wb):
    ws = wb.active
    ws.title = "Sheet1"
    standard(ws)


def _check_title_block(report):
    book = only_book(report)
    assert (book.class_name, book.subject_code, book.semester, book.school_year) == (
        "6A1", "TOAN", "HK1", "2025-2026",
    )  # fmt: skip
    assert book.header_row == 7
    assert [r.row for r in book.rows] == [8, 9, 10]
    first = book.rows[0]
    assert first.student_id == "0790000001"
    assert first.tx == [D(8), D("7.5"), D(9), D(10)]
    assert (first.gk, first.ck, first.tb, first.comment) == (D(8), D(9), D("8.6"), "Chăm chỉ")
    assert first.cells["tx.1"] == "E8" and first.cells["ck"] == "I8"


def _nfd_headers(wb):
    """NFD text, no diacritics, line breaks, doubled spaces, abbreviations."""
    ws = wb.active
    ws.title = unicodedata.normalize("NFD", "Toán")
    nfd = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731
    header = [[nfd("STT"), nfd("Mã\nđịnh danh"), "Ho va ten", "TX1", "tx 2", nfd("ĐĐGtx3"),
               "DDGtx 4", "GK", nfd("Cuối\n  kỳ"), "TBM", nfd("NHẬN XÉT")]]  # fmt: skip
    title = [[nfd("BẢNG ĐIỂM HỌC KÌ I")], [nfd("Năm học: 2025 - 2026")], [nfd("LỚP 6A1")]]
    sheet_with(ws, title, header, GOOD)


def _split_name(wb):
    ws = wb.active
    ws.title = "Toán"
    header = [["STT", "Mã HS", "Họ và tên đệm", "Tên", "TX1", "TX2", "TX3", "TX4", "ĐĐGgk",
               "ĐĐGck", "ĐTBmhk"]]  # fmt: skip
    rows = [[sid(1), "Nguyễn Văn", "An", 8, 7.5, 9, 10, 8, 9, 8.6],
            [sid(2), "Trần Thị", "Bình", 6, 7, 5.5, 8, 7, 6.5, 6.7]]  # fmt: skip
    sheet_with(ws, TITLE[:4], header, rows)


def _check_split_name(report):
    assert [r.full_name for r in only_book(report).rows] == ["Nguyễn Văn An", "Trần Thị Bình"]


def _one_cell(wb):
    ws = wb.active
    ws.title = "Toan"
    header = [["STT", "Mã HS", "Họ tên", "Điểm TX", "GK", "CK", "TB"]]
    rows = [[sid(1), "An", "8 7,5 9 10", 8, 9, 8.6],
            [sid(2), "Bình", "6  7;5,5 8", 7, 6.5, 6.7],
            [sid(3), "Cường", "9 8 x 7", 7, 8, None]]  # fmt: skip
    sheet_with(ws, TITLE[:4], header, rows)


def _check_one_cell(report):
    rows = only_book(report).rows
    assert rows[0].tx == [D(8), D("7.5"), D(9), D(10)] and rows[0].cells["tx"] == "D6"
    assert rows[1].tx == [D(6), D(7), D("5.5"), D(8)]
    assert rows[2].tx == [D(9), D(8), D(7)]


def _text_numbers(wb):
    """Decimal commas, numbers stored as text, trailing spaces, NBSP."""
    ws = wb.active
    ws.title = "Toán"
    ck = "6,5\u00a0"  # a no-break space pasted from the web
    rows = [[sid(1) + " ", "Nguyễn Văn An ", "8", "7,5", " 9", "10 ", "8,0", "9", "8,6", None],
            [" " + sid(2), "Trần  Thị Bình", 6, "7.0", "5,5", 8, "7", ck, 6.7, None]]  # fmt: skip
    standard(ws, rows)


def _check_text_numbers(report):
    rows = only_book(report).rows
    assert rows[0].student_id == sid(1) and rows[0].full_name == "Nguyễn Văn An"
    assert rows[0].tx == [D(8), D("7.5"), D(9), D(10)]
    assert rows[1].ck == D("6.5") and rows[1].full_name == "Trần Thị Bình"


def _ids(wb):
    ws = wb.active
    ws.title = "Toán"
    rows = [[int(sid(1)), "Mất số 0", 8, 7.5, 9, 10, 8, 9, 8.6, None],  # 9 digits left
            ["7.91234E+11", "Dạng số mũ (chữ)", 8, 7.5, 9, 10, 8, 9, 8.6, None],
            [791234000000, "Dạng số mũ (số)", 8, 7.5, 9, 10, 8, 9, 8.6, None],
            [791234567890, "Định danh cá nhân 12 số", 8, 7.5, 9, 10, 8, 9, 8.6, None],
            [79123456789, "11 chữ số", 8, 7.5, 9, 10, 8, 9, 8.6, None],
            ["07912345", "Thiếu số", 8, 7.5, 9, 10, 8, 9, 8.6, None],
            ["079123456A", "Có chữ", 8, 7.5, 9, 10, 8, 9, 8.6, None],
            [None, "Không có mã", 8, 7.5, 9, 10, 8, 9, 8.6, None]]  # fmt: skip
    standard(ws, rows)


def _check_ids(report):
    rows = only_book(report).rows
    assert [r.student_id for r in rows] == [
        None, None, None, "791234567890", None, "07912345", "079123456A", None,
    ]  # fmt: skip
    assert "0790000001" not in rows[0].findings[0].message  # we cannot know the lost digits
    assert "Văn bản (Text)" in rows[0].findings[0].message


def _scores_wrong(wb):
    ws = wb.active
    ws.title = "Toán"
    rows = [[sid(1), "Điểm 11", 8, 7.5, 9, 10, 11, 9, None, None],
            [sid(2), "Quên dấu phẩy", 8, 7.5, 9, 10, 8, 85, None, None],
            [sid(3), "Hai chữ số thập phân", 8, 7.75, 9, 10, 8, 9, None, None],
            [sid(4), "Chữ trong ô điểm", 8, "tám", 9, 10, 8, 9, None, None],
            [sid(5), "Đ trong môn điểm số", 8, 7, 9, 10, "Đ", 9, None, None],
            [sid(6), "Thiếu GK", 8, 7, 9, 10, None, 9, None, None],
            [sid(7), "Thiếu TX", 8, 7, None, None, 8, 9, None, None],
            [sid(8), "TB sai", 8, 7.5, 9, 10, 8, 9, 8.7, None],
            [sid(9), "Âm", 8, 7.5, 9, 10, -1, 9, None, None],
            [sid(10), "Hai điểm một ô", 8, "7 9", 9, 10, 8, 9, None, None]]  # fmt: skip
    standard(ws, rows)


def _check_scores_wrong(report):
    rows = only_book(report).rows
    tenfold = rows[1].findings[0]
    assert "8,5" in tenfold.message and "85" in tenfold.message
    assert rows[0].findings[0].message == "Điểm ĐĐGgk phải từ 0 đến 10 (đang là 11, ô H8)."
    mismatch = rows[7].findings[0]
    assert "8,7" in mismatch.message and "8,6" in mismatch.message


def _extra_tx(wb):
    """A 5-column template for a 2-ĐĐGtx subject (GDCD, 35 periods)."""
    ws = wb.active
    ws.title = "GDCD"
    header = [["STT", "Mã HS", "Họ tên", "TX1", "TX2", "TX3", "TX4", "TX5", "GK", "CK"]]
    rows = [[sid(1), "Đủ 2", 8, 7, None, None, None, 8, 9],
            [sid(2), "Thừa", 8, 7, 9, None, None, 8, 9],
            [sid(3), "Thiếu", 8, None, None, None, None, 8, 9]]  # fmt: skip
    sheet_with(ws, [["HỌC KỲ II, năm học 2025-2026"], ["Lớp 7A2"]], header, rows)


def _hidden_and_lookup(wb):
    ws = wb.active
    ws.title = "Toán"
    standard(ws)
    ws.column_dimensions["E"].hidden = True  # ĐĐGtx 2 still counts
    lookup = wb.create_sheet("DanhMuc")
    lookup.append(["Mã", "Tên môn"])
    lookup.append(["TOAN", "Toán"])
    hidden = wb.create_sheet("Tra cứu")
    hidden.sheet_state = "hidden"
    hidden.append(["Điểm", "Xếp loại"])
    hidden.append([8, "Giỏi"])


def _check_hidden(report):
    assert only_book(report).rows[0].tx == [D(8), D("7.5"), D(9), D(10)]


def _blank_and_totals(wb):
    ws = wb.active
    ws.title = "Toán"
    rows = [GOOD[0], [None] * 10, GOOD[1], [None] * 10, [None] * 10, GOOD[2]]
    standard(ws, rows)
    ws.append([])
    ws.append([None, None, "Tổng số học sinh: 3", None, None, None, None, 8.5])
    ws.append([None, None, "Điểm trung bình lớp", None, None, None, None, "=AVERAGE(H8:H13)"])
    ws.append([])
    ws.append([None, None, None, None, None, None, "TP. HCM, ngày 20 tháng 12 năm 2025"])
    ws.append([None, None, "Giáo viên bộ môn", None, None, None, "Hiệu trưởng"])
    ws.append([None, None, "(Ký, ghi rõ họ tên)"])


def _check_blank(report):
    assert [r.row for r in only_book(report).rows] == [8, 10, 13]


def _formulas(wb):
    ws = wb.active
    ws.title = "Toán"
    standard(ws)
    for r in (8, 9, 10):
        ws[f"J{r}"] = f"=ROUND((SUM(D{r}:G{r})+2*H{r}+3*I{r})/(COUNT(D{r}:G{r})+5),1)"
    ws["I9"] = "=6+0.5"  # a formula where a score belongs: its value counts


def _check_formulas(report):
    rows = only_book(report).rows
    assert [r.tb for r in rows] == [D("8.6"), D("6.7"), D("9.6")]
    assert rows[1].ck == D("6.5")


def _comment_subject(wb):
    ws = wb.active
    ws.title = "Thể dục"
    header = [["STT", "Mã HS", "Họ và tên", "ĐĐGtx", None, "ĐĐGgk", "ĐĐGck", "Đánh giá", "Miễn",
               "Ghi chú"],
              [None, None, None, "TX1", "TX2"]]  # fmt: skip
    rows = [[sid(1), "Đạt", "Đ", "Đ", "Đ", "Đ", "Đ", None, None],
            [sid(2), "Chữ đầy đủ", "Đạt", "Chưa đạt", "đ", "CD", "CĐ", None, None],
            [sid(3), "Điểm số", "Đ", 8, "Đ", "Đ", "Đ", None, None],
            [sid(4), "Sai chữ", "Đ", "Đ", "Đ", "Đ", "Tốt", None, None],
            [sid(5), "Miễn thực hành", None, None, None, None, None, "x", None],
            [sid(6), "Ghi chú miễn", None, None, None, None, None, None, "Miễn học GDTC"],
            [sid(7), "Thiếu", "Đ", "Đ", "Đ", "Đ", None, None, None]]  # fmt: skip
    sheet_with(ws, [["Lớp: 8A3 - Năm học 2025-2026 - Học kỳ I"]], header, rows)


def _check_comment(report):
    book = only_book(report)
    assert book.subject_code == "GDTC"
    assert [r.result for r in book.rows] == ["Đ", "CĐ", "Đ", None, None, None, None]
    assert book.rows[1].tx_results == ["Đ", "CĐ"]
    assert [r.exempt for r in book.rows] == [False] * 4 + [True, True, False]


def _primary(wb):
    ws = wb.active
    ws.title = "Toán"
    header = [["STT", "Mã học sinh", "Họ và tên", "Mức đạt được", "Điểm KTĐK", "Nhận xét",
               "Chăm chỉ", "Tự chủ và tự học"]]  # fmt: skip
    rows = [[sid(1), "Tốt", "T", 9, "Tính toán nhanh", "T", "Đ"],
            [sid(2), "Hoàn thành", "Hoàn thành", 7, None, "Đ", "Đ"],
            [sid(3), "Điểm lẻ", "H", 7.5, None, "Đ", "C"],
            [sid(4), "Đ ở môn học", "Đ", 8, None, "T", "T"],
            [sid(5), "H ở phẩm chất", "T", 10, None, "H", "T"],
            [sid(6), "Thiếu điểm", "C", None, None, "C", "C"],
            [sid(7), "Trên 10", "T", 11, None, "T", "T"]]  # fmt: skip
    title = [["BÁO CÁO KẾT QUẢ CUỐI HỌC KỲ I - NĂM HỌC 2025-2026"], ["Lớp 4A", None, "Môn Toán"]]
    sheet_with(ws, title, header, rows)


def _check_primary(report):
    book = only_book(report)
    assert (book.semester, book.grade, book.level.value) == ("CK1", 4, "primary")
    assert [r.level for r in book.rows] == ["T", "H", "H", None, "T", "C", "T"]
    assert [r.score for r in book.rows] == [9, 7, None, 8, 10, None, 11]
    assert book.rows[0].ratings == {"cham_chi": "T", "tu_chu_tu_hoc": "Đ"}


def _no_metadata(wb):
    ws = wb.active
    ws.title = "Sheet1"
    sheet_with(ws, [], TWO_ROW_HEADER, GOOD)


def _check_hinted(report):
    book = only_book(report)
    assert (book.class_name, book.subject_code, book.semester, book.school_year) == (
        "6A1", "TOAN", "HK1", "2025-2026",
    )  # fmt: skip


def _names(wb):
    """Metadata only in the sheet name and the file name."""
    ws = wb.active
    ws.title = "Ngữ văn"
    sheet_with(ws, [], TWO_ROW_HEADER, GOOD)


def _check_names(report):
    book = only_book(report)
    assert (book.class_name, book.subject_code, book.semester, book.school_year) == (
        "9A2", "NGUVAN", "HK2", "2025-2026",
    )  # fmt: skip


def _columns(wb):
    ws = wb.active
    ws.title = "Toán"
    header = [["STT", "Mã HS", "Họ tên", "TX1", "TX2", "TX3", "TX4", "GK", "Điểm thi lại", "CK",
               "Cuối kỳ", "Ngày sinh"]]  # fmt: skip
    rows = [[sid(1), "An", 8, 7.5, 9, 10, 8, None, 9, 1, "01/02/2013"]]
    sheet_with(ws, TITLE[:4], header, rows)


def _missing_columns(wb):
    ws = wb.active
    ws.title = "Toán"
    header = [["STT", "Họ tên", "TX1", "TX2", "TX3", "TX4", "GK"]]
    sheet_with(ws, TITLE[:4], header, [["An", 8, 7.5, 9, 10, 8]])


def _duplicates(wb):
    ws = wb.active
    ws.title = "Toán"
    rows = [GOOD[0], GOOD[1], [sid(1), "Dán lệch dòng", 6, 7, 5.5, 8, 7, 6.5, 6.7, None]]
    standard(ws, rows)


def _class_book(wb):
    """A class's whole set: a metadata sheet, a sheet per subject, one with no table."""
    meta = wb.active
    meta.title = "Thông tin"
    for line in (["Năm học", "2025-2026"], ["Học kỳ", "HK1"], ["Lớp", "10A1"], [],
                 ["Trang", "Môn"], ["Lí", "VATLY"], ["Văn", "NGUVAN"]):  # fmt: skip
        meta.append(line)
    meta.sheet_state = "hidden"
    phys = wb.create_sheet("Lí")
    header = [["STT", "Mã HS", "Họ tên", "TX1", "TX2", "TX3", "GK", "CK", "TB"]]
    sheet_with(phys, [], header, [[sid(1), "An", 8, 7, 9, 8, 9, 8.4]])
    lit = wb.create_sheet("Văn")
    header = [["STT", "Mã HS", "Họ tên", "TX1", "TX2", "TX3", "TX4", "GK", "CK", "TB"]]
    sheet_with(lit, [], header, [[sid(1), "An", 8, 7, 9, 8, 8, 9, 8.3]])
    wb.create_sheet("Ghi chú").append(["Nộp trước ngày 20/12"])


def _check_class_book(report):
    assert [(b.sheet, b.subject_code, b.class_name, b.grade) for b in report.gradebooks] == [
        ("Lí", "VATLY", "10A1", 10), ("Văn", "NGUVAN", "10A1", 10),
    ]  # fmt: skip


CLASS_NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Minh Dũng",
               "Hoàng Ngọc Giang"]  # fmt: skip
SUBJECT_SHEETS = {  # sheet -> (subject code, its one-row header, the scores of a row)
    "Toán": ("TOAN", ["TX1", "TX2", "TX3", "TX4", "GK", "CK", "TB"], [8, 7, 9, 8, 8, 9, 8.3]),
    "Văn": ("NGUVAN", ["TX1", "TX2", "TX3", "TX4", "GK", "CK", "TB"], [7, 7, 8, 8, 7, 8, 7.6]),
    "Lí": ("VATLY", ["TX1", "TX2", "TX3", "GK", "CK", "TB"], [8, 7, 9, 8, 9, 8.4]),
}


def _class_sheets(wb, names: dict[str, list[str | None]], split: str | None = None) -> None:
    """A class set (10A1, HK1): a hidden metadata sheet and a sheet per subject, the
    same five students in the same order; ``names`` overrides a sheet's name column,
    ``split`` puts one sheet's names in two columns (family + middle, given)."""
    meta = wb.active
    meta.title = "Thông tin"
    for line in (
        ["Năm học", "2025-2026"],
        ["Học kỳ", "HK1"],
        ["Lớp", "10A1"],
        [],
        ["Trang", "Môn"],
        *([s, c] for s, (c, _, _) in SUBJECT_SHEETS.items()),
    ):
        meta.append(line)  # fmt: skip
    meta.sheet_state = "hidden"
    for sheet, (_, columns, scores) in SUBJECT_SHEETS.items():
        ws = wb.create_sheet(sheet)
        sheet_names = names.get(sheet, CLASS_NAMES)
        if sheet == split:
            header = [["STT", "Mã HS", "Họ và tên đệm", "Tên", *columns]]
            rows = [[sid(n), *name.rsplit(" ", 1), *scores]  # type: ignore[union-attr]
                    for n, name in enumerate(sheet_names, 1)]  # fmt: skip
        else:
            header = [["STT", "Mã HS", "Họ và tên", *columns]]
            rows = [[sid(n), name, *scores] for n, name in enumerate(sheet_names, 1)]
        sheet_with(ws, [], header, rows)


def _class_shifted(wb):
    """The Lí sheet's names pasted one row up against its ids: each id carries the
    name of the student on the next row (as the other two sheets say), the last
    id none. Toán and Văn agree, so only Lí is flagged, row by row and once as a sheet."""
    _class_sheets(wb, {"Lí": [*CLASS_NAMES[1:], None]})


def _check_class_shifted(report):
    book = next(b for b in report.gradebooks if b.sheet == "Lí")
    [shifted] = book.findings
    assert "4 trong 4" in shifted.message and "dòng ngay dưới" in shifted.message
    first = book.rows[0].findings[0]
    assert first.is_error
    for words in (
        "'Lí'",
        "C2",
        "'Trần Thị Bình'",
        "'Nguyễn Văn An'",
        "'Toán'",
        "có thể các dòng bị dán lệch một dòng — kiểm tra lại cột mã và cột tên",
    ):
        assert words in first.message, words  # fmt: skip
    assert not book.rows[0].is_valid and book.rows[4].is_valid


def _class_misspelled(wb):
    """One name typed without a diacritic on Văn: the same student (a warning). Toán
    splits its names over two columns and Lí writes them in NFD, upper case, with doubled
    spaces: neither is a difference."""
    names = list(CLASS_NAMES)
    names[1] = "Trần Thi Bình"
    loud = [unicodedata.normalize("NFD", n.upper().replace(" ", "  ")) for n in CLASS_NAMES]
    _class_sheets(wb, {"Văn": names, "Lí": loud}, split="Toán")


def _check_class_misspelled(report):
    [warning] = report.all_findings()
    assert not warning.is_error and warning.sheet == "Văn"
    assert "'Trần Thi Bình'" in warning.message and "'Trần Thị Bình'" in warning.message
    assert report.gradebooks[0].rows[1].full_name == "Trần Thị Bình"  # the split name, joined


def _no_table(wb):
    ws = wb.active
    ws.append(["Danh sách lớp 6A1"])
    ws.append(["Mã HS", "Họ tên"])  # a roster, not a grade table
    ws.append([sid(1), "An"])


CASES: list[Case] = [
    Case("title_block_two_row_header", _title_block, [], "BangDiem.xlsx",
         check=_check_title_block, formats=("xls", "ods")),
    Case("nfd_no_diacritics_line_breaks", _nfd_headers, [], formats=("ods",)),
    Case("split_name_columns", _split_name, [], check=_check_split_name),
    Case("all_tx_in_one_cell", _one_cell, [("SCORE_NOT_A_NUMBER", "D8")], check=_check_one_cell),
    Case("comma_decimals_text_numbers_spaces", _text_numbers, [], check=_check_text_numbers,
         formats=("xls", "ods")),
    Case("ids_as_numbers_and_scientific", _ids, [
        ("ID_LEADING_ZERO_LOST", "B8"), ("ID_SCIENTIFIC_NOTATION", "B9"),
        ("ID_SCIENTIFIC_NOTATION", "B10"), ("ID_LEADING_ZERO_LOST", "B12"),
        ("ID_MALFORMED", "B13"), ("ID_MALFORMED", "B14"), ("ID_MISSING", "B15"),
    ], check=_check_ids, formats=("xls", "ods")),
    Case("wrong_scores", _scores_wrong, [
        ("SCORE_OUT_OF_RANGE", "H8"), ("SCORE_LOOKS_LIKE_TENFOLD", "I9"),
        ("SCORE_TOO_MANY_DECIMALS", "E10"), ("SCORE_NOT_A_NUMBER", "E11"),
        ("WRONG_ASSESSMENT_KIND", "H12"), ("SCORE_MISSING", "H13"), ("TX_MISSING", "F14"),
        ("AVERAGE_MISMATCH", "J15"), ("SCORE_OUT_OF_RANGE", "H16"),
        ("TX_TOO_MANY_IN_CELL", "E17"),
    ], check=_check_scores_wrong, formats=("xls",)),
    Case("extra_and_missing_tx", _extra_tx,
         [("TX_EXTRA", "F5"), ("TX_MISSING", "E6")], "GDCD_7A2.xlsx"),
    Case("hidden_columns_hidden_and_lookup_sheets", _hidden_and_lookup, [],
         check=_check_hidden),
    Case("blank_rows_totals_signature", _blank_and_totals, [], check=_check_blank,
         formats=("ods",)),
    Case("formulas_cached_values", _formulas, [], check=_check_formulas, recalc=True),
    Case("comment_subject_gdtc", _comment_subject, [
        ("WRONG_ASSESSMENT_KIND", "E6"), ("RESULT_INVALID", "H7"),
        ("EXEMPT_STUDENT", "I8"), ("EXEMPT_STUDENT", "J9"), ("RESULT_MISSING", "H10"),
    ], check=_check_comment, formats=("xls",)),
    Case("primary_circular_27", _primary, [
        ("SCORE_NOT_WHOLE", "E6"), ("RATING_INVALID", "D7"), ("RATING_INVALID", "G8"),
        ("SCORE_MISSING", "E9"), ("SCORE_OUT_OF_RANGE", "E10"),
    ], check=_check_primary),
    Case("no_metadata_anywhere", _no_metadata, [
        ("MISSING_SUBJECT", None), ("MISSING_SEMESTER", None), ("MISSING_CLASS", None),
        ("MISSING_SCHOOL_YEAR", None),
    ], "data.xlsx"),
    Case("no_metadata_but_hints", _no_metadata, [], "data.xlsx",
         hints=Hints("2025-2026", "HK1", "6A1", "TOAN"), check=_check_hinted),
    Case("hints_conflict_with_title", _title_block, [("METADATA_CONFLICT", None)],
         hints=Hints(class_name="6A2")),
    Case("metadata_in_sheet_and_file_name", _names, [], "BangDiem_9A2_HK2_2025-2026.xlsx",
         check=_check_names),
    Case("unmapped_and_duplicate_columns", _columns,
         [("COLUMN_UNMAPPED", "I5"), ("COLUMN_DUPLICATE", "K5")]),
    Case("missing_columns", _missing_columns,
         [("COLUMN_MISSING", None), ("COLUMN_MISSING", None)]),
    Case("duplicate_student_pasted_off", _duplicates,
         [("DUPLICATE_STUDENT", "B8"), ("DUPLICATE_STUDENT", "B10")]),
    Case("class_workbook_metadata_sheet", _class_book, [], "class.xlsx",
         check=_check_class_book, formats=("xls", "ods")),
    Case("no_grade_table", _no_table, [("NO_GRADE_TABLE", None)]),
    Case("class_workbook_one_sheet_shifted", _class_shifted, [
        ("NAME_ID_MISMATCH", "C2"), ("NAME_ID_MISMATCH", "C3"), ("NAME_ID_MISMATCH", "C4"),
        ("NAME_ID_MISMATCH", "C5"), ("ROWS_SHIFTED", None),
    ], "10A1.xlsx", check=_check_class_shifted, formats=("xls", "ods")),
    Case("class_workbook_one_name_misspelled", _class_misspelled,
         [("NAME_SPELLING_DIFFERS", "C3")], "10A1.xlsx", check=_check_class_misspelled),
]  # fmt: skip
