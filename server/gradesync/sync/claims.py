"""Claiming due jobs: fair order, leases, and each run's preparation, in one transaction.

One write transaction per claim (not per job): it picks due jobs in
round-robin order across schools within the global cap of RUNNING jobs
(PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so several workers never take the
same job; SQLite: the single embedded worker), leases them all with one
``UPDATE … RETURNING``, and — for jobs whose term has a window open now —
prepares their rows (:func:`gradesync.sync.steps.prepare_in`) and reads their
schools' Sở accounts, so a run can call the Sở straight away. A job whose
window is not known open is leased unprepared; its run asks the Sở.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from gradesync.core.crypto import SecretBox
from gradesync.core.db import Database, utcnow
from gradesync.live.events import Event, RowEvent
from gradesync.so import SchoolCredentials
from gradesync.sync import repository
from gradesync.sync.accounts import school_accounts
from gradesync.sync.events import collect_events
from gradesync.sync.models import JobState, SyncWindow
from gradesync.sync.results import job_audit
from gradesync.sync.steps import Claim, prepare_in

#: ``judge(session, school_year, semester)``: the term's window open now, if any.
Judge = Callable[[Session, str, str], SyncWindow | None]


@dataclass(slots=True)
class Claimed:
    """A leased job as its run starts."""

    claim: Claim
    job: Any  #: ``repository.JOB_COLUMNS``, as leased
    window: SyncWindow | None = None  #: open at the claim: rows prepared; None: run asks
    rows: list[Any] = field(default_factory=list)  #: rows to send (prepared)
    #: the school's Sở account, or why it could not be read (a configuration problem)
    creds: SchoolCredentials | Exception | None = None


def claim_jobs(
    db: Database,
    owner: str,
    free: int,
    lease: float,
    cap: int,
    *,
    judge: Judge | None = None,
    box: SecretBox | None = None,
) -> tuple[list[Claimed], list[Event]]:
    """Claim up to ``free`` due jobs, fairly across schools, within the global ``cap``.

    With ``judge`` (and ``box``), jobs whose window is open are prepared in the
    same transaction. Returns the claims and the live events to publish.
    """
    now = utcnow()
    with db.read_session() as session:  # cheap look first: no write lock when idle
        if not repository.any_claimable(session, now):
            return [], []
    with db.write_session() as session:
        slots = min(free, cap - repository.running_count(session, now))
        if slots <= 0:
            return [], []
        order = repository.fair_candidates(session, now, slots * 4)
        rank = {job_id: i for i, job_id in enumerate(order)}
        locked = sorted(repository.lock_claimable(session, order, now), key=lambda r: rank[r.id])
        locked = locked[:slots]
        until = now + dt.timedelta(seconds=lease)
        leased = {
            j.id: j
            for j in repository.take_leases(session, [r.id for r in locked], owner, until, now)
        }
        audit = []
        for r in locked:
            reclaimed = r.state == JobState.RUNNING
            message = (
                f"Tiến trình {r.lease_owner} ngừng phản hồi; {owner} xử lý tiếp."
                if reclaimed
                else None
            )
            cause = "LEASE_EXPIRED" if reclaimed else "CLAIMED"
            audit.append(job_audit(r, JobState.RUNNING, cause, message, now, r.state))
        repository.add_audit(session, audit)
        claimed = [Claimed(Claim(r.id, leased[r.id].fence), leased[r.id]) for r in locked]
        changed: dict[int, RowEvent] = {}
        if judge is not None and box is not None and claimed:
            changed = _prepare_open(session, claimed, judge, box, now)
        events = collect_events(session, [c.job.id for c in claimed], [], known=changed)
        session.commit()
    return claimed, events


def _prepare_open(
    session: Session, claimed: list[Claimed], judge: Judge, box: SecretBox, now: dt.datetime
) -> dict[int, RowEvent]:
    terms: dict[tuple[str, str], SyncWindow | None] = {}
    ready = []
    for c in claimed:
        term = (c.job.school_year, c.job.semester)
        if term not in terms:
            terms[term] = judge(session, *term)
        c.window = terms[term]
        if c.window is not None:
            ready.append(c)
    accounts = school_accounts(session, box, (c.job.school_id for c in ready))
    for c in ready:
        c.creds = accounts[c.job.school_id]
    due, changed = prepare_in(session, [c.job.id for c in ready], now)
    for c in ready:
        c.rows = due[c.job.id]
    return changed
