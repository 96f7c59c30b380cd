"""Who sees what: a job or file of another school is simply not found (404), as in the
files API."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gradesync.auth.service import Principal
from gradesync.core.errors import ApiError
from gradesync.files import repository as files_repository
from gradesync.sync import repository
from gradesync.sync.models import PushJob


def file_not_found(file_id: str) -> ApiError:
    return ApiError(404, "FILE_NOT_FOUND", f"Không có tệp {file_id} (hoặc tệp thuộc trường khác).")


def job_not_found(job_id: str) -> ApiError:
    return ApiError(
        404, "JOB_NOT_FOUND", f"Không có công việc gửi {job_id} (hoặc thuộc trường khác)."
    )


def visible_job(session: Session, principal: Principal, job_id: str) -> PushJob:
    job = repository.get_job(session, job_id)
    if job is None or not principal.can_access(job.school_id):
        raise job_not_found(job_id)
    return job


def visible_file(session: Session, principal: Principal, file_id: str) -> str:
    if files_repository.get_file_visible(session, principal, file_id) is None:
        raise file_not_found(file_id)
    return file_id
