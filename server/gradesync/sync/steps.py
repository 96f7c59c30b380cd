"""The write transactions of one job run, each fenced by the job's lease.

A worker holds a job's lease with a *fence* (the job's ``fence`` when it was
claimed). Every write of a run starts by checking that the fence is still the
job's (taking the job's row lock on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
serialises writers): a worker whose lease expired and was claimed again finds
a newer fence and writes nothing. No transaction spans a call to the Sở.

A run normally writes twice: its claim (:mod:`gradesync.sync.claims`, which
also prepares the rows) and its conclusion (:func:`conclude`: the Sở's
answers, then requeue, reschedule, block or finish, in one transaction).
Each step collects the live events of what it changed inside its
transaction and returns them, to be published after the commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from gradesync.core.db import Database, utcnow
from gradesync.files.models import SyncState
from gradesync.live.events import Event, JobEvent, RowEvent
from gradesync.sync import repository
from gradesync.sync.events import collect_events, row_event
from gradesync.sync.models import ACTIVE_JOB_STATES, JobState
from gradesync.sync.results import job_audit, row_audit


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
    #: events of rows whose new state the step wrote itself (no need to read them back)
    known: dict[int, RowEvent] = field(default_factory=dict)
    #: the event of the job's new state as the step wrote it (``job`` need not be read)
    job_event: JobEvent | None = None


class Fenced(Exception):
    """The lease was lost: another worker owns the job now; this run must stop."""


def fenced(db: Database, claim: Claim, work: Callable[[Session, Any], Changed]) -> list[Event]:
    """Run ``work(session, job)`` in one write transaction if ``claim`` still holds the
    lease; the live events of what it changed (publish them: it committed)."""
    with db.write_session() as session:
        job = repository.lease_job(session, claim.job_id, claim.fence)
        if job is None:
            session.rollback()
            raise Fenced(claim.job_id)
        changed = work(session, job)
        events = events_of(session, job.id, changed)
        session.commit()
        return events


def events_of(session: Session, job_id: str, changed: Changed) -> list[Event]:
    if not changed.rows and not changed.job and not changed.known:
        return []
    known_jobs = [changed.job_event] if changed.job and changed.job_event else []
    job_ids = [job_id] if changed.job and not known_jobs else []
    return collect_events(
        session, job_ids, changed.rows, changed.attention, changed.known, known_jobs
    )


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


UNCHANGED_MESSAGE = "Dữ liệu không đổi so với lần gửi thành công trước: không cần gửi lại."
SUPERSEDED_MESSAGE = "Đã có bản tải lên mới hơn của sổ điểm này; dòng này không gửi nữa."


def prepare_in(
    session: Session, job_ids: list[str], now: dt.datetime
) -> tuple[dict[str, list[Any]], dict[int, RowEvent]]:
    """For jobs just leased: drop superseded rows, settle unchanged ones from the ledger,
    mark the due rest ``SENDING``. Returns the rows to send per job and the events of
    the rows changed (by row id).

    One statement per kind of change for all the jobs together.
    """
    pending = repository.pending_rows_of(session, job_ids)
    unchanged = set(repository.unchanged_rows(session, job_ids))
    superseded: list[Any] = []
    settled: list[Any] = []
    due: dict[str, list[Any]] = {job_id: [] for job_id in job_ids}
    audit: list[dict[str, Any]] = []
    for r in pending:
        if r.superseded_at is not None:
            superseded.append(r)
            audit.append(
                row_audit(
                    r, r.job_id, r.sync_state, "NOT_SENT", "SUPERSEDED", SUPERSEDED_MESSAGE, now
                )
            )
        elif r.id in unchanged:
            settled.append(r)
            audit.append(
                row_audit(r, r.job_id, r.sync_state, "SYNCED", "UNCHANGED", UNCHANGED_MESSAGE, now)
            )
        elif r.next_attempt_at is None or r.next_attempt_at <= now:
            due[r.job_id].append(r)
            if r.sync_state != SyncState.SENDING:
                audit.append(row_audit(r, r.job_id, r.sync_state, "SENDING", "SENDING", None, now))
    repository.set_rows_state(
        session, [r.id for r in superseded], SyncState.NOT_SENT, now, job_id=None
    )
    repository.set_rows_state(
        session, [r.id for r in settled], SyncState.SYNCED, now, synced_at=now, sync_errors=[]
    )
    sending = [r for rows in due.values() for r in rows]
    repository.set_rows_state(session, [r.id for r in sending], SyncState.SENDING, now)
    repository.add_audit(session, audit)
    changes = [(superseded, SyncState.NOT_SENT), (settled, SyncState.SYNCED),
               (sending, SyncState.SENDING)]  # fmt: skip
    events = {
        r.id: row_event(r, r.school_id, state, [] if state == SyncState.SYNCED else r.sync_errors)
        for changed, state in changes
        for r in changed
    }
    return due, events


def prepare(db: Database, claim: Claim, now: dt.datetime) -> tuple[list[Any], list[Event]]:
    """:func:`prepare_in` for one claimed job, in a fenced transaction of its own (a run
    whose window was not known open at its claim); the rows to send and the events."""
    out: list[Any] = []

    def work(session: Session, job: Any) -> Changed:
        due, events = prepare_in(session, [job.id], now)
        out.extend(due[job.id])
        return Changed(known=events)

    events = fenced(db, claim, work)
    return out, events


def release_in(
    session: Session,
    job: Any,
    state: JobState,
    *,
    cause: str,
    message: str | None,
    now: dt.datetime,
    due_at: dt.datetime | None = None,
    rows_to: str | None = None,
    last_error: str | None = None,
    audit_before: list[dict[str, Any]] | None = None,
    **values: Any,
) -> Changed:
    """End this run: the job goes to ``state`` (active or final), the lease is dropped.

    ``rows_to`` moves the job's pending rows to that state (e.g. ``SCHEDULED``
    when the window closed); final states clear ``active_key``. ``audit_before``:
    entries the caller has yet to append, written first in the same statement (and
    emptied), so a conclusion appends its audit once.
    """
    event = JobEvent(job.file_id, job.school_id, job.id, str(state), job.class_name,
                     job.subject_code, message)  # fmt: skip
    changed = Changed(job=True, job_event=event)
    audit = [*(audit_before or ()), job_audit(job, state, cause, message, now)]
    if audit_before:
        audit_before.clear()
    if rows_to is not None:
        moved = [
            r
            for r in repository.job_rows(session, job.id, repository.ROW_PENDING)
            if r.sync_state != rows_to
        ]
        repository.set_rows_state(session, [r.id for r in moved], rows_to, now)
        audit += [row_audit(r, job.id, r.sync_state, rows_to, cause, None, now) for r in moved]
        changed.rows = [r.id for r in moved]
    final = state not in ACTIVE_JOB_STATES
    repository.update_job(
        session,
        job.id,
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
    repository.add_audit(session, audit)
    return changed


def release(
    db: Database,
    claim: Claim,
    state: JobState,
    *,
    extra: Callable[[Session, Any], None] | None = None,
    attention: str | None = None,
    **kwargs: Any,
) -> list[Event]:
    """:func:`release_in` in a fenced transaction of its own; the events."""

    def work(session: Session, job: Any) -> Changed:
        changed = release_in(session, job, state, **kwargs)
        if extra is not None:
            extra(session, job)
            changed.job_event = None  # ``extra`` may change the job again: read it
        changed.attention = attention
        return changed

    return fenced(db, claim, work)
