"""Filled workbooks: the public template, filled with openpyxl like a teacher would.

The template (:func:`gradesync.gradebook.templates.build_template`) decides the
layout; this module only finds its columns by their header text and types
values into them, so an upload exercises the real reader exactly as a
teacher's file would. The demo, the end-to-end tests and the drain benchmark
all make their workbooks here.

A row is a mapping with any of the keys ``id``, ``name``, ``tx1`` … ``txN``,
``gk``, ``ck`` (score subjects), ``result`` (comment subjects); a value of
``None`` leaves the cell blank.

Public API: :func:`filled_workbook`, :func:`write_workbook` (the demo's story).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from openpyxl.worksheet.worksheet import Worksheet

from gradesync.demo.story import CLASS_NAME, SCHOOL_NAME, SCHOOL_YEAR, SEMESTER, SUBJECTS, Story
from gradesync.gradebook.templates import META_SHEET, TemplateSpec, build_template

_ID_HEADER = "Mã định danh Bộ GD&ĐT"
# row key -> header text (``txN`` -> ``TXN``)
_HEADERS = {
    "id": _ID_HEADER,
    "name": "Họ và tên",
    "gk": "ĐĐGgk",
    "ck": "ĐĐGck",
    "result": "Đánh giá",
}

Row = Mapping[str, object]


def filled_workbook(
    class_name: str,
    rows: Mapping[str, Sequence[Row]],
    *,
    school_year: str = SCHOOL_YEAR,
    semester: str = SEMESTER,
    school_name: str | None = None,
) -> bytes:
    """An xlsx of ``class_name`` with one sheet per subject code in ``rows`` (in that order)."""
    spec = TemplateSpec(
        class_name,
        school_year,
        semester,
        subject_codes=tuple(rows),
        school_name=school_name,
        rows=max(1, *(len(r) for r in rows.values())),
    )
    wb = build_template(spec)
    sheets = [ws for ws in wb.worksheets if ws.title != META_SHEET]
    for ws, subject_rows in zip(sheets, rows.values(), strict=True):
        _fill(ws, subject_rows)
    raw = io.BytesIO()
    wb.save(raw)
    return raw.getvalue()


def write_workbook(story: Story, path: Path) -> Path:
    """Write the demo story's class 6A1 workbook, planted mistakes included."""
    rows: dict[str, list[Row]] = {}
    for code, _, kind in SUBJECTS:
        subject_rows = []
        for student in story.students:
            row: dict[str, object] = {"id": student.student_id, "name": student.full_name}
            if kind == "comment":
                row["result"] = student.results[code]
            else:
                tx, gk, ck = student.scores[code]
                row |= {f"tx{i}": v for i, v in enumerate(tx, start=1)} | {"gk": gk, "ck": ck}
            planted = story.planted_for(code, student.student_id)
            if planted is not None:
                row[planted.field] = planted.value
            subject_rows.append(row)
        rows[code] = subject_rows
    path.write_bytes(filled_workbook(CLASS_NAME, rows, school_name=SCHOOL_NAME))
    return path


def _columns(ws: Worksheet) -> tuple[int, dict[str, int]]:
    """(first data row, header text -> column index), read from the sheet itself."""
    for row in ws.iter_rows(max_row=20):
        for cell in row:
            if cell.value == _ID_HEADER:
                headers: dict[str, int] = {}
                for r in (cell.row, cell.row + 1):  # the header spans two rows
                    for c in ws[r]:
                        if isinstance(c.value, str) and c.value.strip():
                            headers.setdefault(c.value.strip(), c.column)
                return cell.row + 2, headers
    raise ValueError(f"Trang '{ws.title}' không có cột '{_ID_HEADER}'.")


def _fill(ws: Worksheet, rows: Sequence[Row]) -> None:
    first, columns = _columns(ws)
    for offset, row in enumerate(rows):
        for key, value in row.items():
            header = _HEADERS.get(key) or key.upper()  # tx1 -> TX1
            if header not in columns:
                raise ValueError(f"Trang '{ws.title}' không có cột '{header}'.")
            ws.cell(first + offset, columns[header], value)
