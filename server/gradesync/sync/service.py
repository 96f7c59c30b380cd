"""The sync API's unit of work: push, retry, reconcile on demand, and the read side.

Every write is one short transaction owned here; events are published and
the worker poked only after it commits. Scoping follows the files API: a job
or file of another school is simply not found (404).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gradesync.auth.service import Principal
from gradesync.core.crypto import SecretBox
from gradesync.core.db import Database, utcnow
from gradesync.core.errors import ApiError
from gradesync.files import repository as files_repository
from gradesync.files.models import FileStatus, GradebookRecord, SyncState
from gradesync.schools.service import UnknownSchoolError
from gradesync.so import GradebookKey, SoCallFailed
from gradesync.sync import repository
from gradesync.sync.events import Publisher, changes_to_events, publish
from gradesync.sync.gateway import credentials
from gradesync.sync.models import JobState, PushJob, active_key
from gradesync.sync.reconcile import flag_mismatches, read_back_and_compare
from gradesync.sync.results import job_audit, row_audit
from gradesync.sync.schemas import PushedJob, PushRequest, PushResponse
from gradesync.sync.settings import SyncSettings
from gradesync.sync.views import job_out
from gradesync.sync.windows import Verdict, WindowBook

NOT_PUSHABLE = {
    FileStatus.PARSING: "Tệp đang được đọc; hãy gửi lại sau ít giây.",
    FileStatus.REJECTED: (
        "Tệp không phải sổ điểm nên không có gì để gửi; xem lỗi trong tóm tắt tệp."
    ),
}


def file_not_found(file_id: str) -> ApiError:
    return ApiError(404, "FILE_NOT_FOUND", f"Không có tệp {file_id} (hoặc tệp thuộc trường khác).")


def job_not_found(job_id: str) -> ApiError:
    return ApiError(
        404, "JOB_NOT_FOUND", f"Không có công việc gửi {job_id} (hoặc thuộc trường khác)."
    )


@dataclass(frozen=True, slots=True)
class Term:
    school_year: str
    semester: str


@dataclass(slots=True)
class _Pushed:
    status: int
    body: dict[str, Any]
    jobs: list[str]
    rows: list[int]


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

    # -- push ------------------------------------------------------------------------

    async def push(
        self, principal: Principal, file_id: str, request: PushRequest, key: str | None
    ) -> tuple[int, dict[str, Any]]:
        """Create (or find) the jobs of a push; ``(HTTP status, body)``."""
        school_id, books = await run_in_threadpool(self._pushable, principal, file_id, request)
        request_hash = hashlib.sha256(
            json.dumps([file_id, request.model_dump()], sort_keys=True).encode()
        ).hexdigest()
        if key is not None:
            replay = await run_in_threadpool(self._replay, school_id, key, request_hash)
            if replay is not None:
                return replay
        verdicts: dict[Term, Verdict] = {}
        for term in {Term(b.school_year, b.semester) for b in books}:  # type: ignore[arg-type]
            verdicts[term] = await self._verdict(school_id, term)
        pushed = await run_in_threadpool(
            self._create_jobs, school_id, books, verdicts, key, request_hash
        )
        if pushed.jobs:
            events = await run_in_threadpool(changes_to_events, self.db, pushed.jobs, pushed.rows)
            publish(self.publisher, events)
            self.poke()
        return pushed.status, pushed.body

    def _pushable(
        self, principal: Principal, file_id: str, request: PushRequest
    ) -> tuple[str, list[GradebookRecord]]:
        with self.db.read_session() as session:
            file = files_repository.get_file_visible(session, principal, file_id)
            if file is None:
                raise file_not_found(file_id)
            if file.status in NOT_PUSHABLE:
                raise ApiError(409, "FILE_NOT_STAGED", NOT_PUSHABLE[FileStatus(file.status)])
            books = files_repository.gradebooks_of(session, [file.id])[file.id]
        if request.class_name or request.subject_code:
            books = [
                b
                for b in books
                if (not request.class_name or b.class_name == request.class_name)
                and (not request.subject_code or b.subject_code == request.subject_code)
            ]
            if not books:
                raise ApiError(
                    404,
                    "GRADEBOOK_NOT_FOUND",
                    f"Tệp không có sổ điểm lớp {request.class_name or '(bất kỳ)'} môn "
                    f"{request.subject_code or '(bất kỳ)'}; xem danh sách trang tính trong "
                    "tóm tắt tệp.",
                )
        ready = [
            b for b in books if b.class_name and b.subject_code and b.school_year and b.semester
        ]
        if not ready:
            raise ApiError(
                422,
                "GRADEBOOK_INCOMPLETE",
                "Sổ điểm chưa ghi rõ lớp, môn, năm học hoặc học kỳ nên chưa gửi được. Ghi các "
                "thông tin này ở đầu trang tính (hoặc chọn khi tải lên) rồi tải lên lại.",
            )
        return file.school_id, ready

    def _replay(self, school_id: str, key: str, request_hash: str) -> tuple[int, dict] | None:
        with self.db.read_session() as session:
            stored = repository.get_idempotency(session, school_id, key)
        if stored is None:
            return None
        if stored.request_hash != request_hash:
            raise ApiError(
                422,
                "IDEMPOTENCY_KEY_REUSED",
                "Idempotency-Key này đã được dùng cho một yêu cầu gửi khác (khác tệp hoặc khác "
                "sổ điểm). Mỗi yêu cầu khác nhau cần một khoá mới.",
            )
        return stored.status_code, stored.response

    async def _verdict(self, school_id: str, term: Term) -> Verdict:
        verdict = await run_in_threadpool(self.windows.verdict, term.school_year, term.semester)
        if verdict.open is None and verdict.upcoming is None:
            try:
                verdict = await self.windows.refresh(school_id, term.school_year, term.semester)
            except (SoCallFailed, UnknownSchoolError) as exc:
                detail = exc.message_vi if isinstance(exc, SoCallFailed) else str(exc)
                raise ApiError(
                    503,
                    "SO_UNAVAILABLE",
                    "Chưa biết lịch mở cổng nhập điểm và không hỏi được Sở lúc này "
                    f"({detail}). Hãy thử gửi lại sau ít phút.",
                ) from None
        if verdict.open is None and verdict.upcoming is None:
            raise ApiError(
                409,
                "WINDOW_NOT_OPEN",
                f"Sở chưa mở và chưa công bố đợt nhập điểm nào cho {term.semester} năm học "
                f"{term.school_year}. Dữ liệu đã được lưu; hãy bấm «Gửi lên Sở» khi Sở thông "
                "báo lịch mở cổng.",
            )
        return verdict

    def _create_jobs(
        self,
        school_id: str,
        books: list[GradebookRecord],
        verdicts: dict[Term, Verdict],
        key: str | None,
        request_hash: str,
    ) -> _Pushed:
        now = utcnow()
        with self.db.write_session() as session:
            audit: list[dict[str, Any]] = []
            out: list[PushedJob] = []
            rows: list[int] = []
            created_any = False
            for book in books:
                verdict = verdicts[Term(book.school_year, book.semester)]  # type: ignore[arg-type]
                job, created = self._job_for(session, school_id, book, verdict, now, audit)
                created_any |= created
                rows += self._attach(session, job, book, now, audit)
                out.append(
                    PushedJob(
                        job_id=job.id,
                        class_name=job.class_name,
                        subject_code=job.subject_code,
                        state=JobState(job.state),
                    )
                )
            status = 202 if created_any else 200
            body = PushResponse(jobs=out).model_dump(mode="json")
            if key is not None and not repository.insert_idempotency(
                session,
                {
                    "school_id": school_id,
                    "key": key,
                    "request_hash": request_hash,
                    "status_code": status,
                    "response": body,
                    "created_at": now,
                },
            ):
                # The same key raced in concurrently and won: answer what it answered.
                session.rollback()
                replay = self._replay(school_id, key, request_hash)
                assert replay is not None
                return _Pushed(replay[0], replay[1], [], [])
            repository.add_audit(session, audit)
            session.commit()
        return _Pushed(status, body, [j.job_id for j in out], rows)

    def _job_for(
        self,
        session: Session,
        school_id: str,
        book: GradebookRecord,
        verdict: Verdict,
        now: Any,
        audit: list[dict[str, Any]],
    ) -> tuple[PushJob, bool]:
        """The gradebook's active job: inserted, or the one already there (the DB decides)."""
        akey = active_key(
            school_id, book.school_year, book.semester, book.class_name, book.subject_code
        )  # type: ignore[arg-type]
        if verdict.open is not None:
            state, due, message = JobState.QUEUED, now, None
        else:
            assert verdict.upcoming is not None
            state, due = JobState.SCHEDULED, self.windows.due_at(verdict.upcoming)
            message = "Chờ cổng nhập điểm của Sở mở; sẽ tự gửi."
        while True:
            job_id = str(uuid.uuid4())
            inserted = repository.insert_active_job(
                session,
                {
                    "id": job_id,
                    "school_id": school_id,
                    "school_year": book.school_year,
                    "semester": book.semester,
                    "class_name": book.class_name,
                    "subject_code": book.subject_code,
                    "file_id": book.file_id,
                    "gradebook_id": book.id,
                    "state": state,
                    "active_key": akey,
                    "due_at": due,
                    "message": message,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            job = repository.active_job(session, akey)
            if job is None:
                continue  # it finished between our insert and our read: insert again
            if inserted:
                audit.append(job_audit(job, state, "PUSH", message, now, from_state=None))
                return job, True
            if job.state == JobState.BLOCKED:
                self._unblock(session, job.school_id, now, audit, "PUSH_AGAIN")
                session.refresh(job)
            return job, False

    def _attach(
        self,
        session: Session,
        job: PushJob,
        book: GradebookRecord,
        now: Any,
        audit: list[dict[str, Any]],
    ) -> list[int]:
        """Put the gradebook's sendable rows into the job; settle unchanged ones at once."""
        ids = repository.sendable_rows(session, book.id)  # type: ignore[arg-type]
        state = SyncState.SCHEDULED if job.state == JobState.SCHEDULED else SyncState.QUEUED
        briefs = repository.row_brief(session, ids)
        repository.set_rows_state(
            session,
            ids,
            state,
            now,
            job_id=job.id,
            attempts=0,
            next_attempt_at=None,
            sync_errors=[],
            synced_at=None,
        )
        audit += [row_audit(r, job.id, r.sync_state, state, "PUSH", None, now) for r in briefs]
        unchanged = repository.unchanged_rows(session, job.id)
        message = "Dữ liệu không đổi so với lần gửi thành công trước: không cần gửi lại."
        repository.set_rows_state(session, unchanged, SyncState.SYNCED, now, synced_at=now)
        by_id = {r.id: r for r in briefs}
        audit += [
            row_audit(by_id[i], job.id, state, SyncState.SYNCED, "UNCHANGED", message, now)
            for i in unchanged
            if i in by_id
        ]
        if job.state in (JobState.SCHEDULED, JobState.QUEUED) and not repository.job_rows(
            session, job.id, repository.ROW_PENDING
        ):
            counts = repository.job_row_counts(session, job.id)
            final = JobState.DONE if not counts.get(SyncState.FAILED) else JobState.DONE_WITH_ERRORS
            message = "Không có dòng nào cần gửi: mọi dòng hợp lệ đã có trên hệ thống của Sở."
            audit.append(job_audit(job, final, "NOTHING_TO_SEND", message, now))
            repository.update_job(
                session,
                job.id,
                state=final,
                active_key=None,
                due_at=None,
                message=message,
                finished_at=now,
                updated_at=now,
            )
            session.refresh(job)
        return ids

    # -- retry -----------------------------------------------------------------------

    async def retry(self, principal: Principal, job_id: str) -> tuple[int, dict[str, Any]]:
        job_ids, rows = await run_in_threadpool(self._retry, principal, job_id)
        publish(self.publisher, await run_in_threadpool(changes_to_events, self.db, job_ids, rows))
        self.poke()
        return 202, await run_in_threadpool(self.job_body, job_ids[0])

    def job_body(self, job_id: str) -> dict[str, Any]:
        with self.db.read_session() as session:
            job = repository.get_job(session, job_id)
            assert job is not None
            return job_out(session, job).model_dump(mode="json")

    def _retry(self, principal: Principal, job_id: str) -> tuple[list[str], list[int]]:
        now = utcnow()
        audit: list[dict[str, Any]] = []
        with self.db.write_session() as session:
            job = self.visible_job(session, principal, job_id)
            if job.state == JobState.BLOCKED:
                ids = self._unblock(session, job.school_id, now, audit, "RETRY")
                repository.add_audit(session, audit)
                session.commit()
                return [job.id, *[i for i in ids if i != job.id]], []
            if job.state != JobState.DEAD:
                raise ApiError(
                    409,
                    "NOTHING_TO_RETRY",
                    f"Công việc đang ở trạng thái {job.state}: chỉ gửi lại được công việc DEAD "
                    "(hết lượt thử) hoặc BLOCKED (tài khoản Sở bị từ chối). Dòng bị Sở từ chối "
                    "(FAILED) cần sửa trong sổ điểm rồi bấm «Gửi lên Sở».",
                )
            dead = repository.job_rows(session, job.id, [SyncState.DEAD])
            target = job
            try:
                with session.begin_nested():
                    repository.update_job(
                        session,
                        job.id,
                        state=JobState.QUEUED,
                        due_at=now,
                        finished_at=None,
                        active_key=active_key(
                            job.school_id,
                            job.school_year,
                            job.semester,
                            job.class_name,
                            job.subject_code,
                        ),
                        message="Cán bộ đã yêu cầu gửi lại.",
                        last_error=None,
                        crashes=0,
                        updated_at=now,
                    )
                audit.append(job_audit(job, JobState.QUEUED, "RETRY", None, now))
            except IntegrityError:
                # Another job of this gradebook is active: the dead rows join it.
                akey = active_key(
                    job.school_id, job.school_year, job.semester, job.class_name, job.subject_code
                )
                other = repository.active_job(session, akey)
                assert other is not None
                target = other
            state = SyncState.SCHEDULED if target.state == JobState.SCHEDULED else SyncState.QUEUED
            repository.set_rows_state(
                session,
                [r.id for r in dead],
                state,
                now,
                job_id=target.id,
                attempts=0,
                next_attempt_at=None,
                sync_errors=[],
            )
            audit += [
                row_audit(r, target.id, SyncState.DEAD, state, "RETRY", None, now) for r in dead
            ]
            repository.add_audit(session, audit)
            session.commit()
            return [target.id], [r.id for r in dead]

    def _unblock(
        self, session: Session, school_id: str, now: Any, audit: list[dict[str, Any]], cause: str
    ) -> list[str]:
        """Restart a school's stopped queue (after its Sở account was fixed)."""
        ids = repository.blocked_jobs(session, school_id)
        for job_id in ids:
            job = repository.get_job(session, job_id)
            assert job is not None
            audit.append(job_audit(job, JobState.QUEUED, cause, None, now))
            repository.update_job(
                session,
                job_id,
                state=JobState.QUEUED,
                due_at=now,
                message=None,
                last_error=None,
                updated_at=now,
            )
        return ids

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
        job = repository.get_job(session, job_id)
        if job is None or not principal.can_access(job.school_id):
            raise job_not_found(job_id)
        return job

    def visible_file(self, session: Session, principal: Principal, file_id: str) -> str:
        if files_repository.get_file_visible(session, principal, file_id) is None:
            raise file_not_found(file_id)
        return file_id
