"""Job queries: the one active job per gradebook, reading jobs, blocked schools."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gradesync.sync.models import JobState, PushJob
from gradesync.sync.repository._tables import (
    insert_for,
    jobs,
)


def insert_active_job(session: Session, values: dict[str, Any]) -> bool:
    """Insert an active job unless one holds its ``active_key``; True if inserted.

    ``INSERT … ON CONFLICT (active_key) DO NOTHING``: the database decides,
    so any number of concurrent pushes create exactly one job.
    """
    stmt = (
        insert_for(session, jobs)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["active_key"])
        .returning(jobs.c.id)  # rowcount is not reliable here (psycopg says -1)
    )
    return session.execute(stmt).first() is not None


def active_job(session: Session, key: str, *, lock: bool = False) -> PushJob | None:
    """The gradebook's active job. ``lock``: take its row lock (PostgreSQL ``FOR UPDATE``)
    before adding rows to it, so that a run concluding the job waits for this transaction
    (or this one waits for the conclusion and then sees the job finished: None).

    On SQLite the clause is dropped: ``BEGIN IMMEDIATE`` already serialises writers.
    """
    query = select(PushJob).where(PushJob.active_key == key)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def lock_job(session: Session, job_id: str) -> PushJob | None:
    """The job, row-locked on PostgreSQL (see :func:`active_job`)."""
    query = select(PushJob).where(PushJob.id == job_id).with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).first()


def get_job(session: Session, job_id: str) -> PushJob | None:
    return session.get(PushJob, job_id)


def jobs_of_file(session: Session, file_id: str) -> list[PushJob]:
    query = select(PushJob).where(PushJob.file_id == file_id).order_by(PushJob.created_at)
    return list(session.scalars(query))


def dead_jobs(session: Session, school_id: str | None, limit: int) -> list[PushJob]:
    query = select(PushJob).where(PushJob.state == JobState.DEAD)
    if school_id is not None:
        query = query.where(PushJob.school_id == school_id)
    return list(session.scalars(query.order_by(PushJob.updated_at.desc()).limit(limit)))  # type: ignore[attr-defined]


#: A job as a run and its events need it (Core rows: never a stale ORM copy).
JOB_COLUMNS = (
    jobs.c.id,
    jobs.c.file_id,
    jobs.c.school_id,
    jobs.c.school_year,
    jobs.c.semester,
    jobs.c.class_name,
    jobs.c.subject_code,
    jobs.c.state,
    jobs.c.message,
    jobs.c.fence,
    jobs.c.crashes,
)


def jobs_brief(session: Session, job_ids: Sequence[str]) -> list[Any]:
    if not job_ids:
        return []
    return list(session.execute(select(*JOB_COLUMNS).where(jobs.c.id.in_(list(job_ids)))))


def update_job(session: Session, job_id: str, **values: Any) -> None:
    session.execute(update(jobs).where(jobs.c.id == job_id).values(**values))


def waiting_terms(session: Session) -> list[tuple[str, str, str]]:
    """(school_id, school_year, semester) of every SCHEDULED job: whose windows we need."""
    c = jobs.c
    query = (
        select(c.school_id, c.school_year, c.semester)
        .where(c.state == JobState.SCHEDULED)
        .distinct()
    )
    return [tuple(r) for r in session.execute(query)]  # type: ignore[misc]


def schedule_waiting(
    session: Session, school_year: str, semester: str, due_at: dt.datetime | None
) -> list[str]:
    """Set the due time of the term's SCHEDULED jobs (a window appeared or moved).

    ``due_at`` None (no window known) leaves them as they are: a job may know an
    opening our table does not (the Sở named it in a ``WINDOW_CLOSED`` answer).
    """
    if due_at is None:
        return []
    c = jobs.c
    # Only jobs whose due time changes, locked in active-key order, the order pushes
    # lock them in: many pushes refresh the windows at once, and an UPDATE locking
    # the whole term in scan order deadlocked against them on PostgreSQL.
    ids = session.scalars(
        select(c.id)
        .where(
            c.state == JobState.SCHEDULED,
            c.school_year == school_year,
            c.semester == semester,
            c.due_at.is_distinct_from(due_at),
        )
        .order_by(c.active_key)
        .with_for_update()
    ).all()
    if not ids:
        return []
    session.execute(update(jobs).where(c.id.in_(ids)).values(due_at=due_at))
    return list(ids)


def block_school(session: Session, school_id: str, message: str, now: dt.datetime) -> None:
    """Tell the school's other waiting jobs why they do not move."""
    c = jobs.c
    session.execute(
        update(jobs)
        .where(c.school_id == school_id, c.state.in_([JobState.QUEUED, JobState.SCHEDULED]))
        .values(message=message, updated_at=now)
    )


def blocked_jobs(session: Session, school_id: str) -> list[str]:
    query = select(jobs.c.id).where(jobs.c.school_id == school_id, jobs.c.state == JobState.BLOCKED)
    return list(session.scalars(query))
