"""The events that carry live status: a row's, a job's and a file's.

Events are small immutable dataclasses. They are *notifications*, not the
truth: the database is. Each event knows the topics it belongs to (its file,
its school, the province) and two encodings:

* :meth:`to_message` — the websocket message of ``contracts/api.md``
  (``{"type": "row", …}``, ``{"type": "job", …}``, ``{"type": "file", …}``);
* :func:`to_wire` / :func:`from_wire` — a compact JSON form for crossing
  processes (PostgreSQL NOTIFY, ≤ 8000 bytes per payload).

``at`` is the publisher's wall-clock time (``time.time()``): the bus stamps
every event of one ``publish`` call — made after the commit it reports — with
the time of that call; clients may use it for latency, and the bench does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

#: The province-wide topic (admins).
PROVINCE = "province"


def file_topic(file_id: str) -> str:
    return f"file:{file_id}"


def school_topic(school_id: str) -> str:
    return f"school:{school_id}"


@dataclass(frozen=True, slots=True)
class RowEvent:
    """One staged row's sync state changed.

    ``errors`` are the row's errors as in ``GET /grades/status`` (``code``,
    ``message``, ``cell``); ``None`` means "not carried — read them from the
    database" (an event too large for one NOTIFY travels without them).
    """

    kind: ClassVar[str] = "row"

    file_id: str
    school_id: str
    sheet: str
    row: int
    student_id: str | None
    sync: str
    errors: tuple[Mapping[str, Any], ...] | None = ()
    at: float = field(default_factory=time.time)

    def to_message(self) -> dict[str, Any]:
        return {
            "type": "row",
            "sheet": self.sheet,
            "row": self.row,
            "student_id": self.student_id,
            "sync": self.sync,
            "errors": [dict(e) for e in self.errors or ()],
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class JobEvent:
    """A push job (one class × subject gradebook of a file) changed state."""

    kind: ClassVar[str] = "job"

    file_id: str
    school_id: str
    job_id: str
    state: str
    class_name: str | None = None
    subject_code: str | None = None
    #: a short reason for the state, e.g. the last error of a dead job
    detail: str | None = None
    at: float = field(default_factory=time.time)

    def to_message(self) -> dict[str, Any]:
        return {
            "type": "job",
            "file_id": self.file_id,
            "job_id": self.job_id,
            "state": self.state,
            "class_name": self.class_name,
            "subject_code": self.subject_code,
            "detail": self.detail,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class FileEvent:
    """A file's counts changed (``rows valid invalid pending synced failed dead``).

    ``attention`` is set by the sync engine when a file needs a person even
    though nothing else changed, e.g. ``"WINDOW_CLOSING"`` with work left.
    """

    kind: ClassVar[str] = "file"

    file_id: str
    school_id: str
    counts: Mapping[str, int]
    attention: str | None = None
    at: float = field(default_factory=time.time)

    def to_message(self) -> dict[str, Any]:
        return {
            "type": "file",
            "file_id": self.file_id,
            "school_id": self.school_id,
            "counts": dict(self.counts),
            "attention": self.attention,
            "at": self.at,
        }


Event = RowEvent | JobEvent | FileEvent

_KINDS: dict[str, type[RowEvent] | type[JobEvent] | type[FileEvent]] = {
    "row": RowEvent,
    "job": JobEvent,
    "file": FileEvent,
}


def topics_of(event: Event) -> tuple[str, str, str]:
    """Every topic an event is delivered to: its file, its school, the province."""
    return file_topic(event.file_id), school_topic(event.school_id), PROVINCE


# -- the wire form (between processes) ---------------------------------------------

# Positional arrays keep NOTIFY payloads small: a row event is ~90 bytes.
_FIELDS: dict[str, tuple[str, ...]] = {
    "row": ("file_id", "school_id", "sheet", "row", "student_id", "sync", "errors", "at"),
    "job": (
        "file_id",
        "school_id",
        "job_id",
        "state",
        "class_name",
        "subject_code",
        "detail",
        "at",
    ),
    "file": ("file_id", "school_id", "counts", "attention", "at"),
}


def to_wire(event: Event) -> list[Any]:
    """``[kind, field…]`` in :data:`_FIELDS` order (JSON-serialisable)."""
    values: list[Any] = [event.kind]
    for name in _FIELDS[event.kind]:
        value = getattr(event, name)
        if name == "errors" and value is not None:
            value = [dict(e) for e in value]
        elif name == "counts":
            value = dict(value)
        values.append(value)
    return values


def from_wire(data: Sequence[Any]) -> Event:
    """The event encoded by :func:`to_wire` (``ValueError`` if malformed)."""
    if not data or data[0] not in _KINDS:
        raise ValueError(f"unknown event kind in {data!r:.80}")
    kind = data[0]
    names = _FIELDS[kind]
    if len(data) != len(names) + 1:
        raise ValueError(f"{kind} event with {len(data) - 1} fields, expected {len(names)}")
    values = dict(zip(names, data[1:], strict=True))
    if kind == "row" and values["errors"] is not None:
        values["errors"] = tuple(values["errors"])
    return _KINDS[kind](**values)


def without_details(event: Event) -> Event:
    """The event with its bulky part left out (row errors), for a size-capped channel."""
    if isinstance(event, RowEvent) and event.errors:
        return RowEvent(
            event.file_id,
            event.school_id,
            event.sheet,
            event.row,
            event.student_id,
            event.sync,
            None,
            event.at,
        )
    return event
