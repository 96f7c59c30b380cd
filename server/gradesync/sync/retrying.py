"""Sending again, on staff's explicit request (``POST /api/jobs/{id}/retry``).

- a ``DEAD`` job: its DEAD rows, with a fresh retry budget;
- a ``DONE_WITH_ERRORS`` job: its ``FAILED`` rows, the same payloads the Sở rejected —
  for when the cause was on the Sở's side and is fixed there (a student added to its
  roster, a record unlocked). A press of "Gửi lên Sở" never re-sends a FAILED row;
- a ``BLOCKED`` job: the school's stopped queue (its Sở account was fixed).

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

#: The job states staff can send again, and the row state each re-sends (BLOCKED aside).
RETRIED = {JobState.DEAD: SyncState.DEAD, JobState.DONE_WITH_ERRORS: SyncState.FAILED}


def retry_job(db: Database, principal: Principal, job_id: str) -> tuple[list[str], list[int]]:
    now = utcnow()
    audit: list[dict[str, Any]] = []
    with db.write_session() as session:
        job = visible_job(session, principal, job_id)
        job = repository.lock_job(session, job.id) or job  # take turns with pushes and runs
        if job.state == JobState.BLOCKED:
            ids = unblock_school(session, job.school_id, now, audit, "RETRY")
            repository.add_audit(session, audit)
            session.commit()
            return [job.id, *[i for i in ids if i != job.id]], []
        if job.state not in RETRIED:
            raise ApiError(
                409,
                "NOTHING_TO_RETRY",
                f"Công việc đang ở trạng thái {job.state}: chỉ gửi lại được công việc DEAD "
                "(hết lượt thử), DONE_WITH_ERRORS (có dòng bị Sở từ chối) hoặc BLOCKED (tài "
                "khoản Sở bị từ chối).",
            )
        from_state = RETRIED[JobState(job.state)]
        again = repository.job_rows(session, job.id, [from_state])
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
            # Another job of this gradebook is active: the rows join it.
            akey = active_key(
                job.school_id, job.school_year, job.semester, job.class_name, job.subject_code
            )
            other = repository.active_job(session, akey, lock=True)
            assert other is not None
            target = other
        state = SyncState.SCHEDULED if target.state == JobState.SCHEDULED else SyncState.QUEUED
        repository.set_rows_state(
            session,
            [r.id for r in again],
            state,
            now,
            job_id=target.id,
            attempts=0,
            next_attempt_at=None,
            sync_errors=[],
        )
        audit += [row_audit(r, target.id, from_state, state, "RETRY", None, now) for r in again]
        repository.add_audit(session, audit)
        session.commit()
        return [target.id], [r.id for r in again]


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
