"""The Sở's roster (schools, classes, subjects, students) and its grade-entry windows.

Held in memory as indexes built from the seed documents, because every batch
looks up each of its students: a dict lookup per record keeps the simulator
at tens of thousands of records a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gradesync.so.simulator.config import (
    ClassSeed,
    SchoolSeed,
    SeedDocument,
    StudentSeed,
    SubjectSeed,
    WindowSeed,
)


@dataclass(frozen=True, slots=True)
class ClassInfo:
    school_id: str
    seed: ClassSeed
    subjects: dict[str, SubjectSeed]
    students: dict[str, StudentSeed]

    @property
    def is_primary(self) -> bool:
        """Grades 1–5 are assessed by Circular 27 (levels T/H/C, whole-number tests)."""
        return self.seed.grade <= 5


@dataclass(frozen=True, slots=True)
class WindowState:
    """Whether writes for a school year and semester are accepted now, and why not."""

    open: bool
    # The open window, else the next one to open, else the last one closed.
    window: WindowSeed | None


class Roster:
    def __init__(self) -> None:
        self.schools: dict[str, SchoolSeed] = {}
        self.windows: dict[str, WindowSeed] = {}
        self._by_client: dict[str, SchoolSeed] = {}
        self._classes: dict[tuple[str, str, str], ClassInfo] = {}
        self._student_classes: dict[tuple[str, str, str], list[str]] = {}

    def seed(self, doc: SeedDocument) -> None:
        """Add or replace schools (by ``school_id``) and windows (by ``id``)."""
        for school in doc.schools:
            self.schools[school.school_id] = school
        for window in doc.windows:
            self.windows[window.id] = window
        self._reindex()

    def clear(self) -> None:
        self.schools.clear()
        self.windows.clear()
        self._reindex()

    def _reindex(self) -> None:
        self._by_client = {s.client_id: s for s in self.schools.values()}
        self._classes = {}
        self._student_classes = {}
        for school in self.schools.values():
            for cls in school.classes:
                key = (school.school_id, cls.school_year, cls.class_name)
                self._classes[key] = ClassInfo(
                    school_id=school.school_id,
                    seed=cls,
                    subjects={s.code: s for s in cls.subjects},
                    students={s.student_id: s for s in cls.students},
                )
                for student in cls.students:
                    where = (school.school_id, cls.school_year, student.student_id)
                    self._student_classes.setdefault(where, []).append(cls.class_name)

    def school_for_client(self, client_id: str) -> SchoolSeed | None:
        return self._by_client.get(client_id)

    def classes_of(self, school_id: str, school_year: str | None) -> list[ClassInfo]:
        return [
            info
            for (sid, year, _), info in self._classes.items()
            if sid == school_id and (school_year is None or year == school_year)
        ]

    def class_info(self, school_id: str, school_year: str, class_name: str) -> ClassInfo | None:
        return self._classes.get((school_id, school_year, class_name))

    def classes_of_student(self, school_id: str, school_year: str, student_id: str) -> list[str]:
        return self._student_classes.get((school_id, school_year, student_id), [])

    def window_state(self, school_year: str, semester: str, now: datetime) -> WindowState:
        """Judge the window for ``school_year``/``semester`` at ``now`` (the Sở's clock)."""
        mine = [
            w
            for w in self.windows.values()
            if w.school_year == school_year and w.semester == semester
        ]
        for window in mine:
            if window.opens_at <= now < window.closes_at:
                return WindowState(True, window)
        upcoming = [w for w in mine if w.opens_at > now]
        if upcoming:
            return WindowState(False, min(upcoming, key=lambda w: w.opens_at))
        past = [w for w in mine if w.closes_at <= now]
        return WindowState(False, max(past, key=lambda w: w.closes_at) if past else None)
