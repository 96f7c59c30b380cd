"""Sending again: a DEAD job's rows with a fresh retry budget, or a BLOCKED school's queue.

Each is one short write transaction; the caller publishes events and pokes the
worker after it commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gradesync.auth.service import Principal
from gradesync.core.db import Database, utcnow
from gradesync.core.errors import ApiError
from gradesync.files.models import SyncState
from gradesync.sync import repository
from gradesync.sync.access import visible_job
from gradesync.sync.models import JobState, active_key
from gradesync.sync.results import job_audit, row_audit


def retry_job(db: Database, principal: Principal, job_id: str) -> tuple[list[str], list[int]]:
    now = utcnow()
    audit: list[dict[str, Any]] = []
    with db.write_session() as session:
        job = visible_job(session, principal, job_id)
        if job.state == JobState.BLOCKED:
            ids = unblock_school(session, job.school_id, now, audit, "RETRY")
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
        audit += [row_audit(r, target.id, SyncState.DEAD, state, "RETRY", None, now) for r in dead]
        repository.add_audit(session, audit)
        session.commit()
        return [target.id], [r.id for r in dead]


def unblock_school(
    session: Session, school_id: str, now: Any, audit: list[dict[str, Any]], cause: str
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
