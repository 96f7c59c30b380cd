"""Live events of the sync engine, published after the transaction that caused them commits.

The bus is the live-status module's (:class:`gradesync.live.EventBus`,
``app.state.bus`` in the server, :func:`gradesync.live.get_bus` in a worker
process). :func:`changes_to_events` reads what a committed step changed and
builds the row, job and file events of contracts/api.md's live stream.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from gradesync.core.db import Database
from gradesync.files import repository as files_repository
from gradesync.live.events import Event, FileEvent, JobEvent, RowEvent
from gradesync.sync import repository

log = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish(self, events: Sequence[Event]) -> Any: ...


def publish(publisher: Publisher, events: Sequence[Event]) -> None:
    """Hand ``events`` to the bus; a failing bus never fails the sync (the DB has the truth)."""
    if not events:
        return
    try:
        publisher.publish(list(events))
    except Exception:
        log.exception("publishing %d sync events failed", len(events))


def changes_to_events(
    db: Database, job_ids: Sequence[str], row_ids: Sequence[int], attention: str | None = None
) -> list[Event]:
    """:func:`collect_events` in a read session of its own (after the change committed)."""
    with db.read_session() as session:
        return collect_events(session, job_ids, row_ids, attention)


def row_event(row: Any, school_id: str, sync_state: str, errors: Any) -> RowEvent:
    """The event of a row a step has just written (``row``: ``file_id``, ``sheet``,
    ``row``, ``student_id``): built from what was written, without reading it back."""
    return RowEvent(
        row.file_id, school_id, row.sheet, row.row, row.student_id, sync_state,
        tuple(errors or ()),
    )  # fmt: skip


def collect_events(
    session: Session,
    job_ids: Sequence[str],
    row_ids: Sequence[int],
    attention: str | None = None,
    known: Mapping[int, RowEvent] | None = None,
    known_jobs: Sequence[JobEvent] = (),
) -> list[Event]:
    """Row events for ``known`` and ``row_ids``, job events for ``job_ids``, then the
    files' new counts.

    ``known`` are events of rows whose new state the step wrote itself (by row
    id, see :func:`row_event`); ``row_ids`` are read, and win over ``known``
    for a row in both (it changed again later in the transaction). ``known_jobs``
    likewise are events of jobs the step wrote itself (not in ``job_ids``). Called at
    the end of the write transaction that made the changes (it sees them), so
    a run needs no extra session; publish only after the commit.
    """
    events: list[Event] = []
    schools: dict[str, str] = {}
    read = set(row_ids)
    for row_id, event in (known or {}).items():
        if row_id not in read:
            schools[event.file_id] = event.school_id
            events.append(event)
    for r in repository.row_brief(session, row_ids):
        schools[r.file_id] = r.school_id
        events.append(
            RowEvent(
                r.file_id,
                r.school_id,
                r.sheet,
                r.row,
                r.student_id,
                r.sync_state,
                tuple(r.sync_errors or ()),
            )
        )
    for job in repository.jobs_brief(session, job_ids):  # Core: never a stale ORM copy
        schools[job.file_id] = job.school_id
        events.append(
            JobEvent(
                job.file_id,
                job.school_id,
                job.id,
                job.state,
                job.class_name,
                job.subject_code,
                job.message,
            )
        )
    for event in known_jobs:
        schools[event.file_id] = event.school_id
        events.append(event)
    counts = files_repository.count_rows(session, schools)
    events.extend(
        FileEvent(file_id, schools[file_id], dataclasses.asdict(c), attention)
        for file_id, c in counts.items()
    )
    return events
