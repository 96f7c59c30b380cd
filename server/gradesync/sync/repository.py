"""Every query of the sync engine (jobs, rows, ledger, audit, windows, idempotency keys).

Functions take the caller's session and never commit: the service or the
worker owns each (short) transaction. Hot paths use Core statements and
``executemany``; the ORM is used only to read single objects.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gradesync.core.db import JSONType
from gradesync.files.models import StagedRow, SyncState, Validation
from gradesync.sync.models import (
    AuditEvent,
    IdempotencyKey,
    JobState,
    LedgerEntry,
    PushJob,
    SyncWindow,
)

jobs = PushJob.__table__  # type: ignore[attr-defined]
rows = StagedRow.__table__  # type: ignore[attr-defined]
ledger = LedgerEntry.__table__  # type: ignore[attr-defined]
audit = AuditEvent.__table__  # type: ignore[attr-defined]
windows = SyncWindow.__table__  # type: ignore[attr-defined]
idem = IdempotencyKey.__table__  # type: ignore[attr-defined]

#: Row states that belong to an unfinished job.
ROW_PENDING = (SyncState.SCHEDULED, SyncState.QUEUED, SyncState.SENDING, SyncState.RETRYING)
#: Row states a new push (re)sends (SYNCED ones too, when the ledger no longer vouches).
ROW_SENDABLE = (SyncState.NOT_SENT, SyncState.FAILED, SyncState.DEAD)


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


# -- jobs ------------------------------------------------------------------------


def insert_active_job(session: Session, values: dict[str, Any]) -> bool:
    """Insert an active job unless one holds its ``active_key``; True if inserted.

    ``INSERT … ON CONFLICT (active_key) DO NOTHING``: the database decides,
    so any number of concurrent pushes create exactly one job.
    """
    stmt = (
        _insert(session, jobs)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["active_key"])
        .returning(jobs.c.id)  # rowcount is not reliable here (psycopg says -1)
    )
    return session.execute(stmt).first() is not None


def active_job(session: Session, key: str) -> PushJob | None:
    return session.scalars(select(PushJob).where(PushJob.active_key == key)).first()


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
    """The earliest moment something becomes claimable (a due job or an expiring lease)."""
    c = jobs.c
    due = select(func.min(c.due_at)).where(c.state.in_([JobState.QUEUED, JobState.SCHEDULED]))
    lease = select(func.min(c.lease_until)).where(c.state == JobState.RUNNING)
    values = [v for v in (session.execute(q).scalar() for q in (due, lease)) if v is not None]
    return min(values) if values else None


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
    """Set the due time of the term's SCHEDULED jobs (a window appeared or moved)."""
    c = jobs.c
    result = session.execute(
        update(jobs)
        .where(c.state == JobState.SCHEDULED, c.school_year == school_year, c.semester == semester)
        .values(due_at=due_at)
        .returning(c.id)
    )
    return list(result.scalars())


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


# -- rows ------------------------------------------------------------------------


def _in_ledger() -> Any:
    """The row's payload is what the ledger says the Sở holds."""
    c, lg = rows.c, ledger.c
    return (
        select(lg.student_id)
        .where(
            lg.school_id == c.school_id,
            lg.school_year == c.school_year,
            lg.semester == c.semester,
            lg.class_name == c.class_name,
            lg.subject_code == c.subject_code,
            lg.student_id == c.student_id,
            lg.payload_hash == c.payload_hash,
        )
        .exists()
    )


def sendable_rows(session: Session, gradebook_id: int) -> list[int]:
    """Valid, current rows of a gradebook that a new push (re)sends.

    Never-sent, FAILED and DEAD rows; SYNCED rows only when the ledger no
    longer vouches for them (reconciliation found the Sở holding otherwise).
    """
    c = rows.c
    query = select(c.id).where(
        c.gradebook_id == gradebook_id,
        c.validation == Validation.VALID,
        c.payload.is_not(None),
        c.superseded_at.is_(None),
        or_(
            c.sync_state.in_(ROW_SENDABLE),
            and_(c.sync_state == SyncState.SYNCED, ~_in_ledger()),
        ),
    )
    return list(session.scalars(query))


def row_brief(session: Session, row_ids: Sequence[int]) -> list[Any]:
    """What events need of rows: id, file, school, sheet, row, student, state, errors."""
    if not row_ids:
        return []
    c = rows.c
    query = select(
        c.id, c.file_id, c.school_id, c.sheet, c.row, c.student_id, c.sync_state, c.sync_errors
    ).where(c.id.in_(row_ids))
    return list(session.execute(query))


def job_rows(session: Session, job_id: str, states: Iterable[str]) -> list[Any]:
    """A job's rows in ``states``, with everything needed to send and settle them."""
    c = rows.c
    query = (
        select(
            c.id,
            c.file_id,
            c.sheet,
            c.row,
            c.student_id,
            c.sync_state,
            c.sync_errors,
            c.payload,
            c.payload_hash,
            c.attempts,
            c.next_attempt_at,
            c.superseded_at,
        )
        .where(c.job_id == job_id, c.sync_state.in_(list(states)))
        .order_by(c.sheet, c.row)
    )
    return list(session.execute(query))


def pending_rows_of(session: Session, job_ids: Sequence[str]) -> list[Any]:
    """The pending rows of several jobs (``job_rows`` columns plus ``job_id``)."""
    if not job_ids:
        return []
    c = rows.c
    query = (
        select(
            c.id,
            c.job_id,
            c.file_id,
            c.sheet,
            c.row,
            c.student_id,
            c.sync_state,
            c.sync_errors,
            c.payload,
            c.payload_hash,
            c.attempts,
            c.next_attempt_at,
            c.superseded_at,
        )
        .where(c.job_id.in_(list(job_ids)), c.sync_state.in_(ROW_PENDING))
        .order_by(c.job_id, c.sheet, c.row)
    )
    return list(session.execute(query))


def job_row_counts(session: Session, job_id: str) -> dict[str, int]:
    c = rows.c
    query = select(c.sync_state, func.count()).where(c.job_id == job_id).group_by(c.sync_state)
    return {state: n for state, n in session.execute(query)}


def unchanged_rows(session: Session, job_id: str | Sequence[str]) -> list[int]:
    """Pending rows of a job (or jobs) whose payload the Sở already holds (per the ledger)."""
    job_ids = [job_id] if isinstance(job_id, str) else list(job_id)
    c, lg = rows.c, ledger.c
    query = (
        select(c.id)
        .select_from(
            rows.join(
                ledger,
                and_(
                    lg.school_id == c.school_id,
                    lg.school_year == c.school_year,
                    lg.semester == c.semester,
                    lg.class_name == c.class_name,
                    lg.subject_code == c.subject_code,
                    lg.student_id == c.student_id,
                ),
            )
        )
        .where(
            c.job_id.in_(job_ids),
            c.sync_state.in_(ROW_PENDING),
            lg.payload_hash == c.payload_hash,
        )
    )
    return list(session.scalars(query))


def set_rows(session: Session, updates: Sequence[dict[str, Any]]) -> None:
    """Per-row state changes. Keys: id, sync_state, sync_errors, attempts, next_attempt_at,
    synced_at, job_id, updated_at.

    Rows getting identical values share one ``UPDATE … WHERE id IN (…)``: a
    batch the Sở stored whole is one statement, not one per row.
    """
    groups: dict[str, tuple[dict[str, Any], list[int]]] = {}
    for u in updates:
        values = {k: v for k, v in u.items() if k != "id"}
        key = json.dumps(values, sort_keys=True, default=str)
        groups.setdefault(key, (values, []))[1].append(u["id"])
    for values, ids in groups.values():
        session.execute(update(rows).where(rows.c.id.in_(ids)).values(**values))


def set_rows_state(
    session: Session, row_ids: Sequence[int], state: str, now: dt.datetime, **values: Any
) -> None:
    """One state (and optional common values) for many rows."""
    if row_ids:
        session.execute(
            update(rows)
            .where(rows.c.id.in_(row_ids))
            .values(sync_state=state, updated_at=now, **values)
        )


def add_row_errors(session: Session, errors: dict[int, list[dict[str, Any]]]) -> None:
    """Replace the ``sync_errors`` of rows (reconciliation flags)."""
    if errors:
        stmt = (
            update(rows)
            .where(rows.c.id == bindparam("_id"))
            .values(sync_errors=bindparam("_errors", type_=JSONType))
        )
        session.execute(stmt, [{"_id": k, "_errors": v} for k, v in errors.items()])


def rows_by_id(session: Session, row_ids: Sequence[int]) -> list[Any]:
    if not row_ids:
        return []
    c = rows.c
    query = select(
        c.id,
        c.school_id,
        c.school_year,
        c.semester,
        c.class_name,
        c.subject_code,
        c.student_id,
        c.payload_hash,
    ).where(c.id.in_(row_ids))
    return list(session.execute(query))


# -- ledger ----------------------------------------------------------------------


def record_synced(session: Session, job: Any, synced: Sequence[Any], now: dt.datetime) -> None:
    """Upsert the ledger: these rows' payloads (``student_id``, ``payload_hash``; rows of
    ``job``'s gradebook) are what the Sở now holds."""
    if not synced:
        return
    entries = [
        {
            "school_id": job.school_id,
            "school_year": job.school_year,
            "semester": job.semester,
            "class_name": job.class_name,
            "subject_code": job.subject_code,
            "student_id": r.student_id,
            "payload_hash": r.payload_hash,
            "job_id": job.id,
            "synced_at": now,
        }
        for r in synced
    ]
    stmt = _insert(session, ledger)
    stmt = stmt.on_conflict_do_update(
        index_elements=[
            "school_id",
            "school_year",
            "semester",
            "class_name",
            "subject_code",
            "student_id",
        ],
        set_={
            "payload_hash": stmt.excluded.payload_hash,
            "job_id": stmt.excluded.job_id,
            "synced_at": stmt.excluded.synced_at,
        },
    )
    session.execute(stmt, entries)


def forget_synced(session: Session, row_ids: Sequence[int]) -> None:
    """Drop ledger entries of rows the Sở turned out not to hold (reconciliation)."""
    for r in rows_by_id(session, row_ids):
        session.execute(
            ledger.delete().where(
                ledger.c.school_id == r.school_id,
                ledger.c.school_year == r.school_year,
                ledger.c.semester == r.semester,
                ledger.c.class_name == r.class_name,
                ledger.c.subject_code == r.subject_code,
                ledger.c.student_id == r.student_id,
            )
        )


# -- audit -----------------------------------------------------------------------


def add_audit(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    if entries:
        session.execute(insert(audit), list(entries))


def audit_of_file(session: Session, file_id: str, limit: int, after: int) -> list[Any]:
    c, r = audit.c, rows.c
    query = (
        select(
            c.id,
            c.at,
            c.job_id,
            c.row_id,
            c.kind,
            c.from_state,
            c.to_state,
            c.cause,
            c.message,
            r.sheet,
            r.row,
            r.student_id,
        )
        .select_from(audit.outerjoin(rows, rows.c.id == c.row_id))
        .where(c.file_id == file_id, c.id > after)
        .order_by(c.id)
        .limit(limit)
    )
    return list(session.execute(query))


# -- windows ---------------------------------------------------------------------


def upsert_windows(session: Session, values: Sequence[dict[str, Any]]) -> None:
    if not values:
        return
    stmt = _insert(session, windows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "opens_at": stmt.excluded.opens_at,
            "closes_at": stmt.excluded.closes_at,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    session.execute(stmt, list(values))


def windows_of(
    session: Session, school_year: str | None = None, semester: str | None = None
) -> list[SyncWindow]:
    query = select(SyncWindow).order_by(SyncWindow.opens_at)
    if school_year is not None:
        query = query.where(SyncWindow.school_year == school_year)
    if semester is not None:
        query = query.where(SyncWindow.semester == semester)
    return list(session.scalars(query))


# -- idempotency keys ------------------------------------------------------------


def get_idempotency(session: Session, school_id: str, key: str) -> IdempotencyKey | None:
    return session.get(IdempotencyKey, (school_id, key))


def insert_idempotency(session: Session, values: dict[str, Any]) -> bool:
    stmt = _insert(session, idem).values(**values).on_conflict_do_nothing().returning(idem.c.key)
    return session.execute(stmt).first() is not None
