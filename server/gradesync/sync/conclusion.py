"""The end of a run, in one fenced transaction: the Sở's answers, then what the job does next.

:func:`conclude` writes the rows' outcomes (grouped updates, the ledger, the
audit) and, in the same transaction, moves the job on:

- the Sở refused the school's account → ``BLOCKED`` (and the school's other
  waiting jobs say why);
- ``WINDOW_CLOSED`` → ``SCHEDULED`` for the next opening, pending rows too;
- rows still pending (retry times, or rows a newer push added) → ``QUEUED``;
- nothing pending → finished (``DONE`` / ``DONE_WITH_ERRORS`` / ``DEAD``),
  with the reconciliation of the job's SYNCED rows against the read-back the
  run fetched *before* this transaction (no transaction spans a Sở call). If
  the run did not fetch one (it expected rows to stay pending), the results
  commit, the job keeps its lease and the run reads back and concludes again.

:func:`crashed` is the end of a run that hit an unexpected error: the job is
requeued with a backoff, and after ``MAX_CRASHES`` in a row it is ``DEAD``
(a poison job), with its rows in the dead letters.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from gradesync.core.db import Database
from gradesync.files.models import SyncState
from gradesync.live.events import Event
from gradesync.so import ConfigurationError, Halt, WindowClosed
from gradesync.so.messages import VN
from gradesync.sync import repository
from gradesync.sync.events import row_event
from gradesync.sync.models import JobState
from gradesync.sync.reconcile import compare, flag_mismatches
from gradesync.sync.results import Settlement, done_message, final_state, row_audit, where
from gradesync.sync.steps import Changed, Claim, fenced, release_in

#: Unexpected errors in a row before a job is DEAD (a poison job).
MAX_CRASHES = 3


@dataclass(slots=True)
class Report:
    """What a run learned before its final write."""

    settlement: Settlement | None = None
    halt: Halt | None = None
    #: the Sở's read-back of the gradebook; None when not read
    held: list[dict[str, Any]] | None = None
    #: the read-back was tried and failed (reconciliation UNCHECKED)
    unreadable: bool = False
    #: after WINDOW_CLOSED: when, on our clock, to try again (None: unknown)
    retry_at: dt.datetime | None = None
    events: list[Event] = field(default_factory=list)
    #: the results are written but the job can finish only after a read-back
    needs_read_back: bool = False
    #: payloads of the rows the run sent, by row id (a row's payload never changes): the
    #: reconciliation need not read them again
    payloads: dict[int, Any] = field(default_factory=dict)


def conclude(db: Database, claim: Claim, report: Report, now: dt.datetime) -> Report:
    """Write ``report`` and move the job on (see the module); fills ``report.events`` and
    ``report.needs_read_back``. Raises ``Fenced`` if the lease was lost."""

    def work(session: Session, job: Any) -> Changed:
        changed = Changed()
        s = report.settlement
        audit: list[dict[str, Any]] = []  # appended with the job's own entry: one COPY
        if s is not None:
            repository.set_rows(session, s.updates)
            repository.record_synced(session, job, s.synced, now)
            audit = list(s.audit)
            changed.known = {
                u["id"]: row_event(row, job.school_id, u["sync_state"], u["sync_errors"])
                for row, u in zip(s.rows, s.updates, strict=True)
            }
            report.settlement = None  # written: a second pass must not write it again
        after = _next(session, job, report, now, audit)
        repository.add_audit(session, audit)  # what no release_in took (see audit_before)
        if after is None:
            report.needs_read_back = True
            return changed
        after.known = changed.known  # rows changed again since are in after.rows: read
        return after

    report.needs_read_back = False
    report.events = fenced(db, claim, work)
    return report


def _next(
    session: Session, job: Any, report: Report, now: dt.datetime, audit: list[dict[str, Any]]
) -> Changed | None:
    """What the job does next; ``audit``: the results' entries, to append first."""
    halt = report.halt
    if isinstance(halt, ConfigurationError):
        message = f"Hàng đợi của trường đã dừng: {halt.message_vi}"
        changed = release_in(
            session, job, JobState.BLOCKED, cause=halt.code, message=message, now=now,
            last_error=halt.code, audit_before=audit,
        )  # fmt: skip
        repository.block_school(session, job.school_id, message, now)
        changed.job_event = None  # read it: written twice
        return changed
    rows = repository.job_rows(session, job.id, None, payload=False)  # serves every branch
    pending = [r for r in rows if r.sync_state in repository.ROW_PENDING]
    if isinstance(halt, WindowClosed):
        due = report.retry_at
        when = f" lúc {due.astimezone(VN):%H:%M %d/%m/%Y}" if due else ""
        message = (
            f"Cổng nhập điểm của Sở đã đóng hoặc sắp đóng, không kịp gửi trọn một lượt: "
            f"{len(pending)} dòng chưa gửi sẽ tự gửi khi cổng mở lại{when}."
        )
        changed = release_in(
            session, job, JobState.SCHEDULED, cause="WINDOW_CLOSED", message=message, now=now,
            due_at=due, rows_to=SyncState.SCHEDULED, last_error="WINDOW_CLOSED", crashes=0,
            audit_before=audit,
        )  # fmt: skip
        changed.attention = "WINDOW_CLOSING"
        return changed
    if pending:
        retrying = [r for r in pending if r.sync_state == SyncState.RETRYING]
        return release_in(
            session, job, JobState.QUEUED,
            cause="RETRY_LATER" if retrying else "MORE_ROWS",
            message=retrying[0].sync_errors[0]["message"] if retrying else None,
            now=now,
            due_at=min((r.next_attempt_at or now for r in pending), default=now),
            last_error="TRANSIENT" if retrying else None,
            crashes=0, audit_before=audit,
        )  # fmt: skip
    if report.held is None and not report.unreadable:
        return None
    return _finish(session, job, rows, report, now, audit)


def _finish(
    session: Session,
    job: Any,
    rows: list[Any],
    report: Report,
    now: dt.datetime,
    audit: list[dict[str, Any]],
) -> Changed:
    """Settle a job none of whose ``rows`` (all of them, as now written) is pending."""
    synced = [r for r in rows if r.sync_state == SyncState.SYNCED]
    counts = Counter(r.sync_state for r in rows)
    mismatches = []
    if report.held is not None and synced:
        payloads = report.payloads  # SYNCED by an earlier run: read theirs
        payloads |= repository.payloads_of(session, [r.id for r in synced if r.id not in payloads])
        mismatches = compare(synced, report.held, payloads)
    reconcile = "UNCHECKED" if report.held is None else "MISMATCH" if mismatches else "OK"
    state = final_state(counts)
    message = done_message(state, counts)
    if mismatches:
        message += f" Đối soát: {len(mismatches)} dòng trên hệ thống của Sở khác với sổ điểm."
    elif reconcile == "UNCHECKED":
        message += " Chưa đối soát được với Sở (Sở không trả lời khi đọc lại)."
    if mismatches:  # the results' entries come before the flags
        repository.add_audit(session, audit)
        audit.clear()
    flag_mismatches(session, job.id, synced, mismatches, now)
    changed = release_in(
        session, job, state, cause="FINISHED", message=message, now=now, reconcile=reconcile,
        mismatches=len(mismatches), last_error="RECONCILE_MISMATCH" if mismatches else None,
        crashes=0, audit_before=audit,
    )  # fmt: skip
    changed.rows = [m.row_id for m in mismatches]
    return changed


def crashed(
    db: Database, claim: Claim, error: BaseException, retry_in: float, now: dt.datetime
) -> list[Event]:
    """A run hit an unexpected error: requeue the job in ``retry_in`` seconds, or, after
    :data:`MAX_CRASHES` in a row, make it ``DEAD`` with its pending rows (dead letters)."""
    kind = type(error).__name__

    def work(session: Session, job: Any) -> Changed:
        crashes = job.crashes + 1
        if crashes < MAX_CRASHES:
            message = (
                f"Lỗi nội bộ khi gửi ({kind}); hệ thống tự thử lại "
                f"(lần {crashes}/{MAX_CRASHES - 1})."
            )
            return release_in(
                session, job, JobState.QUEUED, cause="RUN_CRASHED", message=message, now=now,
                due_at=now + dt.timedelta(seconds=retry_in), last_error=kind, crashes=crashes,
            )  # fmt: skip
        pending = repository.job_rows(session, job.id, repository.ROW_PENDING)
        message = (
            f"Lỗi nội bộ lặp lại {crashes} lần liên tiếp khi gửi ({kind}): công việc đã dừng, "
            "các dòng chưa gửi nằm ở mục «Gửi thất bại». Báo cho quản trị hệ thống; sau khi "
            "khắc phục, cán bộ nhà trường bấm «Gửi lại»."
        )
        errors = [{"code": "RUN_CRASHED", "message": message}]
        repository.set_rows_state(
            session, [r.id for r in pending], SyncState.DEAD, now, sync_errors=errors
        )
        repository.add_audit(
            session,
            [
                row_audit(r, job.id, r.sync_state, SyncState.DEAD, "RUN_CRASHED",
                          f"{where(r)}: {message}", now)
                for r in pending
            ],
        )  # fmt: skip
        changed = release_in(
            session, job, JobState.DEAD, cause="RUN_CRASHED_REPEATEDLY", message=message,
            now=now, last_error=kind, crashes=crashes,
        )  # fmt: skip
        changed.rows = [r.id for r in pending]
        return changed

    return fenced(db, claim, work)
