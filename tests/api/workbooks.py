"""Grade workbooks for the API tests, written with openpyxl like a teacher's own sheet.

A title block, then a two-row header (``ĐĐGtx`` over ``TX1``…``TX4``), then
one row per student. ``build_class_workbook`` makes one sheet per subject;
tweak ``rows`` to plant invalid values or formula-looking text.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from openpyxl import Workbook

SUBJECTS = {"TOAN": "Toán", "NGUVAN": "Ngữ văn", "TIENGANH": "Tiếng Anh"}


@dataclass
class Student:
    student_id: str
    name: str
    tx: Sequence[float | str | None] = (8, 7.5, 9, 10)
    gk: float | str | None = 8.5
    ck: float | str | None = 9


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


def build_class_workbook(
    sheets: Sequence[SheetSpec] = (SheetSpec(),),
    *,
    class_name: str = "6A1",
    school_year: str = "2025-2026",
    semester_title: str = "HỌC KỲ I",
) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for spec in sheets:
        subject = SUBJECTS[spec.subject_code]
        ws = wb.create_sheet(subject)
        ws["A1"] = "SỞ GIÁO DỤC VÀ ĐÀO TẠO"
        ws["A2"] = "TRƯỜNG THCS THỬ NGHIỆM"
        ws["A3"] = f"BẢNG ĐIỂM {semester_title} — NĂM HỌC {school_year}"
        ws["A4"] = f"Lớp: {class_name}    Môn: {subject}"
        ws.append([])  # row 5 filled below
        ws["A5"], ws["B5"], ws["C5"], ws["D5"] = "STT", "Mã định danh", "Họ và tên", "ĐĐGtx"
        ws["H5"], ws["I5"], ws["J5"] = "ĐĐGgk", "ĐĐGck", "ĐTBmhk"
        ws.merge_cells("D5:G5")
        for col, text in zip("DEFG", ("TX1", "TX2", "TX3", "TX4"), strict=True):
            ws[f"{col}{HEADER_ROW}"] = text
        for col in "ABCHIJ":
            ws.merge_cells(f"{col}5:{col}{HEADER_ROW}")
        for i, st in enumerate(spec.rows, start=1):
            r = HEADER_ROW + i
            ws.cell(r, 1, i)
            ws.cell(r, 2, st.student_id)
            name = ws.cell(r, 3, st.name)
            name.data_type = "s"  # text, even when it looks like a formula (as typed data can)
            for j, v in enumerate(st.tx):
                ws.cell(r, 4 + j, v)
            ws.cell(r, 8, st.gk)
            ws.cell(r, 9, st.ck)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
