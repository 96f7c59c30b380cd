"""The subject catalog: which subjects a grade studies and how each is assessed.

The data lives in ``catalog.json`` next to this module, which a school may
copy and edit (add a local name to ``synonyms``, fix a subject's periods per
year); ``GRADESYNC_CATALOG`` points at that copy. The number of regular
assessments (ĐĐGtx) a semester needs is derived from the periods per year
exactly as Circular 22 says, so the data carries the periods, not the count.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from gradesync.gradebook.model import Level, SubjectKind
from gradesync.gradebook.text import key

__all__ = ["Catalog", "CatalogError", "Subject", "load_catalog", "subject_key"]

ENV_VAR = "GRADESYNC_CATALOG"


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry."""


def subject_key(text: str) -> str:
    """The lookup form of a subject name: :func:`key`, ``y`` read as ``i``.

    Vietnamese spells the same syllable both ways (``lý``/``lí``, ``Mỹ``/``Mĩ``);
    the folding is symmetric so it cannot make two real subjects collide.
    """
    return key(text).replace("y", "i")


def _grades(spec: str) -> range:
    """``"6-9"`` → 6..9, ``"10"`` → 10..10."""
    first, _, last = spec.partition("-")
    return range(int(first), int(last or first) + 1)


@dataclass(frozen=True, slots=True)
class Subject:
    """One subject of the catalog.

    ``kind`` is how secondary schools assess it (Circular 22: scores or
    Đ/CĐ); at primary every subject is rated T/H/C (Circular 27) and
    ``tests`` says in which grades and periods it has a periodic test.
    """

    code: str
    name: str
    kind: SubjectKind
    synonyms: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    periods: Mapping[int, int] = field(default_factory=dict)  # grade -> periods a year
    tests: Mapping[int, frozenset[str]] = field(default_factory=dict)  # grade -> periods
    levels: tuple[Level, ...] = ()  # the school levels of ``grades``, youngest first

    @property
    def grades(self) -> list[int]:
        return sorted(self.periods)

    def taught_in(self, grade: int) -> bool:
        return grade in self.periods

    def periods_per_year(self, grade: int) -> int:
        return self.periods[grade]

    def tx_required(self, grade: int) -> int:
        """How many ĐĐGtx a semester needs (Circular 22, art. 7); 0 at primary."""
        if grade <= 5 or grade not in self.periods:
            return 0
        if self.kind is SubjectKind.COMMENT:
            return 2
        periods = self.periods[grade]
        if periods <= 35:
            return 2
        return 3 if periods <= 70 else 4

    def has_test(self, grade: int, period: str | None = None) -> bool:
        """Primary: does the subject have a periodic test in ``grade`` (in ``period``)?"""
        periods = self.tests.get(grade, frozenset())
        return bool(periods) if period is None else period in periods


class Catalog:
    """Subjects by code, and a forgiving lookup by any name a teacher writes."""

    def __init__(self, subjects: Iterable[Subject], levels: Mapping[Level, Iterable[int]]):
        self._subjects: dict[str, Subject] = {}
        self._grade_level: dict[int, Level] = {}
        for level, grades in levels.items():
            for grade in grades:
                self._grade_level[grade] = level
        # Lookup tiers: code and name beat synonyms, synonyms beat abbreviations,
        # so "Tin học" is TINHOC before it is a synonym of primary TINHOC_CONGNGHE.
        self._tiers: list[dict[str, list[Subject]]] = [{}, {}, {}]
        for subject in subjects:
            if subject.code in self._subjects:
                raise CatalogError(f"mã môn {subject.code} xuất hiện hai lần trong danh mục")
            self._subjects[subject.code] = subject
            names = [(0, subject.code), (0, subject.name)]
            names += [(1, s) for s in subject.synonyms]
            names += [(2, a) for a in subject.abbreviations]
            for tier, text in names:
                bucket = self._tiers[tier].setdefault(subject_key(text), [])
                if subject not in bucket:
                    bucket.append(subject)

    def __iter__(self):
        return iter(self._subjects.values())

    def __len__(self) -> int:
        return len(self._subjects)

    def subject(self, code: str) -> Subject:
        """The subject with this code; ``KeyError`` when there is none."""
        return self._subjects[code]

    def get(self, code: str | None) -> Subject | None:
        return self._subjects.get(code) if code else None

    def level_of(self, grade: int | None) -> Level | None:
        return self._grade_level.get(grade) if grade is not None else None

    def subjects_for(self, grade: int) -> list[Subject]:
        return [s for s in self._subjects.values() if s.taught_in(grade)]

    def find_subject(self, text: str, grade: int | None = None) -> Subject | None:
        """The subject ``text`` names (code, name, synonym or abbreviation; any
        case, with or without diacritics). With ``grade``, a subject taught in
        that grade is preferred and one not taught there is not returned."""
        k = subject_key(text)
        if not k:
            return None
        for tier in self._tiers:
            candidates = tier.get(k)
            if not candidates:
                continue
            if grade is None:
                return candidates[0]
            for subject in candidates:
                if subject.taught_in(grade):
                    return subject
        return None


def _subject_from_json(raw: Mapping[str, object], grade_level: Mapping[int, Level]) -> Subject:
    try:
        periods: dict[int, int] = {}
        for spec, count in dict(raw.get("periods", {})).items():  # type: ignore[arg-type]
            for grade in _grades(spec):
                periods[grade] = int(count)
        tests: dict[int, set[str]] = {}
        for entry in raw.get("tests", []) or []:  # type: ignore[union-attr]
            for grade in _grades(entry["grades"]):
                tests.setdefault(grade, set()).update(entry["periods"])
        return Subject(
            code=str(raw["code"]),
            name=str(raw["name"]),
            kind=SubjectKind(raw["kind"]),
            synonyms=tuple(raw.get("synonyms", ())),  # type: ignore[arg-type]
            abbreviations=tuple(raw.get("abbreviations", ())),  # type: ignore[arg-type]
            periods=periods,
            tests={g: frozenset(p) for g, p in tests.items()},
            levels=tuple(
                dict.fromkeys(grade_level[g] for g in sorted(periods) if g in grade_level)
            ),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise CatalogError(f"môn {raw.get('code', '?')!s} trong danh mục sai dạng: {exc}") from exc


def parse_catalog(data: Mapping[str, object]) -> Catalog:
    levels = {Level(name): grades for name, grades in dict(data["levels"]).items()}  # type: ignore[arg-type]
    grade_level = {g: level for level, grades in levels.items() for g in grades}
    subjects = [_subject_from_json(s, grade_level) for s in data["subjects"]]  # type: ignore[union-attr]
    return Catalog(subjects, levels)


@lru_cache(maxsize=8)
def _load(path: str | None) -> Catalog:
    if path is None:
        text = resources.files(__package__).joinpath("catalog.json").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    return parse_catalog(json.loads(text))


def load_catalog(path: str | Path | None = None) -> Catalog:
    """The catalog at ``path``, else at ``$GRADESYNC_CATALOG``, else the packaged one.

    Loaded once per path (the result is shared; treat it as read-only).
    """
    chosen = path if path is not None else os.environ.get(ENV_VAR) or None
    return _load(str(chosen) if chosen is not None else None)
