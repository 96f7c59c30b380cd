"""One run of one job by a worker: window check, send, settle, then requeue or finish."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from gradesync.core.db import utcnow
from gradesync.files.models import SyncState
from gradesync.schools.service import UnknownSchoolError
from gradesync.so import (
    ConfigurationError,
    GradebookKey,
    Halt,
    NotAttempted,
    SoCallFailed,
    Window,
    WindowClosed,
)
from gradesync.so.messages import VN
from gradesync.sync import repository, steps
from gradesync.sync.events import changes_to_events, publish
from gradesync.sync.gateway import credentials, so_now, to_local
from gradesync.sync.models import JobState, PushJob
from gradesync.sync.reconcile import flag_mismatches, read_back_and_compare
from gradesync.sync.results import done_message, final_state, halt_of, settle_rows
from gradesync.sync.steps import Changed, Claim, Fenced
from gradesync.sync.windows import Verdict

if TYPE_CHECKING:
    from gradesync.sync.worker import Worker


class JobRun:
    def __init__(self, worker: Worker, claim: Claim) -> None:
        self.w = worker
        self.claim = claim
        self.db = worker.db

    async def execute(self) -> None:
        try:
            await self._execute()
        except Fenced:
            await asyncio.to_thread(steps.note_fenced, self.db, self.claim.job_id, self.w.id)

    async def _execute(self) -> None:
        job = await asyncio.to_thread(self._job)
        verdict = await self._verdict(job)
        if verdict.open is None:
            await self._wait_for_window(job, verdict)
            return
        rows, changed = await asyncio.to_thread(steps.prepare, self.db, self.claim, utcnow())
        await self._publish(job, changed)
        halt: Halt | None = None
        if rows:
            halt = await self._send(job, rows, verdict)
        await self._decide(job, halt)

    def _job(self) -> PushJob:
        with self.db.read_session() as session:
            job = repository.get_job(session, self.claim.job_id)
        assert job is not None
        return job

    async def _verdict(self, job: PushJob) -> Verdict:
        verdict = self.w.windows.verdict(job.school_year, job.semester)
        if verdict.open is None:
            # Our table may be stale: ask the Sở before waiting.
            with contextlib.suppress(SoCallFailed, UnknownSchoolError):
                verdict = await self.w.windows.refresh(job.school_id, job.school_year, job.semester)
        return verdict

    async def _wait_for_window(self, job: PushJob, verdict: Verdict) -> None:
        due = self.w.windows.due_at(verdict.upcoming) if verdict.upcoming else None
        if verdict.upcoming is not None:
            opens = verdict.upcoming.opens_at.astimezone(VN)
            message = f"Chờ cổng nhập điểm của Sở mở lúc {opens:%H:%M %d/%m/%Y}; sẽ tự gửi."
        else:
            message = (
                f"Sở chưa công bố đợt nhập điểm nào cho {job.semester} năm học "
                f"{job.school_year}; sẽ tự gửi khi có đợt mở."
            )
        changed = await asyncio.to_thread(
            steps.release,
            self.db,
            self.claim,
            JobState.SCHEDULED,
            cause="WINDOW_NOT_OPEN",
            message=message,
            now=utcnow(),
            due_at=due,
            rows_to=SyncState.SCHEDULED,
        )
        await self._publish(job, changed)

    async def _send(self, job: PushJob, rows: list[Any], verdict: Verdict) -> Halt | None:
        assert verdict.open is not None
        window = Window(
            verdict.open.id,
            job.school_year,
            job.semester,
            verdict.open.opens_at,
            verdict.open.closes_at,
        )
        try:
            result, _ = await self.w.send(job, [r.payload for r in rows], self.w.shortened(window))
        except (UnknownSchoolError, ValueError) as exc:
            # No such school or undecryptable credentials: a configuration problem.
            halt = ConfigurationError("CREDENTIALS", 0, str(exc))
            outcomes: list[Any] = [NotAttempted(halt)] * len(rows)
            result_halt: Halt | None = halt
        else:
            outcomes, result_halt = result.outcomes, result.halt
        settlement = settle_rows(job.id, rows, outcomes, self.w.settings, utcnow())
        await asyncio.to_thread(steps.apply_results, self.db, self.claim, settlement, utcnow())
        await self._publish(job, Changed(rows=[r.id for r in rows]))
        return halt_of(outcomes, result_halt)

    async def _decide(self, job: PushJob, halt: Halt | None) -> None:
        now = utcnow()
        release = steps.release
        if isinstance(halt, ConfigurationError):
            message = f"Hàng đợi của trường đã dừng: {halt.message_vi}"

            def block(session: Any, j: PushJob) -> None:
                repository.block_school(session, j.school_id, message, now)

            changed = await asyncio.to_thread(
                release,
                self.db,
                self.claim,
                JobState.BLOCKED,
                cause=halt.code,
                message=message,
                now=now,
                last_error=halt.code,
                extra=block,
            )
        elif isinstance(halt, WindowClosed):
            changed = await self._window_closed(job, halt)
        else:
            pending = await asyncio.to_thread(self._pending)
            if pending:
                due = min((r.next_attempt_at or now for r in pending), default=now)
                retrying = [r for r in pending if r.sync_state == SyncState.RETRYING]
                message = retrying[0].sync_errors[0]["message"] if retrying else None
                changed = await asyncio.to_thread(
                    release,
                    self.db,
                    self.claim,
                    JobState.QUEUED,
                    cause="RETRY_LATER" if retrying else "MORE_ROWS",
                    message=message,
                    now=now,
                    due_at=due,
                    last_error="TRANSIENT" if retrying else None,
                )
            else:
                changed = await self._finish(job)
        await self._publish(job, changed)

    def _settled_rows(self, job_id: str) -> tuple[list[Any], dict[str, int]]:
        with self.db.read_session() as session:
            synced = repository.job_rows(session, job_id, [SyncState.SYNCED])
            return synced, repository.job_row_counts(session, job_id)

    def _pending(self) -> list[Any]:
        with self.db.read_session() as session:
            return repository.job_rows(session, self.claim.job_id, repository.ROW_PENDING)

    async def _window_closed(self, job: PushJob, halt: WindowClosed) -> Changed:
        verdict = await self._verdict(job)
        due = None
        if halt.opens_at is not None and halt.opens_at > so_now(self.w.client):
            due = to_local(self.w.client, halt.opens_at) + self.w.windows.guard
        elif verdict.upcoming is not None:
            due = self.w.windows.due_at(verdict.upcoming)
        pending = len(await asyncio.to_thread(self._pending))
        when = f" lúc {due.astimezone(VN):%H:%M %d/%m/%Y}" if due else ""
        message = (
            f"Cổng nhập điểm của Sở đã đóng hoặc sắp đóng, không kịp gửi trọn một lượt: "
            f"{pending} dòng chưa gửi sẽ tự gửi khi cổng mở lại{when}."
        )
        changed = await asyncio.to_thread(
            steps.release,
            self.db,
            self.claim,
            JobState.SCHEDULED,
            cause="WINDOW_CLOSED",
            message=message,
            now=utcnow(),
            due_at=due,
            rows_to=SyncState.SCHEDULED,
            last_error="WINDOW_CLOSED",
        )
        changed.attention = "WINDOW_CLOSING"
        return changed

    async def _finish(self, job: PushJob) -> Changed:
        synced, counts = await asyncio.to_thread(self._settled_rows, job.id)
        reconcile, mismatches = "OK", []
        try:
            creds = await asyncio.to_thread(credentials, self.db, self.w.box, job.school_id)
            key = GradebookKey(job.school_year, job.semester, job.class_name, job.subject_code)
            mismatches = await read_back_and_compare(self.w.client, creds, key, synced)
        except (SoCallFailed, UnknownSchoolError, ValueError):
            reconcile = "UNCHECKED"
        if mismatches:
            reconcile = "MISMATCH"
        state = final_state(counts)
        message = done_message(state, counts)
        if mismatches:
            message += f" Đối soát: {len(mismatches)} dòng trên hệ thống của Sở khác với sổ điểm."
        elif reconcile == "UNCHECKED":
            message += " Chưa đối soát được với Sở (Sở không trả lời khi đọc lại)."
        now = utcnow()

        def flag(session: Any, j: PushJob) -> None:
            flag_mismatches(session, j.id, synced, mismatches, now)

        changed = await asyncio.to_thread(
            steps.release,
            self.db,
            self.claim,
            state,
            cause="FINISHED",
            message=message,
            now=now,
            reconcile=reconcile,
            mismatches=len(mismatches),
            extra=flag,
            last_error="RECONCILE_MISMATCH" if mismatches else None,
        )
        changed.rows = [m.row_id for m in mismatches]
        return changed

    async def _publish(self, job: PushJob, changed: Changed) -> None:
        if not changed.rows and not changed.job:
            return
        events = await asyncio.to_thread(
            changes_to_events,
            self.db,
            [job.id] if changed.job else [],
            changed.rows,
            changed.attention,
        )
        publish(self.w.publisher, events)
