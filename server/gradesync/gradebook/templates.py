"""Blank grade templates (xlsx), built from the subject catalog; ``gradesync template``.

A template is one class's workbook (a sheet per subject of its grade) or one
class × subject. Every sheet has the same shape, so a filled template reads
back exactly:

* a title block (school, "BẢNG ĐIỂM HỌC KỲ I — NĂM HỌC 2025-2026", ``Lớp:``,
  ``Môn:``) that names everything the reader needs, even without the
  metadata sheet;
* a two-row header (``ĐĐGtx`` merged over ``TX1`` … ``TXn``, n from the
  catalog for that subject and grade), frozen, and locked by sheet protection
  (no password: it prevents accidents, not people); data cells are unlocked;
* the id column formatted as text (``@``) so Excel keeps leading zeros;
* data validation: scores 0–10 with at most one decimal (a custom formula),
  ``Đ``/``CĐ`` and ``T``/``H``/``C`` lists, whole-number primary test scores,
  10- or 12-character ids;
* ĐTBmhk as a formula. openpyxl writes no cached value, so until Excel or
  LibreOffice recalculates and saves the file the cell has no value: the
  reader treats a formula without a cached value as "not entered", and the
  average is recomputed from the scores anyway.

A hidden sheet :data:`META_SHEET` holds the metadata as ``label | value`` rows
and a ``Trang | Môn`` table (see ``_write_metadata``); the add-in and the
reader recognise templates by it (:func:`template_version`).

Public API: :class:`TemplateSpec`, :func:`build_template`,
:func:`write_template`, :func:`template_version`, :data:`SAMPLES`, :func:`write_samples`,
:data:`META_SHEET`, :data:`TEMPLATE_VERSION`, :class:`TemplateError`,
:func:`register` (the CLI command).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from gradesync.gradebook.catalog import Catalog, Subject, load_catalog
from gradesync.gradebook.model import Level, SubjectKind
from gradesync.gradebook.xlsx import reproducible_bytes

META_SHEET = "_gradesync"
TEMPLATE_VERSION = "1"
MARKER = "gradesync-template"  # META_SHEET!A1: what says "this is one of ours"

SECONDARY_SEMESTERS = {"HK1": "HỌC KỲ I", "HK2": "HỌC KỲ II"}
PRIMARY_PERIODS = {
    "GK1": "GIỮA HỌC KỲ I",
    "CK1": "CUỐI HỌC KỲ I",
    "GK2": "GIỮA HỌC KỲ II",
    "CN": "CUỐI NĂM HỌC",
}

HEADER_TOP = 5  # the group header row; the header proper is HEADER_TOP + 1
FIRST_DATA_ROW = HEADER_TOP + 2
_FORBIDDEN_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")


class TemplateError(ValueError):
    """A template cannot be made as asked; the message (Vietnamese) says why."""


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """What to build: one class, optionally one subject (else every subject of its grade)."""

    class_name: str
    school_year: str
    semester: str
    subject_codes: tuple[str, ...] = ()
    school_id: str | None = None
    school_name: str | None = None
    rows: int = 45

    @property
    def grade(self) -> int:
        match = re.match(r"\s*(\d{1,2})", self.class_name)
        if not match:
            raise TemplateError(
                f"Tên lớp '{self.class_name}' phải bắt đầu bằng khối lớp (ví dụ 6A1, 12.6, 1A)."
            )
        return int(match.group(1))

    def filename(self) -> str:
        subject = f"_{self.subject_codes[0]}" if len(self.subject_codes) == 1 else ""
        safe_class = re.sub(r"[^\w.-]", "_", self.class_name)
        return f"BangDiem_{safe_class}{subject}_{self.semester}_{self.school_year}.xlsx"


def template_version(rows: Sequence[Sequence[object]]) -> str | None:
    """The template version when ``rows`` (a sheet's values) are our metadata sheet, else None.

    Only recognition lives here; the reader reads the sheet's contents
    (``metadata.read_metadata_sheet``) like any workbook's metadata sheet.
    """
    if not rows or len(rows[0]) < 2 or str(rows[0][0]).strip() != MARKER:
        return None
    version = rows[0][1]
    if isinstance(version, float) and version.is_integer():
        version = int(version)
    return str(version).strip()


# --- building ----------------------------------------------------------------


def build_template(spec: TemplateSpec, catalog: Catalog | None = None) -> Workbook:
    """The template workbook for ``spec``; raises :class:`TemplateError` when impossible."""
    catalog = catalog or load_catalog()
    subjects, level = _resolve(spec, catalog)
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "gradesync"
    wb.properties.title = f"Bảng điểm lớp {spec.class_name} {spec.semester} {spec.school_year}"
    names: dict[str, str] = {}
    for subject in subjects:
        ws = wb.create_sheet(_sheet_name(subject, names))
        names[ws.title] = subject.code
        _GradeSheet(ws, spec, subject, level).build()
    _write_metadata(wb.create_sheet(META_SHEET), spec, names)
    return wb


def write_template(spec: TemplateSpec, out: Path | IO[bytes], catalog: Catalog | None = None):
    """Write the template as xlsx; the same spec gives byte-identical files."""
    data = reproducible_bytes(build_template(spec, catalog))
    if isinstance(out, Path):
        out.write_bytes(data)
    else:
        out.write(data)


SAMPLES = (
    # a lower-secondary class, every subject
    TemplateSpec("6A1", "2025-2026", "HK1", school_name="Trường THCS Mẫu"),
    # an upper-secondary class × subject
    TemplateSpec("10A1", "2025-2026", "HK1", ("TOAN",), school_name="Trường THPT Mẫu"),
    # a primary class at the end of semester 1
    TemplateSpec("4A", "2025-2026", "CK1", school_name="Trường Tiểu học Mẫu"),
)
"""The templates committed under ``templates/`` (a test checks they are current)."""


def write_samples(directory: Path) -> list[Path]:
    """Write :data:`SAMPLES` into ``directory``; returns the paths written."""
    paths = []
    for spec in SAMPLES:
        path = directory / spec.filename()
        write_template(spec, path)
        paths.append(path)
    return paths


def _resolve(spec: TemplateSpec, catalog: Catalog) -> tuple[list[Subject], Level]:
    grade = spec.grade
    level = catalog.level_of(grade)
    if level is None:
        raise TemplateError(f"Khối lớp {grade} (lớp {spec.class_name}) không có trong danh mục.")
    if (
        not re.fullmatch(r"(\d{4})-(\d{4})", spec.school_year)
        or int(spec.school_year[5:]) != int(spec.school_year[:4]) + 1
    ):
        raise TemplateError(f"Năm học '{spec.school_year}' phải có dạng 2025-2026.")
    allowed = PRIMARY_PERIODS if level is Level.PRIMARY else SECONDARY_SEMESTERS
    if spec.semester not in allowed:
        raise TemplateError(
            f"Học kỳ '{spec.semester}' không dùng cho khối {grade}: chọn một trong "
            + ", ".join(allowed)
            + "."
        )
    if spec.rows < 1:
        raise TemplateError("Số dòng học sinh phải lớn hơn 0.")
    if not spec.subject_codes:
        return catalog.subjects_for(grade), level
    subjects = []
    for code in spec.subject_codes:
        subject = catalog.get(code.upper())
        if subject is None or not subject.taught_in(grade):
            taught = ", ".join(s.code for s in catalog.subjects_for(grade))
            raise TemplateError(
                f"Môn '{code}' không học ở khối {grade}. Các môn của khối {grade}: {taught}."
            )
        subjects.append(subject)
    return subjects, level


def _sheet_name(subject: Subject, taken: dict[str, str]) -> str:
    """The subject's name if it fits Excel's 31 characters, else a synonym, else the code."""
    for name in (subject.name, *subject.synonyms, subject.code):
        name = _FORBIDDEN_IN_SHEET_NAMES.sub("-", name)
        if len(name) <= 31 and name.casefold() not in {t.casefold() for t in taken}:
            return name
    return subject.code[:31]


def _write_metadata(ws: Worksheet, spec: TemplateSpec, sheets: dict[str, str]) -> None:
    """Vietnamese ``label | value`` rows, then a ``Trang | Môn`` table, one row per sheet.

    The labels are those the reader's metadata-sheet parser knows, so the
    same parser serves templates and other tools' metadata sheets; A1 holds
    :data:`MARKER` and B1 the version.
    """
    ws.append([MARKER, TEMPLATE_VERSION])
    ws.append(["Năm học", spec.school_year])
    ws.append(["Học kỳ", spec.semester])
    ws.append(["Lớp", spec.class_name])
    ws.append(["Mã trường", spec.school_id])
    ws.append(["Trường", spec.school_name])
    ws.append([])
    ws.append(["Trang", "Môn"])
    for name, code in sheets.items():
        ws.append([name, code])
    for row in ws.iter_rows():
        for cell in row:
            cell.number_format = "@"  # "12.6" must stay the class name, not a number
            if cell.value is not None:
                cell.data_type = "s"
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 24
    ws.sheet_state = "hidden"
    ws.protection.sheet = True


# --- one sheet ---------------------------------------------------------------

_THIN = Side(style="thin", color="FF808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="FFDDEBF7", end_color="FFDDEBF7")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_UNLOCKED = Protection(locked=False)


@dataclass(frozen=True, slots=True)
class _Column:
    header: str
    group: str | None = None  # the merged group header above (ĐĐGtx)
    kind: str = "text"  # id | name | score | result | level | test | average | comment
    width: float = 8


class _GradeSheet:
    """Lays out one subject's sheet: title block, header, data rows, validation."""

    def __init__(self, ws: Worksheet, spec: TemplateSpec, subject: Subject, level: Level):
        self.ws, self.spec, self.subject, self.level = ws, spec, subject, level
        self.columns = self._columns()
        self.last_row = FIRST_DATA_ROW + spec.rows - 1

    def _columns(self) -> list[_Column]:
        cols = [
            _Column("STT", kind="number", width=5),
            _Column("Mã định danh Bộ GD&ĐT", kind="id", width=16),
            _Column("Họ và tên", kind="name", width=28),
        ]
        grade = self.spec.grade
        if self.level is Level.PRIMARY:
            cols.append(_Column("Mức đạt được", kind="level", width=10))
            if self.subject.has_test(grade, self.spec.semester):
                cols.append(_Column("Điểm KTĐK", kind="test", width=9))
        elif self.subject.kind is SubjectKind.COMMENT:
            cols.append(_Column("Đánh giá", kind="result", width=10))
        else:
            n = self.subject.tx_required(grade)
            cols += [
                _Column(f"TX{i}", group="ĐĐGtx", kind="score", width=6) for i in range(1, n + 1)
            ]
            cols += [
                _Column("ĐĐGgk", kind="score", width=8),
                _Column("ĐĐGck", kind="score", width=8),
                _Column("ĐTBmhk", kind="average", width=9),
            ]
        cols.append(_Column("Nhận xét", kind="comment", width=30))
        return cols

    def letter(self, kind: str, nth: int = 0) -> str:
        indexes = [i for i, c in enumerate(self.columns, start=1) if c.kind == kind]
        return get_column_letter(indexes[nth])

    def build(self) -> None:
        self._title()
        self._header()
        self._data()
        self._validation()
        ws = self.ws
        ws.freeze_panes = f"D{FIRST_DATA_ROW}"
        ws.protection.sheet = True
        # Teachers may still resize, sort and add rows; they cannot break the header.
        ws.protection.formatColumns = False
        ws.protection.formatRows = False
        ws.protection.insertRows = False
        ws.protection.deleteRows = False
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.print_title_rows = f"{HEADER_TOP}:{HEADER_TOP + 1}"

    def _title(self) -> None:
        ws, spec, width = self.ws, self.spec, len(self.columns)
        period = {**SECONDARY_SEMESTERS, **PRIMARY_PERIODS}[spec.semester]
        what = "BẢNG ĐÁNH GIÁ" if self.level is Level.PRIMARY else "BẢNG ĐIỂM"
        lines = [
            (1, 1, width, f"TRƯỜNG: {spec.school_name}" if spec.school_name else "TRƯỜNG:"),
            (2, 1, width, f"{what} {period} — NĂM HỌC {spec.school_year}"),
            (3, 1, 3, f"Lớp: {spec.class_name}"),
            (3, 4, width, f"Môn: {self.subject.name}"),
        ]
        for row, first, last, text in lines:
            cell = ws.cell(row, first, text)
            cell.font = Font(bold=True, size=13 if row == 2 else 11)
            cell.alignment = Alignment(horizontal="center" if row == 2 else "left")
            if last > first:
                ws.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
        hint = (
            "Điểm từ 0 đến 10, nhiều nhất một chữ số thập phân (ví dụ 7,5); ô trống là chưa nhập."
            if self.level is not Level.PRIMARY
            else "Mức đạt được: T, H hoặc C; điểm kiểm tra định kỳ là số nguyên từ 0 đến 10."
        )
        ws.cell(4, 1, hint).font = Font(italic=True, size=9, color="FF595959")

    def _header(self) -> None:
        ws, top = self.ws, HEADER_TOP
        group_start: dict[str, int] = {}
        for i, col in enumerate(self.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = col.width
            for r in (top, top + 1):
                cell = ws.cell(r, i)
                cell.font, cell.fill, cell.alignment, cell.border = (
                    Font(bold=True),
                    _HEADER_FILL,
                    _CENTER,
                    _BORDER,
                )
            if col.group:
                group_start.setdefault(col.group, i)
                ws.cell(top + 1, i, col.header)
            else:
                ws.cell(top, i, col.header)
                ws.merge_cells(start_row=top, start_column=i, end_row=top + 1, end_column=i)
        for group, start in group_start.items():
            end = max(i for i, c in enumerate(self.columns, start=1) if c.group == group)
            ws.cell(top, start, group)
            if end > start:
                ws.merge_cells(start_row=top, start_column=start, end_row=top, end_column=end)
        ws.row_dimensions[top].height = 30

    def _data(self) -> None:
        ws = self.ws
        for r in range(FIRST_DATA_ROW, self.last_row + 1):
            for i, col in enumerate(self.columns, start=1):
                cell = ws.cell(r, i)
                cell.border = _BORDER
                if col.kind == "number":
                    cell.value = r - FIRST_DATA_ROW + 1
                    cell.alignment = Alignment(horizontal="center")
                elif col.kind == "average":
                    cell.value = self._average_formula(r)
                    cell.number_format = "0.0"
                    cell.font = Font(bold=True)
                else:
                    cell.protection = _UNLOCKED
                    if col.kind == "id":
                        cell.number_format = "@"
                    elif col.kind != "name" and col.kind != "comment":
                        cell.alignment = Alignment(horizontal="center")

    def _average_formula(self, r: int) -> str:
        """ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (nĐĐGtx + 5); blank until complete."""
        n = sum(1 for c in self.columns if c.group)
        tx = f"{self.letter('score', 0)}{r}:{self.letter('score', n - 1)}{r}"
        gk, ck = f"{self.letter('score', n)}{r}", f"{self.letter('score', n + 1)}{r}"
        return (
            f'=IF(OR(COUNT({tx})=0,{gk}="",{ck}=""),"",'
            f"ROUND((SUM({tx})+2*{gk}+3*{ck})/(COUNT({tx})+5),1))"
        )

    def _validation(self) -> None:
        first, last = FIRST_DATA_ROW, self.last_row
        by_kind: dict[str, list[str]] = {}
        for i, col in enumerate(self.columns, start=1):
            letter = get_column_letter(i)
            by_kind.setdefault(col.kind, []).append(f"{letter}{first}:{letter}{last}")
        rules = {
            "id": _dv(
                "custom",
                f"OR(LEN({self.letter('id')}{first})=10,LEN({self.letter('id')}{first})=12)",
                "Mã học sinh",
                "Mã định danh Bộ GD&ĐT có 10 chữ số, hoặc số định danh cá nhân có 12 chữ số.",
            ),
            "result": _dv("list", '"Đ,CĐ"', "Đánh giá", "Chỉ nhập Đ (Đạt) hoặc CĐ (Chưa đạt)."),
            "level": _dv(
                "list",
                '"T,H,C"',
                "Mức đạt được",
                "Chỉ nhập T (Hoàn thành tốt), H (Hoàn thành) hoặc C (Chưa hoàn thành).",
            ),
            "test": _dv(
                "whole",
                "0",
                "Điểm kiểm tra",
                "Điểm kiểm tra định kỳ là số nguyên từ 0 đến 10.",
                formula2="10",
            ),
        }
        if "score" in by_kind:
            # The top-left cell of the first range: Excel shifts it over every range.
            c = f"{self.letter('score')}{first}"
            rules["score"] = _dv(
                "custom",
                f"AND(ISNUMBER({c}),{c}>=0,{c}<=10,ROUND({c},1)={c})",
                "Điểm",
                "Điểm là số từ 0 đến 10, nhiều nhất một chữ số thập phân (ví dụ 7,5). "
                "Để trống nếu chưa có điểm.",
            )
        for kind, dv in rules.items():
            if kind in by_kind:
                for ref in by_kind[kind]:
                    dv.add(ref)
                self.ws.add_data_validation(dv)


def _dv(
    type_: str, formula1: str, title: str, message: str, formula2: str | None = None
) -> DataValidation:
    dv = DataValidation(
        type=type_,
        formula1=formula1,
        formula2=formula2,
        operator="between" if formula2 is not None else None,
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorStyle="stop",
        errorTitle=f"{title} không hợp lệ",
        error=message,
        promptTitle=title,
        prompt=message,
    )
    return dv


# --- command line ------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "template",
        help="viết mẫu sổ điểm trống (xlsx) cho một lớp hoặc một lớp × môn",
        description="Viết mẫu sổ điểm trống (xlsx) từ danh mục môn học.",
    )
    p.add_argument("--class", dest="class_name", required=True, help="tên lớp, ví dụ 6A1")
    p.add_argument("--school-year", required=True, help="năm học, ví dụ 2025-2026")
    p.add_argument(
        "--semester", required=True, help="HK1 hoặc HK2; tiểu học: GK1, CK1, GK2 hoặc CN"
    )
    p.add_argument("--subject", action="append", default=[], help="mã môn (bỏ trống: mọi môn)")
    p.add_argument("--school-id", help="mã trường do Sở cấp")
    p.add_argument("--school-name", help="tên trường")
    p.add_argument("--rows", type=int, default=45, help="số dòng học sinh (mặc định 45)")
    p.add_argument("-o", "--output", type=Path, help="tệp xlsx sẽ viết (mặc định: tên tự đặt)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    spec = TemplateSpec(
        class_name=args.class_name,
        school_year=args.school_year,
        semester=args.semester.upper(),
        subject_codes=tuple(s.upper() for s in args.subject),
        school_id=args.school_id,
        school_name=args.school_name,
        rows=args.rows,
    )
    try:
        out = args.output or Path(spec.filename())
        write_template(spec, out)
    except TemplateError as exc:
        print(f"gradesync template: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"gradesync template: không ghi được tệp {out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(out)
    return 0
