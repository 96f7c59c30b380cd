"""Claim and lease queries: what is due, fair order across schools, leases, the timer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from gradesync.sync.models import JobState
from gradesync.sync.repository._tables import (
    jobs,
)
from gradesync.sync.repository.jobs import JOB_COLUMNS


def lease_job(session: Session, job_id: str, fence: int) -> Any | None:
    """The job (``JOB_COLUMNS``) if the lease is still ours, row-locked on PostgreSQL."""
    query = select(*JOB_COLUMNS).where(
        jobs.c.id == job_id, jobs.c.fence == fence, jobs.c.state == JobState.RUNNING
    )
    return session.execute(query.with_for_update()).first()


def claimable(now: dt.datetime) -> Any:
    """Due jobs, and RUNNING jobs whose lease expired, of schools whose queue runs."""
    c = jobs.c
    blocked = select(c.school_id).where(c.state == JobState.BLOCKED).distinct()
    return and_(
        or_(
            and_(c.state.in_([JobState.QUEUED, JobState.SCHEDULED]), c.due_at <= now),
            and_(c.state == JobState.RUNNING, c.lease_until < now),
        ),
        c.school_id.not_in(blocked),
    )


def any_claimable(session: Session, now: dt.datetime) -> bool:
    """Whether some job is claimable now: an index probe, not the fair order's ranking of
    every due job (a worker asks before each claim and at every idle poll)."""
    query = select(jobs.c.id).where(claimable(now)).limit(1)
    return session.execute(query).first() is not None


def running_count(session: Session, now: dt.datetime) -> int:
    c = jobs.c
    query = select(func.count()).where(c.state == JobState.RUNNING, c.lease_until >= now)
    return int(session.execute(query).scalar_one())


def fair_candidates(session: Session, now: dt.datetime, limit: int) -> list[str]:
    """Due job ids in round-robin order across schools.

    Each school's jobs are numbered 1, 2, … by due time; a school's running
    jobs count as turns already taken. Ordering by that turn number takes one
    job per school before any school gets a second.
    """
    c = jobs.c
    running = (
        select(c.school_id, func.count().label("n"))
        .where(c.state == JobState.RUNNING, c.lease_until >= now)
        .group_by(c.school_id)
        .subquery()
    )
    turn = func.row_number().over(partition_by=c.school_id, order_by=(c.due_at, c.id))
    ranked = (
        select(
            c.id.label("id"),
            (turn + func.coalesce(running.c.n, 0)).label("turn"),
            c.due_at.label("due_at"),
        )
        .select_from(jobs.outerjoin(running, running.c.school_id == c.school_id))
        .where(claimable(now))
        .subquery()
    )
    query = select(ranked.c.id).order_by(ranked.c.turn, ranked.c.due_at, ranked.c.id).limit(limit)
    return list(session.scalars(query))


def lock_claimable(session: Session, ids: Sequence[str], now: dt.datetime) -> list[Any]:
    """Lock those of ``ids`` still claimable (PostgreSQL: ``FOR UPDATE SKIP LOCKED``)."""
    if not ids:
        return []
    query = (
        select(jobs.c.id, jobs.c.file_id, jobs.c.state, jobs.c.fence, jobs.c.lease_owner)
        .where(jobs.c.id.in_(ids), claimable(now))
        .with_for_update(skip_locked=True)
    )
    return list(session.execute(query))


def take_leases(
    session: Session, job_ids: Sequence[str], owner: str, until: dt.datetime, now: dt.datetime
) -> list[Any]:
    """Lease locked jobs to ``owner`` (one statement): RUNNING, fence + 1; the jobs as leased."""
    if not job_ids:
        return []
    stmt = (
        update(jobs)
        .where(jobs.c.id.in_(list(job_ids)))
        .values(
            state=JobState.RUNNING,
            fence=jobs.c.fence + 1,
            lease_owner=owner,
            lease_until=until,
            runs=jobs.c.runs + 1,
            started_at=func.coalesce(jobs.c.started_at, now),
            updated_at=now,
        )
        .returning(*JOB_COLUMNS)
    )
    return list(session.execute(stmt))


def extend_leases(session: Session, leases: dict[str, int], until: dt.datetime) -> set[str]:
    """Extend the leases we hold; returns the job ids whose lease we lost."""
    lost = set()
    for job_id, fence in leases.items():
        result = session.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.fence == fence, jobs.c.state == JobState.RUNNING)
            .values(lease_until=until)
        )
        if result.rowcount != 1:
            lost.add(job_id)
    return lost


def next_due(session: Session) -> dt.datetime | None:
    """The earliest moment something becomes claimable (a due job or an expiring lease);
    one statement (the scheduler asks after every burst of finished runs)."""
    c = jobs.c
    due = select(func.min(c.due_at)).where(c.state.in_([JobState.QUEUED, JobState.SCHEDULED]))
    lease = select(func.min(c.lease_until)).where(c.state == JobState.RUNNING)
    row = session.execute(select(due.scalar_subquery(), lease.scalar_subquery())).one()
    values = [v for v in row if v is not None]
    return min(values) if values else None
