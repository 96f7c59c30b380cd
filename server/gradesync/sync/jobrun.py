"""One run of one claimed job: (window check) → send → read back → conclude.

A job claimed while its window is open arrives prepared (rows marked
``SENDING``, the school's account read): the run calls the Sở at once, reads
the gradebook back when nothing should stay pending, and writes everything in
one transaction (:func:`gradesync.sync.conclusion.conclude`). Otherwise it
first asks the Sở for the windows, and either waits for the next one or
prepares itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import TYPE_CHECKING, Any

from gradesync.core.db import utcnow
from gradesync.files.models import SyncState
from gradesync.schools.service import UnknownSchoolError
from gradesync.so import (
    ConfigurationError,
    GradebookKey,
    NotAttempted,
    SchoolCredentials,
    SoCallFailed,
    Stored,
    Window,
    WindowClosed,
)
from gradesync.so.messages import VN
from gradesync.sync import steps
from gradesync.sync.claims import Claimed
from gradesync.sync.conclusion import Report, conclude
from gradesync.sync.events import publish
from gradesync.sync.gateway import credentials, so_now, to_local
from gradesync.sync.models import JobState, SyncWindow
from gradesync.sync.reconcile import compare
from gradesync.sync.results import halt_of, settle_rows
from gradesync.sync.steps import Fenced
from gradesync.sync.windows import Verdict

if TYPE_CHECKING:
    from gradesync.sync.worker import Worker

#: Row states after a push that leave the job with nothing pending.
SETTLED = frozenset({SyncState.SYNCED, SyncState.FAILED, SyncState.DEAD})


class JobRun:
    def __init__(self, worker: Worker, claimed: Claimed) -> None:
        self.w = worker
        self.claimed = claimed
        self.claim = claimed.claim
        self.job = claimed.job
        self.db = worker.db

    async def execute(self) -> None:
        try:
            await self._execute()
        except Fenced:
            await asyncio.to_thread(steps.note_fenced, self.db, self.claim.job_id, self.w.id)

    async def _execute(self) -> None:
        window, rows = self.claimed.window, self.claimed.rows
        if window is None:
            verdict = await self._verdict()
            if verdict.open is None:
                await self._wait_for_window(verdict)
                return
            window = verdict.open
            rows, events = await asyncio.to_thread(steps.prepare, self.db, self.claim, utcnow())
            publish(self.w.publisher, events)
        report = Report(payloads={r.id: r.payload for r in rows})
        if rows:
            await self._send(rows, window, report)
        if report.halt is None and _nothing_pending(rows, report):
            await self._read_back(report)
        report = await asyncio.to_thread(conclude, self.db, self.claim, report, utcnow())
        publish(self.w.publisher, report.events)
        if report.needs_read_back:  # rows joined or settled unexpectedly: finish properly
            await self._read_back(report)
            report = await asyncio.to_thread(conclude, self.db, self.claim, report, utcnow())
            publish(self.w.publisher, report.events)

    async def _verdict(self, *, ask: bool = False) -> Verdict:
        job = self.job
        verdict = await asyncio.to_thread(self.w.windows.verdict, job.school_year, job.semester)
        if verdict.open is None or ask:
            # Our table may be stale: ask the Sở before waiting.
            with contextlib.suppress(SoCallFailed, UnknownSchoolError):
                verdict = await self.w.windows.refresh(job.school_id, job.school_year, job.semester)
        return verdict

    async def _wait_for_window(self, verdict: Verdict) -> None:
        job = self.job
        due = self.w.windows.due_at(verdict.upcoming) if verdict.upcoming else None
        if verdict.upcoming is not None:
            opens = verdict.upcoming.opens_at.astimezone(VN)
            message = f"Chờ cổng nhập điểm của Sở mở lúc {opens:%H:%M %d/%m/%Y}; sẽ tự gửi."
        else:
            message = (
                f"Sở chưa công bố đợt nhập điểm nào cho {job.semester} năm học "
                f"{job.school_year}; sẽ tự gửi khi có đợt mở."
            )
        events = await asyncio.to_thread(
            steps.release, self.db, self.claim, JobState.SCHEDULED, cause="WINDOW_NOT_OPEN",
            message=message, now=utcnow(), due_at=due, rows_to=SyncState.SCHEDULED,
        )  # fmt: skip
        publish(self.w.publisher, events)

    async def _creds(self) -> SchoolCredentials:
        creds = self.claimed.creds
        if creds is None:
            creds = await asyncio.to_thread(credentials, self.db, self.w.box, self.job.school_id)
            self.claimed.creds = creds
        if isinstance(creds, Exception):
            raise creds
        return creds

    async def _send(self, rows: list[Any], window: SyncWindow, report: Report) -> None:
        job = self.job
        term = Window(window.id, job.school_year, job.semester, window.opens_at, window.closes_at)
        shortened = self.w.shortened(term)
        result_halt: Any = None
        try:
            creds = await self._creds()
            confirmed = await self._confirmed_in_doubt(creds, rows)
            unsent = [r for r in rows if r.id not in confirmed]
            sent: dict[int, Any] = {}
            if unsent:
                result, _ = await self.w.send(job, creds, [r.payload for r in unsent], shortened)
                sent = {r.id: o for r, o in zip(unsent, result.outcomes, strict=True)}
                result_halt = result.halt
            outcomes: list[Any] = [confirmed.get(r.id) or sent[r.id] for r in rows]
        except (UnknownSchoolError, ValueError) as exc:
            # No such school or undecryptable credentials: a configuration problem.
            result_halt = ConfigurationError("CREDENTIALS", 0, str(exc))
            outcomes = [NotAttempted(result_halt)] * len(rows)
        report.settlement = settle_rows(job.id, rows, outcomes, self.w.settings, utcnow())
        report.halt = halt_of(outcomes, result_halt)
        if isinstance(report.halt, WindowClosed):
            # Our client stops itself near the close, naming the shortened window.
            closing = report.halt.closes_at == shortened.closes_at
            report.retry_at = await self._next_opening(report.halt, closing=closing)

    async def _confirmed_in_doubt(self, creds: SchoolCredentials, rows: list[Any]) -> dict:
        """Rows an earlier run sent but never recorded, that the Sở already holds as sent.

        A row still ``SENDING`` when prepared was in flight when its run died
        (killed, or its lease lost): the Sở may have stored it and answered, and
        only the answer was lost. Sending it again would be a duplicate write, so
        the gradebook is read back first and every such row the Sở holds with
        exactly our values is settled as stored (``Stored("confirmed")``). If the
        read-back fails, they are simply sent again: an upsert of the same data.
        """
        in_doubt = [r for r in rows if r.sync_state == SyncState.SENDING]
        if not in_doubt:
            return {}
        job = self.job
        key = GradebookKey(job.school_year, job.semester, job.class_name, job.subject_code)
        try:
            held = await self.w.client.read_back(creds, key)
        except SoCallFailed:
            return {}
        differing = {m.row_id for m in compare(in_doubt, held)}
        return {r.id: Stored("confirmed") for r in in_doubt if r.id not in differing}

    async def _next_opening(self, halt: WindowClosed, *, closing: bool) -> Any:
        """When, on our clock, a job stopped by WINDOW_CLOSED should try again.

        None only when no opening is known (or the window is in its last moments):
        the job then waits for the windows to change — the next poll of the Sở's,
        or an admin's — which re-schedules it (:meth:`WindowBook.reschedule`).
        """
        guard = self.w.windows.guard
        # Still before the opening, or inside the guard band just after it (where our
        # own pre-check says "not yet" although the Sở's clock is past opens_at and
        # the window is neither upcoming nor open by our table): due at opening + guard.
        if halt.opens_at is not None and halt.opens_at + guard > so_now(self.w.client):
            return to_local(self.w.client, halt.opens_at) + guard
        verdict = await self._verdict(ask=True)  # the Sở disagrees with our table: re-read it
        if verdict.upcoming is not None:
            return self.w.windows.due_at(verdict.upcoming)
        if verdict.open is not None and not closing:
            # Still open by our table, even re-read, yet the Sở said closed: our estimate
            # of its clock is off at an edge, or an admin's window is not the Sở's. Try
            # again shortly rather than wait for a change of windows that may never come.
            delay = self.w.windows.guard.total_seconds() + self.w.settings.retry_delay(1)
            return utcnow() + dt.timedelta(seconds=delay)
        return None

    async def _read_back(self, report: Report) -> None:
        job = self.job
        key = GradebookKey(job.school_year, job.semester, job.class_name, job.subject_code)
        try:
            report.held = await self.w.client.read_back(await self._creds(), key)
        except (SoCallFailed, UnknownSchoolError, ValueError):
            report.unreadable = True


def _nothing_pending(rows: list[Any], report: Report) -> bool:
    """Whether, as far as this run knows, the job has nothing left to send."""
    if report.settlement is None:
        return not rows
    return all(u["sync_state"] in SETTLED for u in report.settlement.updates)
