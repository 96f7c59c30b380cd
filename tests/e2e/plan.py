"""What an end-to-end run sends and what must come of every row: schools, rosters,
workbooks, and the expected outcome per (class, subject, student).

A :class:`Plan` is built from a seed; each class gets a workbook (the public
template filled by :func:`gradesync.demo.workbook.filled_workbook`) with
three kinds of bad row besides the good ones:

* **invalid** (a score of 11): never sent, ``INVALID`` with ``SCORE_OUT_OF_RANGE``;
* **unknown** (a student the Sở does not have): ``FAILED`` with ``STUDENT_NOT_FOUND``;
* **locked** (a student whose grades the Sở locked): ``FAILED`` with ``LOCKED``.

Every other row must end ``SYNCED``, stored once at the Sở with exactly its values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gradesync.demo.workbook import filled_workbook

SCHOOL_YEAR = "2025-2026"
SEMESTER = "HK1"
SUBJECTS = (("TOAN", "Toán", "score"), ("NGUVAN", "Ngữ văn", "score"), ("GDTC", "GDTC", "comment"))
TX = 4  # ĐĐGtx of Toán and Ngữ văn in grade 6

SYNCED, INVALID, NOT_FOUND, LOCKED = "SYNCED", "INVALID", "STUDENT_NOT_FOUND", "LOCKED"


@dataclass(frozen=True)
class RowPlan:
    subject_code: str
    student_id: str
    cells: dict[str, Any]  # what the workbook row holds (filled_workbook's keys)
    expect: str  # SYNCED | INVALID | STUDENT_NOT_FOUND | LOCKED

    def record(self) -> dict[str, Any]:
        """The fields the Sở must hold for a synced row."""
        if "result" in self.cells:
            return {"result": self.cells["result"]}
        tx = [self.cells[f"tx{i}"] for i in range(1, TX + 1)]
        return {"tx": tx, "gk": self.cells["gk"], "ck": self.cells["ck"]}


@dataclass
class ClassPlan:
    school_id: str
    class_name: str
    roster: list[str]  # student ids the Sở knows in this class
    rows: list[RowPlan] = field(default_factory=list)

    def workbook(self) -> bytes:
        by_subject: dict[str, list[dict[str, Any]]] = {code: [] for code, _, _ in SUBJECTS}
        for row in self.rows:
            by_subject[row.subject_code].append(row.cells)
        return filled_workbook(self.class_name, by_subject, school_name=f"Trường {self.school_id}")

    @property
    def filename(self) -> str:
        return f"BangDiem_{self.school_id}_{self.class_name}.xlsx"


@dataclass
class SchoolPlan:
    school_id: str
    client_id: str
    client_secret: str
    classes: list[ClassPlan]


@dataclass
class Plan:
    schools: list[SchoolPlan]

    @property
    def classes(self) -> list[ClassPlan]:
        return [c for s in self.schools for c in s.classes]

    def rows(self) -> list[tuple[ClassPlan, RowPlan]]:
        return [(c, r) for c in self.classes for r in c.rows]

    def so_seed(self) -> dict[str, Any]:
        """``POST /_sim/seed`` for the roster (windows are seeded separately)."""
        subjects = [{"code": c, "name": n, "kind": k} for c, n, k in SUBJECTS]
        return {
            "schools": [
                {
                    "school_id": s.school_id,
                    "name": f"Trường {s.school_id}",
                    "client_id": s.client_id,
                    "client_secret": s.client_secret,
                    "classes": [
                        {
                            "class_name": c.class_name,
                            "grade": 6,
                            "school_year": SCHOOL_YEAR,
                            "subjects": subjects,
                            "students": [
                                {"student_id": sid, "full_name": f"Học sinh {sid}",
                                 "date_of_birth": "2014-05-06"}
                                for sid in c.roster
                            ],
                        }
                        for c in s.classes
                    ],
                }
                for s in self.schools
            ]
        }  # fmt: skip

    def locks(self) -> list[dict[str, Any]]:
        """``POST /_sim/locks`` bodies for the students planned as LOCKED."""
        return [
            {"school_id": c.school_id, "school_year": SCHOOL_YEAR, "semester": SEMESTER,
             "class_name": c.class_name, "subject_code": r.subject_code,
             "student_id": r.student_id, "locked": True}
            for c, r in self.rows() if r.expect == LOCKED
        ]  # fmt: skip


def window_seed(window_id: str, opens_at: datetime, closes_at: datetime) -> dict[str, Any]:
    return {
        "windows": [
            {"id": window_id, "school_year": SCHOOL_YEAR, "semester": SEMESTER,
             "opens_at": opens_at.isoformat(timespec="seconds"),
             "closes_at": closes_at.isoformat(timespec="seconds")}
        ]
    }  # fmt: skip


def _score(rng: random.Random) -> float:
    return rng.choice([5.0, 5.5, 6.0, 6.5, 7.0, 7.3, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0])


def _cells(rng: random.Random, kind: str, sid: str) -> dict[str, Any]:
    cells: dict[str, Any] = {"id": sid, "name": f"Học sinh {sid}"}
    if kind == "comment":
        cells["result"] = rng.choice(["Đ", "Đ", "Đ", "CĐ"])
    else:
        cells |= {f"tx{i}": _score(rng) for i in range(1, TX + 1)}
        cells |= {"gk": _score(rng), "ck": _score(rng)}
    return cells


def build_plan(*, schools: int = 3, classes: int = 2, students: int = 12, seed: int = 1) -> Plan:
    """``schools`` × ``classes`` classes of ``students``, plus their bad rows."""
    rng = random.Random(seed)
    plan = Plan([])
    for s in range(schools):
        school_id = f"79{s + 100:06d}"
        school = SchoolPlan(school_id, f"client-{school_id}", f"secret-{school_id}-{seed}", [])
        for k in range(classes):
            class_name = f"6A{k + 1}"
            roster = [f"79{s + 10:02d}{k + 10:02d}{n:04d}" for n in range(students)]
            cls = ClassPlan(school_id, class_name, roster)
            for code, _, kind in SUBJECTS:
                for n, sid in enumerate(roster):
                    expect = SYNCED
                    cells = _cells(rng, kind, sid)
                    if code == "TOAN" and n == 1:
                        cells["gk"], expect = 11, INVALID
                    elif code == "NGUVAN" and n == 2:
                        expect = LOCKED
                    cls.rows.append(RowPlan(code, sid, cells, expect))
                if code == "TOAN":
                    stranger = f"79{s + 10:02d}{k + 10:02d}9999"  # not on the Sở's roster
                    cls.rows.append(RowPlan(code, stranger, _cells(rng, kind, stranger), NOT_FOUND))
            school.classes.append(cls)
        plan.schools.append(school)
    return plan
