"""Grade workbooks for the API tests, written with openpyxl like a teacher's own sheet.

A title block, then a two-row header (``ĐĐGtx`` over ``TX1``…``TX4``), then
one row per student. ``build_class_workbook`` makes one sheet per subject
(names and ĐĐGtx counts from the catalog); tweak ``rows`` to plant invalid
values or formula-looking text. ``school_workbook`` is the bench's big one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from gradesync.gradebook.catalog import load_catalog
from gradesync.gradebook.model import SubjectKind


@dataclass
class Student:
    student_id: str
    name: str
    tx: Sequence[float | str | None] = (8, 7.5, 9, 10)
    gk: float | str | None = 8.5
    ck: float | str | None = 9
    result: str = "Đ"  # comment subjects


def students(n: int, *, start: int = 0, prefix: str = "79") -> list[Student]:
    return [
        Student(f"{prefix}{start + i:08d}", f"Học sinh {start + i}", tx=(8, 7.5, 9, 6), gk=7, ck=8)
        for i in range(n)
    ]


@dataclass
class SheetSpec:
    subject_code: str = "TOAN"
    rows: list[Student] = field(default_factory=lambda: students(5))


HEADER_ROW = 6  # the second header row; data starts on row 7


def _grade(class_name: str) -> int:
    digits = "".join(ch for ch in class_name if ch.isdigit())[:2]
    return int(digits) if digits and int(digits) <= 12 else 6


def build_class_workbook(
    sheets: Sequence[SheetSpec] = (SheetSpec(),),
    *,
    class_name: str = "6A1",
    school_year: str = "2025-2026",
    semester_title: str = "HỌC KỲ I",
) -> bytes:
    """One sheet per subject; score subjects get as many TX columns as the catalog asks."""
    catalog = load_catalog()
    grade = _grade(class_name)
    wb = Workbook(write_only=False)
    wb.remove(wb.active)
    for spec in sheets:
        subject = catalog.subject(spec.subject_code)
        ws = wb.create_sheet(subject.name[:31])
        ws["A1"] = "SỞ GIÁO DỤC VÀ ĐÀO TẠO"
        ws["A2"] = "TRƯỜNG THỬ NGHIỆM"
        ws["A3"] = f"BẢNG ĐIỂM {semester_title} — NĂM HỌC {school_year}"
        ws["A4"] = f"Lớp: {class_name}    Môn: {subject.name}"
        ws["A5"], ws["B5"], ws["C5"] = "STT", "Mã định danh", "Họ và tên"
        comment = subject.kind is SubjectKind.COMMENT
        n_tx = subject.tx_required(grade)
        if comment:
            ws["D5"] = "Đánh giá"
            merged = "ABCD"
        else:
            ws["D5"] = "ĐĐGtx"
            last_tx = 3 + n_tx
            ws.merge_cells(start_row=5, start_column=4, end_row=5, end_column=last_tx)
            for j in range(n_tx):
                ws.cell(HEADER_ROW, 4 + j, f"TX{j + 1}")
            for j, text in enumerate(("ĐĐGgk", "ĐĐGck", "ĐTBmhk")):
                ws.cell(5, last_tx + 1 + j, text)
            merged = "ABC" + "".join(get_column_letter(last_tx + k) for k in (1, 2, 3))
        for col in merged:
            ws.merge_cells(f"{col}5:{col}{HEADER_ROW}")
        for i, st in enumerate(spec.rows, start=1):
            r = HEADER_ROW + i
            ws.cell(r, 1, i)
            ws.cell(r, 2, st.student_id)
            name = ws.cell(r, 3, st.name)
            name.data_type = "s"  # text, even when it looks like a formula (as typed data can)
            if comment:
                ws.cell(r, 4, st.result)
                continue
            for j, v in enumerate(list(st.tx)[:n_tx]):
                ws.cell(r, 4 + j, v)
            ws.cell(r, 4 + n_tx, st.gk)
            ws.cell(r, 5 + n_tx, st.ck)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def school_workbook(n_students: int = 2000, n_subjects: int = 15) -> bytes:
    """A school-sized book: grade-10 subjects (score and comment), every student on each."""
    catalog = load_catalog()
    codes = [s.code for s in catalog.subjects_for(10)][:n_subjects]
    pupils = students(n_students)
    return build_class_workbook([SheetSpec(code, pupils) for code in codes], class_name="10A1")
