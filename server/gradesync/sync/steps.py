"""The short transactions of one job run, each fenced by the job's lease.

A worker holds a job's lease with a *fence* (the job's ``fence`` when it was
claimed). Every write of a run starts by checking that the fence is still the
job's (taking the job's row lock on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
serialises writers): a worker whose lease expired and was claimed again finds
a newer fence and writes nothing. No transaction spans a call to the Sở.

Each step returns the rows and jobs it changed so the caller can publish live
events after the commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from gradesync.core.db import Database, utcnow
from gradesync.files.models import SyncState
from gradesync.sync import repository
from gradesync.sync.models import JobState, PushJob
from gradesync.sync.results import Settlement, job_audit, row_audit


@dataclass(frozen=True, slots=True)
class Claim:
    job_id: str
    fence: int


@dataclass(slots=True)
class Changed:
    """What a step changed: row ids and whether the job did (for live events)."""

    rows: list[int] = field(default_factory=list)
    job: bool = False
    attention: str | None = None  # e.g. WINDOW_CLOSING: the school must be told


class Fenced(Exception):
    """The lease was lost: another worker owns the job now; this run must stop."""


def fenced(db: Database, claim: Claim, work: Callable[[Session], Any]) -> Any:
    """Run ``work`` in one write transaction if ``claim`` still holds the lease."""
    with db.write_session() as session:
        if not repository.holds_lease(session, claim.job_id, claim.fence):
            session.rollback()
            raise Fenced(claim.job_id)
        out = work(session)
        session.commit()
        return out


def note_fenced(db: Database, job_id: str, owner: str) -> None:
    """Audit that a stale worker's results were refused (the only write it may do)."""
    with db.write_session() as session:
        job = repository.get_job(session, job_id)
        if job is None:
            return
        message = (
            f"Kết quả của tiến trình {owner} bị bỏ qua: quyền xử lý đã chuyển sang tiến trình khác."
        )
        entry = job_audit(job, job.state, "STALE_WORKER_FENCED", message, utcnow(), job.state)
        repository.add_audit(session, [entry])
        session.commit()


def prepare(db: Database, claim: Claim, now: dt.datetime) -> tuple[list[Any], Changed]:
    """Drop superseded rows, settle unchanged ones from the ledger, mark the due rest SENDING.

    Returns the rows to send (with payloads) and what changed.
    """

    def work(session: Session) -> tuple[list[Any], Changed]:
        changed = Changed()
        audit: list[dict[str, Any]] = []
        pending = repository.job_rows(session, claim.job_id, repository.ROW_PENDING)
        superseded = [r for r in pending if r.superseded_at is not None]
        for r in superseded:
            message = "Đã có bản tải lên mới hơn của sổ điểm này; dòng này không gửi nữa."
            audit.append(
                row_audit(r, claim.job_id, r.sync_state, "NOT_SENT", "SUPERSEDED", message, now)
            )
        repository.set_rows_state(
            session, [r.id for r in superseded], SyncState.NOT_SENT, now, job_id=None
        )
        unchanged = set(repository.unchanged_rows(session, claim.job_id))
        message = "Dữ liệu không đổi so với lần gửi thành công trước: không cần gửi lại."
        for r in pending:
            if r.id in unchanged:
                audit.append(
                    row_audit(r, claim.job_id, r.sync_state, "SYNCED", "UNCHANGED", message, now)
                )
        repository.set_rows_state(
            session, list(unchanged), SyncState.SYNCED, now, synced_at=now, sync_errors=[]
        )
        due = [
            r
            for r in pending
            if r.superseded_at is None
            and r.id not in unchanged
            and (r.next_attempt_at is None or r.next_attempt_at <= now)
        ]
        for r in due:
            if r.sync_state != SyncState.SENDING:
                audit.append(
                    row_audit(r, claim.job_id, r.sync_state, "SENDING", "SENDING", None, now)
                )
        repository.set_rows_state(session, [r.id for r in due], SyncState.SENDING, now)
        repository.add_audit(session, audit)
        changed.rows = [r.id for r in superseded] + list(unchanged) + [r.id for r in due]
        return due, changed

    return fenced(db, claim, work)


def apply_results(db: Database, claim: Claim, settlement: Settlement, now: dt.datetime) -> None:
    def work(session: Session) -> None:
        repository.set_rows(session, settlement.updates)
        repository.record_synced(session, settlement.synced, claim.job_id, now)
        repository.add_audit(session, settlement.audit)

    fenced(db, claim, work)


def release(
    db: Database,
    claim: Claim,
    state: JobState,
    *,
    cause: str,
    message: str | None,
    now: dt.datetime,
    due_at: dt.datetime | None = None,
    rows_to: str | None = None,
    last_error: str | None = None,
    extra: Callable[[Session, PushJob], None] | None = None,
    **values: Any,
) -> Changed:
    """End this run: the job goes to ``state`` (active or final), the lease is dropped.

    ``rows_to`` moves the job's pending rows to that state (e.g. ``SCHEDULED``
    when the window closed); final states clear ``active_key``.
    """

    def work(session: Session) -> Changed:
        job = repository.get_job(session, claim.job_id)
        assert job is not None
        changed = Changed(job=True)
        audit = [job_audit(job, state, cause, message, now)]
        if rows_to is not None:
            moved = [
                r
                for r in repository.job_rows(session, claim.job_id, repository.ROW_PENDING)
                if r.sync_state != rows_to
            ]
            repository.set_rows_state(session, [r.id for r in moved], rows_to, now)
            audit += [row_audit(r, job.id, r.sync_state, rows_to, cause, None, now) for r in moved]
            changed.rows = [r.id for r in moved]
        final = state not in (
            JobState.SCHEDULED,
            JobState.QUEUED,
            JobState.RUNNING,
            JobState.BLOCKED,
        )
        repository.update_job(
            session,
            claim.job_id,
            state=state,
            due_at=due_at,
            lease_owner=None,
            lease_until=None,
            message=message,
            last_error=last_error,
            updated_at=now,
            **({"active_key": None, "finished_at": now} if final else {}),
            **values,
        )
        if extra is not None:
            extra(session, job)
        repository.add_audit(session, audit)
        return changed

    return fenced(db, claim, work)


def claim_jobs(db: Database, owner: str, free: int, lease: float, cap: int) -> list[Claim]:
    """Claim up to ``free`` due jobs, fairly across schools, within the global cap."""
    now = utcnow()
    with db.read_session() as session:  # cheap look first: no write lock when idle
        if not repository.fair_candidates(session, now, 1):
            return []
    with db.write_session() as session:
        slots = min(free, cap - repository.running_count(session, now))
        if slots <= 0:
            return []
        order = repository.fair_candidates(session, now, slots * 4)
        rank = {job_id: i for i, job_id in enumerate(order)}
        locked = sorted(repository.lock_claimable(session, order, now), key=lambda r: rank[r.id])
        until = now + dt.timedelta(seconds=lease)
        claims, audit = [], []
        for r in locked[:slots]:
            repository.take_lease(session, r.id, r.fence, owner, until, now)
            claims.append(Claim(r.id, r.fence + 1))
            job = repository.get_job(session, r.id)
            cause = "LEASE_EXPIRED" if r.state == JobState.RUNNING else "CLAIMED"
            message = (
                f"Tiến trình {r.lease_owner} ngừng phản hồi; {owner} xử lý tiếp."
                if r.state == JobState.RUNNING
                else None
            )
            audit.append(job_audit(job, JobState.RUNNING, cause, message, now, r.state))
        repository.add_audit(session, audit)
        session.commit()
    return claims
