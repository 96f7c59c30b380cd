"""Pushing a file: one job per class × subject gradebook, at most one active per gradebook.

The database decides (``INSERT … ON CONFLICT DO NOTHING`` on the active key),
so fifty presses at once make one job; an ``Idempotency-Key`` replays the
first answer. One write transaction per push; events are published and the
worker poked only after it commits.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gradesync.auth.service import Principal
from gradesync.core.db import Database, retry_conflicts, utcnow
from gradesync.core.errors import ApiError
from gradesync.files import repository as files_repository
from gradesync.files.models import FileStatus, GradebookRecord, SyncState
from gradesync.schools.service import UnknownSchoolError
from gradesync.so import SoCallFailed
from gradesync.sync import repository
from gradesync.sync.access import file_not_found
from gradesync.sync.events import Publisher, changes_to_events, publish
from gradesync.sync.models import JobState, PushJob, active_key
from gradesync.sync.results import job_audit, row_audit
from gradesync.sync.retrying import unblock_school
from gradesync.sync.schemas import PushedJob, PushRequest, PushResponse
from gradesync.sync.windows import Verdict, WindowBook

NOT_PUSHABLE = {
    FileStatus.PARSING: "Tệp đang được đọc; hãy gửi lại sau ít giây.",
    FileStatus.REJECTED: (
        "Tệp không phải sổ điểm nên không có gì để gửi; xem lỗi trong tóm tắt tệp."
    ),
}


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


class Pusher:
    def __init__(
        self,
        db: Database,
        windows: WindowBook,
        publisher: Publisher,
        poke: Callable[[], None],
    ) -> None:
        self.db = db
        self.windows = windows
        self.publisher = publisher
        self.poke = poke

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

    @retry_conflicts
    def _create_jobs(
        self,
        school_id: str,
        books: list[GradebookRecord],
        verdicts: dict[Term, Verdict],
        key: str | None,
        request_hash: str,
    ) -> _Pushed:
        now = utcnow()
        # Jobs are locked in one global order (their gradebook's key), so two pushes of
        # different files of a class never wait for each other crosswise (PostgreSQL).
        order = sorted(range(len(books)), key=lambda i: _book_key(school_id, books[i]))
        with self.db.write_session() as session:
            audit: list[dict[str, Any]] = []
            out: dict[int, PushedJob] = {}
            rows: list[int] = []
            created_any = False
            for i in order:
                book = books[i]
                verdict = verdicts[Term(book.school_year, book.semester)]  # type: ignore[arg-type]
                job, created = self._job_for(session, school_id, book, verdict, now, audit)
                created_any |= created
                rows += self._attach(session, job, book, now, audit)
                out[i] = PushedJob(
                    job_id=job.id,
                    class_name=job.class_name,
                    subject_code=job.subject_code,
                    state=JobState(job.state),
                )
            status = 202 if created_any else 200
            body = PushResponse(jobs=[out[i] for i in range(len(books))]).model_dump(mode="json")
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
        return _Pushed(status, body, [j.job_id for j in out.values()], rows)

    def _job_for(
        self,
        session: Session,
        school_id: str,
        book: GradebookRecord,
        verdict: Verdict,
        now: Any,
        audit: list[dict[str, Any]],
    ) -> tuple[PushJob, bool]:
        """The gradebook's active job, row-locked: inserted, or the one already there (the
        DB decides).

        The lock (PostgreSQL ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` serialises
        anyway) makes adding rows to a job and a run's conclusion of it take turns: a
        conclusion either sees the rows this push adds (and requeues the job), or has
        finished the job before we look, and this push makes a new one.
        """
        akey = _book_key(school_id, book)
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
            job = repository.active_job(session, akey, lock=True)
            if job is None:
                continue  # it finished between our insert and our lock: insert again
            if inserted:
                audit.append(job_audit(job, state, "PUSH", message, now, from_state=None))
                return job, True
            if job.state == JobState.BLOCKED:
                unblock_school(session, job.school_id, now, audit, "PUSH_AGAIN")
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
            rejected = repository.rejected_count(session, book.id)  # type: ignore[arg-type]
            if rejected:
                message = (
                    f"Không có dòng nào cần gửi lại: {rejected} dòng đã bị Sở từ chối (xem lý "
                    "do từng dòng) không được gửi lại nguyên như cũ. Sửa các dòng đó trong sổ "
                    "điểm rồi tải lên và bấm «Gửi lên Sở»; nếu lỗi do phía Sở và Sở đã khắc "
                    "phục, cán bộ nhà trường bấm «Gửi lại» ở công việc trước."
                )
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


def _book_key(school_id: str, book: GradebookRecord) -> str:
    """The gradebook's ``active_key`` (its one active job's)."""
    return active_key(
        school_id, book.school_year, book.semester, book.class_name, book.subject_code
    )  # type: ignore[arg-type]
