"""The demo's filled workbook: the public template, filled with openpyxl like a teacher would.

The template (:func:`gradesync.gradebook.templates.build_template`) decides the
layout; this module only finds its columns by their header text and types the
story's grades into them, planted mistakes included, so the upload exercises
the real reader exactly as a teacher's file would.

Public API: :func:`write_workbook`.
"""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl.worksheet.worksheet import Worksheet

from gradesync.demo.story import CLASS_NAME, SCHOOL_NAME, SCHOOL_YEAR, SEMESTER, SUBJECTS, Story
from gradesync.gradebook.templates import META_SHEET, TemplateSpec, build_template

_ID_HEADER = "Mã định danh Bộ GD&ĐT"


def write_workbook(story: Story, path: Path) -> Path:
    """Write the filled workbook of class 6A1 to ``path`` (xlsx) and return it."""
    spec = TemplateSpec(
        CLASS_NAME,
        SCHOOL_YEAR,
        SEMESTER,
        subject_codes=tuple(code for code, _, _ in SUBJECTS),
        school_name=SCHOOL_NAME,
        rows=len(story.students),
    )
    wb = build_template(spec)
    sheets = [ws for ws in wb.worksheets if ws.title != META_SHEET]
    for ws, (code, _, kind) in zip(sheets, SUBJECTS, strict=True):
        _fill(ws, story, code, kind)
    raw = io.BytesIO()
    wb.save(raw)
    path.write_bytes(raw.getvalue())
    return path


def _columns(ws: Worksheet) -> tuple[int, dict[str, int]]:
    """(first data row, header text -> column index), read from the sheet itself."""
    for row in ws.iter_rows(max_row=20):
        for cell in row:
            if cell.value == _ID_HEADER:
                header_rows = (cell.row, cell.row + 1)  # the header spans two rows
                headers: dict[str, int] = {}
                for r in header_rows:
                    for c in ws[r]:
                        if isinstance(c.value, str) and c.value.strip():
                            headers.setdefault(c.value.strip(), c.column)
                return cell.row + 2, headers
    raise ValueError(f"Trang '{ws.title}' không có cột '{_ID_HEADER}'.")


def _fill(ws: Worksheet, story: Story, code: str, kind: str) -> None:
    first, col = _columns(ws)
    for offset, student in enumerate(story.students):
        r = first + offset
        values: dict[str, object] = {"id": student.student_id}
        if kind == "comment":
            values["result"] = student.results[code]
        else:
            tx, gk, ck = student.scores[code]
            values.update({f"tx{i}": v for i, v in enumerate(tx, start=1)})
            values.update(gk=gk, ck=ck)
        planted = story.planted_for(code, student.student_id)
        if planted is not None:
            values[planted.field] = planted.value
        ws.cell(r, col[_ID_HEADER], values.pop("id"))
        ws.cell(r, col["Họ và tên"], student.full_name)
        targets = {"result": "Đánh giá", "gk": "ĐĐGgk", "ck": "ĐĐGck"}
        for key, value in values.items():
            header = targets.get(key) or f"TX{key[2:]}"
            ws.cell(r, col[header], value)
