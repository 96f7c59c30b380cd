"""The dirty workbook the browser tests upload: class 6A1, Toán, students of the
simulator's roster, two planted mistakes a teacher must fix."""

from __future__ import annotations

from dataclasses import dataclass

from gradesync.demo.workbook import filled_workbook
from tests.fixtures.simulator import SCHOOL_YEAR, student_id

CLASS_NAME = "6A1"
SUBJECT = "TOAN"
N_STUDENTS = 8


@dataclass(frozen=True)
class Planted:
    index: int  # 0-based student
    field: str
    value: object
    reason: str  # a fragment of the Vietnamese reason the page must show


PLANTED = (
    Planted(2, "gk", 11, "từ 0 đến 10"),
    Planted(5, "tx1", 7.75, "một chữ số thập phân"),
)


def student_ids() -> list[str]:
    return [student_id(1, 1, n) for n in range(N_STUDENTS)]


def dirty_workbook() -> bytes:
    """An xlsx built from the public template and filled with openpyxl."""
    rows = []
    for n, sid in enumerate(student_ids()):
        row: dict[str, object] = {"id": sid, "name": f"Học Sinh {n}"}
        row |= {"tx1": 8, "tx2": 7.5, "tx3": 9, "tx4": 6, "gk": 8, "ck": 9}
        for p in PLANTED:
            if p.index == n:
                row[p.field] = p.value
        rows.append(row)
    return filled_workbook(CLASS_NAME, {SUBJECT: rows}, school_year=SCHOOL_YEAR, semester="HK1")
