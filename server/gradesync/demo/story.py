"""The demo's story as data: the school, its roster at the Sở, the grades, the planted errors.

Everything the demo sends, and everything it expects back, is derived from
:func:`build_story`, so the final check ("did the story complete?") compares
the server's and the Sở's numbers against these facts, not against numbers
typed by hand.

Public API: :class:`Story`, :class:`StudentGrades`, :class:`Planted`, :func:`window_seed`,
:class:`Expected`, :func:`build_story`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SCHOOL_ID = "79000888"
SCHOOL_NAME = "Trường THCS Chu Văn An (demo)"
SCHOOL_YEAR = "2025-2026"
SEMESTER = "HK1"
CLASS_NAME = "6A1"
GRADE = 6
# (Sở code, kind): two score subjects and one comment subject of grade 6.
SUBJECTS: tuple[tuple[str, str, str], ...] = (
    ("TOAN", "Toán", "score"),
    ("NGUVAN", "Ngữ văn", "score"),
    ("GDTC", "Giáo dục thể chất", "comment"),
)
TX_COUNT = 4  # ĐĐGtx of Toán and Ngữ văn in grade 6 (the catalog's number)

_NAMES = (
    "Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Châu", "Phạm Quốc Dũng", "Hoàng Thu Giang",
    "Vũ Thị Hà", "Đặng Gia Huy", "Bùi Khánh Linh", "Đỗ Đức Minh", "Hồ Bảo Ngọc",
    "Ngô Thanh Phong", "Dương Thị Quỳnh", "Lý Hoài Sơn", "Mai Anh Thư", "Phan Văn Tùng",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class StudentGrades:
    """One student's line in every sheet: what the teacher meant to enter."""

    student_id: str
    full_name: str
    date_of_birth: str
    on_roster: bool  # False: the Sở does not know this student (STUDENT_NOT_FOUND)
    scores: dict[str, tuple[list[float], float, float]]  # subject -> (tx, gk, ck)
    results: dict[str, str]  # comment subject -> "Đ" | "CĐ"


@dataclass(frozen=True, slots=True)
class Planted:
    """A deliberate mistake in one cell, and the finding code the reader must report."""

    subject_code: str
    student_id: str
    field: str  # "id" | "tx2" | "gk" | "ck"
    value: Any  # what is written instead (None: left blank)
    code: str
    what: str  # Vietnamese, for the demo's narration


@dataclass(frozen=True, slots=True)
class Expected:
    """How the story must end (rows are student × subject)."""

    rows: int
    invalid: int
    failed: int  # rejected by the Sở (the unknown student, in every sheet)
    synced: int
    dead: int = 0

    @property
    def valid(self) -> int:
        return self.rows - self.invalid


@dataclass(frozen=True, slots=True)
class Story:
    students: list[StudentGrades]
    planted: list[Planted] = field(default_factory=list)

    def planted_for(self, subject_code: str, student_id: str) -> Planted | None:
        for p in self.planted:
            if p.subject_code == subject_code and p.student_id == student_id:
                return p
        return None

    def expected(self) -> Expected:
        rows = len(self.students) * len(SUBJECTS)
        invalid = len(self.planted)
        bad = {(p.subject_code, p.student_id) for p in self.planted}
        failed = sum(
            1
            for s in self.students
            for code, _, _ in SUBJECTS
            if not s.on_roster and (code, s.student_id) not in bad
        )
        return Expected(rows=rows, invalid=invalid, failed=failed, synced=rows - invalid - failed)

    def sent_record(self, subject_code: str, student_id: str) -> dict[str, Any]:
        """The record the Sở should hold for a row that synced (contract field names)."""
        student = next(s for s in self.students if s.student_id == student_id)
        if subject_code in student.results:
            return {"result": student.results[subject_code]}
        tx, gk, ck = student.scores[subject_code]
        return {"tx": tx, "gk": gk, "ck": ck}

    def so_seed(self, client_id: str, client_secret: str) -> dict[str, Any]:
        """The ``POST /_sim/seed`` body for the roster (windows are seeded at push time)."""
        return {
            "schools": [
                {
                    "school_id": SCHOOL_ID,
                    "name": SCHOOL_NAME,
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "classes": [
                        {
                            "class_name": CLASS_NAME,
                            "grade": GRADE,
                            "school_year": SCHOOL_YEAR,
                            "subjects": [
                                {"code": code, "name": name, "kind": kind}
                                for code, name, kind in SUBJECTS
                            ],
                            "students": [
                                {
                                    "student_id": s.student_id,
                                    "full_name": s.full_name,
                                    "date_of_birth": s.date_of_birth,
                                }
                                for s in self.students
                                if s.on_roster
                            ],
                        }
                    ],
                }
            ]
        }


def window_seed(opens_at: datetime, closes_at: datetime) -> dict[str, Any]:
    """The ``POST /_sim/seed`` body for the demo's grade-entry window."""
    return {
        "windows": [
            {
                "id": "demo-hk1",
                "school_year": SCHOOL_YEAR,
                "semester": SEMESTER,
                "opens_at": opens_at.isoformat(timespec="seconds"),
                "closes_at": closes_at.isoformat(timespec="seconds"),
            }
        ]
    }


def _score(rng: random.Random) -> float:
    """A plausible score: 5.0–10.0 in halves, sometimes a tenth."""
    value = rng.choice([5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9, 9.5, 10, 6.8, 7.3, 8.2])
    return float(value)


def build_story(seed: int = 2025) -> Story:
    """The class 6A1: 15 students, one not on the Sở's roster, four planted mistakes in Toán."""
    rng = random.Random(seed)
    students = []
    for n, name in enumerate(_NAMES, start=1):
        # Student 13's Ministry code starts with 0, the one Excel will "lose".
        sid = f"07901{n:05d}" if n == 13 else f"79010{n:05d}"
        on_roster = n != 15
        if not on_roster:
            sid = "7901099999"  # transferred in, not yet on the Sở's roster
        scores = {
            code: ([_score(rng) for _ in range(TX_COUNT)], _score(rng), _score(rng))
            for code, _, kind in SUBJECTS
            if kind == "score"
        }
        results = {
            code: ("CĐ" if n == 7 else "Đ") for code, _, kind in SUBJECTS if kind == "comment"
        }
        born = f"2014-{1 + n % 12:02d}-{1 + n:02d}"
        students.append(StudentGrades(sid, name, born, on_roster, scores, results))
    by_n = {n: s.student_id for n, s in enumerate(students, start=1)}
    # The tenfold story needs a one-decimal score: the teacher meant 8,5 and typed 85.
    students[4].scores["TOAN"][0][1] = 8.5
    planted = [
        Planted("TOAN", by_n[3], "gk", 11, "SCORE_OUT_OF_RANGE", "điểm giữa kỳ 11 (quá thang 10)"),
        Planted("TOAN", by_n[5], "tx2", 85, "SCORE_LOOKS_LIKE_TENFOLD", "gõ 85 thay cho 8,5"),
        Planted("TOAN", by_n[8], "ck", None, "SCORE_MISSING", "bỏ trống điểm cuối kỳ ĐĐGck"),
        Planted(
            "TOAN",
            by_n[13],
            "id",
            int(by_n[13]),
            "ID_LEADING_ZERO_LOST",
            "mã học sinh bị Excel lưu thành số, mất số 0 ở đầu",
        ),
    ]
    return Story(students=students, planted=planted)
