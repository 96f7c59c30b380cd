"""Driving live changes the way the sync engine does: commit row states, then publish.

Used in the test process and, for the cross-process test, by a worker
process (``python -m tests.live.driver URL FILE_ID SYNC ROWS…``).
"""

from __future__ import annotations

import dataclasses
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update

from gradesync.core.db import Database, utcnow
from gradesync.files.models import StagedRow
from gradesync.files.repository import count_rows
from gradesync.live.bus import EventBus, get_bus
from gradesync.live.events import Event, FileEvent, RowEvent

staged = StagedRow.__table__  # type: ignore[attr-defined]


def commit_states(
    db: Database,
    file_id: str,
    changes: Mapping[tuple[str, int], str],
    errors: Mapping[tuple[str, int], Sequence[Mapping[str, Any]]] | None = None,
) -> list[Event]:
    """Set rows' ``sync_state`` (keyed by ``(sheet, row)``) in one commit; the events to publish."""
    errors = errors or {}
    c = staged.c
    with db.write_session() as session:
        for (sheet, row), state in changes.items():
            session.execute(
                update(staged)
                .where(c.file_id == file_id, c.sheet == sheet, c.row == row)
                .values(
                    sync_state=state,
                    sync_errors=[dict(e) for e in errors.get((sheet, row), ())],
                    updated_at=utcnow(),
                )
            )
        rows = {
            (r.sheet, r.row): r
            for r in session.execute(
                select(c.sheet, c.row, c.student_id, c.school_id).where(c.file_id == file_id)
            )
        }
        counts = count_rows(session, [file_id])[file_id]
        session.commit()
    school_id = next(iter(rows.values())).school_id
    events: list[Event] = [
        RowEvent(
            file_id,
            school_id,
            sheet,
            row,
            rows[sheet, row].student_id,
            state,
            tuple(dict(e) for e in errors.get((sheet, row), ())),
        )
        for (sheet, row), state in changes.items()
    ]
    events.append(FileEvent(file_id, school_id, dataclasses.asdict(counts)))
    return events


def put_job(
    db: Database,
    file_id: str,
    state: str,
    job_id: str | None = None,
    class_name: str = "6A1",
    subject_code: str = "TOAN",
    message: str | None = None,
) -> str:
    """Insert a push job for ``file_id`` (or set an existing one's state), as the
    sync engine's rows would be, without publishing anything; its id."""
    from gradesync.sync.models import ACTIVE_JOB_STATES, PushJob, active_key

    with db.write_session() as session:
        job = session.get(PushJob, job_id) if job_id else None
        if job is None:
            school_id = session.execute(
                select(staged.c.school_id).where(staged.c.file_id == file_id).limit(1)
            ).scalar_one()
            job = PushJob(
                id=job_id or uuid.uuid4().hex,
                school_id=school_id,
                school_year="2025-2026",
                semester="HK1",
                class_name=class_name,
                subject_code=subject_code,
                file_id=file_id,
                state=state,
            )
            session.add(job)
        key = (job.school_id, job.school_year, job.semester, job.class_name, job.subject_code)
        job.state, job.message, job.updated_at = state, message, utcnow()
        job.active_key = active_key(*key) if state in ACTIVE_JOB_STATES else None
        session.commit()
        return job.id


def drive(
    bus: EventBus, db: Database, file_id: str, changes: Mapping[tuple[str, int], str]
) -> None:
    bus.publish(commit_states(db, file_id, changes))


def main(argv: list[str]) -> int:
    """A worker process: ``URL FILE_ID SHEET STATE ROW…`` — one commit per row, then publish."""
    from gradesync.core.settings import Settings

    url, file_id, sheet, state, *rows = argv
    settings = Settings(database_url=url)
    db = Database(url)
    bus = get_bus(settings)
    try:
        for row in rows:
            drive(bus, db, file_id, {(sheet, int(row)): state})
    finally:
        bus.close()
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
