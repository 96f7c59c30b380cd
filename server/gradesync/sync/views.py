"""The read side of the sync API: jobs, dead letters, audit trail and windows as schemas."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gradesync.auth.service import Principal
from gradesync.files.models import SyncState
from gradesync.files.schemas import RowError
from gradesync.sync import repository
from gradesync.sync.models import JobState, PushJob, SyncWindow
from gradesync.sync.schemas import (
    AuditEntry,
    AuditTrail,
    DeadLetter,
    DeadRow,
    JobOut,
    WindowOut,
    vn,
)
from gradesync.sync.windows import WindowBook


def job_out(session: Session, job: PushJob) -> JobOut:
    counts = repository.job_row_counts(session, job.id)
    return JobOut(
        job_id=job.id,
        file_id=job.file_id,
        school_id=job.school_id,
        school_year=job.school_year,
        semester=job.semester,
        class_name=job.class_name,
        subject_code=job.subject_code,
        state=JobState(job.state),
        message=job.message,
        last_error=job.last_error,
        due_at=vn(job.due_at),
        runs=job.runs,
        reconcile=job.reconcile,
        mismatches=job.mismatches,
        rows={SyncState(k): v for k, v in counts.items()},
        created_at=vn(job.created_at),  # type: ignore[arg-type]
        updated_at=vn(job.updated_at),  # type: ignore[arg-type]
        finished_at=vn(job.finished_at),
    )


def dead_letters(session: Session, principal: Principal, limit: int) -> list[DeadLetter]:
    school = None if principal.is_admin else principal.school_id
    out = []
    for job in repository.dead_jobs(session, school, limit):
        rows = repository.job_rows(session, job.id, [SyncState.DEAD])
        out.append(
            DeadLetter(
                job=job_out(session, job),
                rows=[
                    DeadRow(
                        sheet=r.sheet,
                        row=r.row,
                        student_id=r.student_id,
                        attempts=r.attempts,
                        errors=[
                            RowError(code=e.get("code", ""), message=e.get("message", ""))
                            for e in r.sync_errors or []
                        ],
                    )
                    for r in rows
                ],
            )
        )
    return out


def audit_trail(session: Session, file_id: str, after: int, limit: int) -> AuditTrail:
    entries = [
        AuditEntry(
            id=e.id,
            at=vn(e.at),  # type: ignore[arg-type]
            job_id=e.job_id,
            kind=e.kind,
            sheet=e.sheet,
            row=e.row,
            student_id=e.student_id,
            from_state=e.from_state,
            to_state=e.to_state,
            cause=e.cause,
            message=e.message,
        )
        for e in repository.audit_of_file(session, file_id, limit, after)
    ]
    next_after = entries[-1].id if len(entries) == limit else None
    return AuditTrail(file_id=file_id, entries=entries, next_after=next_after)


def window_out(book: WindowBook, w: SyncWindow) -> WindowOut:
    return WindowOut(
        id=w.id,
        source=w.source,
        school_year=w.school_year,
        semester=w.semester,
        opens_at=vn(w.opens_at),  # type: ignore[arg-type]
        closes_at=vn(w.closes_at),  # type: ignore[arg-type]
        opens_at_utc=w.opens_at,
        closes_at_utc=w.closes_at,
        status=book.status(w),
    )
