"""Live events of the sync engine, published after the transaction that caused them commits.

The live-status module owns the bus; this is the one seam to it. Until a bus
is attached (``app.state.event_bus`` with ``publish(events)``), events go
nowhere. Event shapes are those of contracts/api.md ("The live stream"),
plus ``file_id`` so a bus can route them to the file's websockets.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)

Event = dict[str, Any]


class Publisher(Protocol):
    def publish(self, events: Sequence[Event]) -> Any: ...


class NullPublisher:
    """Drops events (no live-status bus in this process)."""

    def publish(self, events: Sequence[Event]) -> None:
        return None


def publish(publisher: Publisher, events: Sequence[Event]) -> None:
    """Hand ``events`` to the bus; a failing bus never fails the sync (status is in the DB)."""
    if not events:
        return
    try:
        publisher.publish(list(events))
    except Exception:
        log.exception("publishing %d sync events failed", len(events))


def row_event(file_id: str, row: Any, sync: str, errors: list[dict[str, Any]]) -> Event:
    return {
        "type": "row",
        "file_id": file_id,
        "sheet": row.sheet,
        "row": row.row,
        "student_id": row.student_id,
        "sync": sync,
        "errors": errors,
    }


def job_event(job: Any) -> Event:
    return {
        "type": "job",
        "file_id": job.file_id,
        "job_id": job.id,
        "state": job.state,
        "class_name": job.class_name,
        "subject_code": job.subject_code,
        "message": job.message,
    }


def file_event(file_id: str, counts: dict[str, int]) -> Event:
    return {"type": "file", "file_id": file_id, "counts": counts}
