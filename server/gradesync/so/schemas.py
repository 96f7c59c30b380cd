"""The values the Sở client takes and returns (contracts/so-api.md).

Parsing is strict about what the contract promises and silent about extra
fields: a body that lacks a promised field raises :class:`MalformedReply`,
which the client treats like a garbled answer (transient: ask again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class MalformedReply(ValueError):
    """An answer whose body does not have the shape the contract promises."""


@dataclass(frozen=True, slots=True)
class SchoolCredentials:
    """A school's account at the Sở. ``repr`` hides the secret so it never reaches a log."""

    school_id: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"SchoolCredentials(school_id={self.school_id!r}, client_id={self.client_id!r})"


@dataclass(frozen=True, slots=True)
class GradebookKey:
    """One class × subject × semester gradebook at the Sở (the school comes with the creds)."""

    school_year: str
    semester: str
    class_name: str
    subject_code: str


@dataclass(frozen=True, slots=True)
class Window:
    """A grade-entry window; times are timezone-aware (converted to UTC)."""

    id: str
    school_year: str
    semester: str
    opens_at: datetime
    closes_at: datetime


@dataclass(frozen=True, slots=True)
class Subject:
    code: str
    name: str
    kind: str  # "score" | "comment" (primary subjects may use other kinds)


@dataclass(frozen=True, slots=True)
class ClassInfo:
    class_name: str
    grade: int | None
    subjects: tuple[Subject, ...]


@dataclass(frozen=True, slots=True)
class Student:
    student_id: str
    full_name: str
    date_of_birth: str | None


def field(obj: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    """``obj[name]`` if ``obj`` is a JSON object holding a value of ``kind``."""
    if not isinstance(obj, dict) or not isinstance(obj.get(name), kind):
        raise MalformedReply(f"expected {name!r} in the answer")
    return obj[name]


def parse_datetime(text: Any) -> datetime:
    """An RFC 3339 time with offset, as an aware datetime (rejects naive times)."""
    if not isinstance(text, str):
        raise MalformedReply("expected an RFC 3339 time")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedReply("expected an RFC 3339 time") from exc
    if value.tzinfo is None:
        raise MalformedReply("time without offset")
    return value


def parse_windows(body: Any) -> list[Window]:
    return [
        Window(
            id=str(field(w, "id", (str, int))),
            school_year=field(w, "school_year", str),
            semester=field(w, "semester", str),
            opens_at=parse_datetime(field(w, "opens_at", str)).astimezone(UTC),
            closes_at=parse_datetime(field(w, "closes_at", str)).astimezone(UTC),
        )
        for w in field(body, "windows", list)
    ]


def parse_classes(body: Any) -> list[ClassInfo]:
    return [
        ClassInfo(
            class_name=field(c, "class_name", str),
            grade=c.get("grade") if isinstance(c.get("grade"), int) else None,
            subjects=tuple(
                Subject(field(s, "code", str), str(s.get("name", "")), str(s.get("kind", "")))
                for s in field(c, "subjects", list)
            ),
        )
        for c in field(body, "classes", list)
    ]


def parse_students(body: Any) -> list[Student]:
    return [
        Student(
            student_id=field(s, "student_id", str),
            full_name=str(s.get("full_name", "")),
            date_of_birth=s.get("date_of_birth")
            if isinstance(s.get("date_of_birth"), str)
            else None,
        )
        for s in field(body, "students", list)
    ]


def parse_records(body: Any) -> list[dict[str, Any]]:
    records = field(body, "records", list)
    if not all(isinstance(r, dict) for r in records):
        raise MalformedReply("expected records to be objects")
    return records
