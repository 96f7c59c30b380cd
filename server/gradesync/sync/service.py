"""The sync API's unit of work: push (:mod:`.pushing`), retry (:mod:`.retrying`),
reconcile on demand, and the read side.

Every write is one short transaction; events are published and the worker
poked only after it commits. Scoping (:mod:`.access`) follows the files API:
a job or file of another school is simply not found (404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gradesync.auth.service import Principal
from gradesync.core.crypto import SecretBox
from gradesync.core.db import Database, utcnow
from gradesync.core.errors import ApiError
from gradesync.files.models import SyncState
from gradesync.so import GradebookKey, SoCallFailed
from gradesync.sync import access, repository
from gradesync.sync.events import Publisher, changes_to_events, publish
from gradesync.sync.gateway import credentials
from gradesync.sync.models import JobState, PushJob
from gradesync.sync.pushing import Pusher
from gradesync.sync.reconcile import flag_mismatches, read_back_and_compare
from gradesync.sync.results import job_audit
from gradesync.sync.retrying import retry_job
from gradesync.sync.schemas import PushRequest
from gradesync.sync.settings import SyncSettings
from gradesync.sync.views import job_out
from gradesync.sync.windows import WindowBook


class SyncService:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        windows: WindowBook,
        settings: SyncSettings,
        publisher: Publisher,
        poke: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.box = box
        self.windows = windows
        self.settings = settings
        self.publisher = publisher
        self.poke = poke  # after a commit that made something due: wake the worker
        self.pusher = Pusher(db, windows, publisher, poke)

    async def push(
        self, principal: Principal, file_id: str, request: PushRequest, key: str | None
    ) -> tuple[int, dict[str, Any]]:
        """Create (or find) the jobs of a push; ``(HTTP status, body)``."""
        return await self.pusher.push(principal, file_id, request, key)

    # -- retry -----------------------------------------------------------------------

    async def retry(self, principal: Principal, job_id: str) -> tuple[int, dict[str, Any]]:
        job_ids, rows = await run_in_threadpool(retry_job, self.db, principal, job_id)
        publish(self.publisher, await run_in_threadpool(changes_to_events, self.db, job_ids, rows))
        self.poke()
        return 202, await run_in_threadpool(self.job_body, job_ids[0])

    def job_body(self, job_id: str) -> dict[str, Any]:
        with self.db.read_session() as session:
            job = repository.get_job(session, job_id)
            assert job is not None
            return job_out(session, job).model_dump(mode="json")

    # -- reconcile on demand ---------------------------------------------------------

    async def reconcile(self, principal: Principal, job_id: str) -> None:
        """Read the job's gradebook back from the Sở now and flag what differs."""
        job, rows = await run_in_threadpool(self._synced_rows, principal, job_id)
        if job.state in (JobState.SCHEDULED, JobState.QUEUED, JobState.RUNNING):
            raise ApiError(
                409,
                "JOB_ACTIVE",
                "Công việc chưa gửi xong; đối soát sẽ tự chạy khi gửi xong.",
            )
        key = GradebookKey(job.school_year, job.semester, job.class_name, job.subject_code)
        try:
            creds = await run_in_threadpool(credentials, self.db, self.box, job.school_id)
            mismatches = await read_back_and_compare(self.windows.client, creds, key, rows)
        except SoCallFailed as exc:
            raise ApiError(
                503, "SO_UNAVAILABLE", f"Không đọc lại được từ Sở: {exc.message_vi}"
            ) from None
        await run_in_threadpool(self._record_reconcile, job, rows, mismatches)
        events = await run_in_threadpool(
            changes_to_events, self.db, [job.id], [m.row_id for m in mismatches]
        )
        publish(self.publisher, events)

    def _synced_rows(self, principal: Principal, job_id: str) -> tuple[PushJob, list[Any]]:
        with self.db.read_session() as session:
            job = self.visible_job(session, principal, job_id)
            return job, repository.job_rows(session, job.id, [SyncState.SYNCED])

    def _record_reconcile(self, job: PushJob, rows: list[Any], mismatches: list[Any]) -> None:
        now = utcnow()
        with self.db.write_session() as session:
            flag_mismatches(session, job.id, rows, mismatches, now)
            state = "MISMATCH" if mismatches else "OK"
            message = (
                f"Đối soát: {len(mismatches)} dòng trên hệ thống của Sở khác với sổ điểm."
                if mismatches
                else "Đối soát: dữ liệu trên hệ thống của Sở khớp với sổ điểm."
            )
            repository.update_job(
                session,
                job.id,
                reconcile=state,
                mismatches=len(mismatches),
                message=message,
                updated_at=now,
            )
            repository.add_audit(
                session, [job_audit(job, job.state, f"RECONCILE_{state}", message, now)]
            )
            session.commit()

    # -- read side -------------------------------------------------------------------

    def visible_job(self, session: Session, principal: Principal, job_id: str) -> PushJob:
        return access.visible_job(session, principal, job_id)

    def visible_file(self, session: Session, principal: Principal, file_id: str) -> str:
        return access.visible_file(session, principal, file_id)
