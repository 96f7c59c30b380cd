"""HTTP endpoints of the sync engine (contracts/api.md: push, jobs, windows, dead letters).

The async handlers (push, retry, reconcile, windows) take no request session:
their services open short sessions of their own, and a request connection held
across their awaits would let fifty concurrent pushes exhaust the pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gradesync.auth.dependencies import CurrentPrincipal, require_roles
from gradesync.auth.models import Role
from gradesync.auth.service import Principal
from gradesync.core.deps import SessionDep
from gradesync.core.errors import ApiError, error_responses
from gradesync.sync import repository
from gradesync.sync.runtime import SyncRuntime
from gradesync.sync.schemas import (
    AuditTrail,
    DeadLetters,
    JobList,
    JobOut,
    PushRequest,
    PushResponse,
    WindowIn,
    WindowList,
    WindowOut,
)
from gradesync.sync.views import audit_trail, dead_letters, job_out, window_out
from gradesync.sync.windows import WindowNotFound, WindowReadOnly

router = APIRouter(tags=["sync"])


def get_runtime(request: Request) -> SyncRuntime:
    return request.app.state.sync


RuntimeDep = Annotated[SyncRuntime, Depends(get_runtime)]


StaffOrAdmin = Annotated[Principal, Depends(require_roles(Role.STAFF, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


@router.post(
    "/api/files/{file_id}/push",
    summary="Gửi tệp lên Sở",
    description="Một công việc cho mỗi sổ điểm lớp × môn của tệp (hoặc sổ được chọn). 202: đã "
    "tạo công việc; 200: đã có công việc đang chờ/đang gửi cho đúng các sổ này (trả lại chính "
    "chúng). Trong giờ mở cổng công việc chạy ngay; trước giờ mở thì được hẹn (SCHEDULED). "
    "Khi chưa biết đợt mở nào, máy chủ hỏi Sở trước; không có đợt nào → 409 WINDOW_NOT_OPEN. "
    "`Idempotency-Key`: lặp lại khoá → câu trả lời đầu tiên; cùng khoá, khác nội dung → 422.",
    response_model=PushResponse,
    status_code=202,
    responses={200: {"description": "Công việc đã có", "model": PushResponse}}
    | error_responses(401, 404, 409, 422, 503),
)
async def push_file(
    file_id: str,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    body: PushRequest | None = None,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    status, content = await runtime.service.push(
        principal, file_id, body or PushRequest(), idempotency_key
    )
    return JSONResponse(content, status_code=status)


@router.get(
    "/api/jobs/{job_id}",
    summary="Một công việc gửi",
    response_model=JobOut,
    responses=error_responses(401, 404),
)
def get_job(
    job_id: str, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> JobOut:
    return job_out(session, runtime.service.visible_job(session, principal, job_id))


@router.get(
    "/api/files/{file_id}/jobs",
    summary="Các công việc gửi của một tệp",
    response_model=JobList,
    responses=error_responses(401, 404),
)
def file_jobs(
    file_id: str, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> JobList:
    runtime.service.visible_file(session, principal, file_id)
    return JobList(jobs=[job_out(session, j) for j in repository.jobs_of_file(session, file_id)])


@router.post(
    "/api/jobs/{job_id}/retry",
    summary="Gửi lại",
    description="Công việc DEAD: các dòng hết lượt thử được gửi lại (lượt thử tính lại từ đầu). "
    "Công việc BLOCKED (tài khoản Sở bị từ chối, đã sửa): hàng đợi của trường chạy lại.",
    response_model=JobOut,
    status_code=202,
    responses=error_responses(401, 403, 404, 409),
)
async def retry_job(job_id: str, principal: StaffOrAdmin, runtime: RuntimeDep) -> JSONResponse:
    status, content = await runtime.service.retry(principal, job_id)
    return JSONResponse(content, status_code=status)


@router.post(
    "/api/jobs/{job_id}/reconcile",
    summary="Đối soát lại với Sở",
    description="Đọc lại sổ điểm từ Sở và so với dữ liệu đã gửi; dòng khác biệt được gắn lỗi "
    "RECONCILE_MISMATCH (và sẽ được gửi lại ở lần gửi sau).",
    response_model=JobOut,
    responses=error_responses(401, 403, 404, 409, 503),
)
async def reconcile(job_id: str, principal: StaffOrAdmin, runtime: RuntimeDep) -> JobOut:
    await runtime.service.reconcile(principal, job_id)
    return JobOut.model_validate(await run_in_threadpool(runtime.service.job_body, job_id))


@router.get(
    "/api/dead-letters",
    summary="Gửi thất bại (hết lượt thử)",
    response_model=DeadLetters,
    responses=error_responses(401, 403),
)
def get_dead_letters(
    principal: StaffOrAdmin,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeadLetters:
    return DeadLetters(dead_letters=dead_letters(session, principal, limit))


@router.get(
    "/api/files/{file_id}/audit",
    summary="Nhật ký gửi của một tệp",
    description="Mọi thay đổi trạng thái của công việc và từng dòng: lúc nào, từ đâu sang đâu, "
    "vì sao. Phân trang bằng `?after=`.",
    response_model=AuditTrail,
    responses=error_responses(401, 404),
)
def get_audit(
    file_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> AuditTrail:
    runtime.service.visible_file(session, principal, file_id)
    return audit_trail(session, file_id, after, limit)


@router.get(
    "/api/windows",
    summary="Các đợt mở cổng nhập điểm",
    description="Lấy từ Sở (định kỳ) và do quản trị đặt. Giờ hiển thị theo Asia/Ho_Chi_Minh; "
    "`status` theo đồng hồ của Sở.",
    response_model=WindowList,
    responses=error_responses(401),
)
def list_windows(
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
    school_year: str | None = None,
    semester: str | None = None,
) -> WindowList:
    found = repository.windows_of(session, school_year, semester)
    return WindowList(windows=[window_out(runtime.windows, w) for w in found])


@router.post(
    "/api/windows",
    summary="Đặt một đợt mở cổng (admin)",
    response_model=WindowOut,
    status_code=201,
    responses=error_responses(401, 403, 422),
)
async def add_window(body: WindowIn, principal: Admin, runtime: RuntimeDep) -> WindowOut:
    _check_window(body)
    window = await run_in_threadpool(
        runtime.windows.set_admin, body.school_year, body.semester, body.opens_at, body.closes_at
    )
    runtime.poke()
    return window_out(runtime.windows, window)


def _check_window(body: WindowIn) -> None:
    if body.closes_at <= body.opens_at:
        raise ApiError(422, "INVALID_WINDOW", "Giờ đóng cổng phải sau giờ mở cổng.")


@router.put(
    "/api/windows/{window_id}",
    summary="Sửa một đợt mở cổng do quản trị đặt (admin)",
    description="Chỉ sửa được đợt do quản trị đặt (`source` = admin); đợt lấy từ Sở chỉ Sở "
    "thay đổi được (409 WINDOW_READ_ONLY). Các công việc đang chờ đợt mở của học kỳ được hẹn "
    "lại theo giờ mới.",
    response_model=WindowOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def edit_window(
    window_id: str, body: WindowIn, principal: Admin, runtime: RuntimeDep
) -> WindowOut:
    _check_window(body)
    try:
        window = await run_in_threadpool(
            runtime.windows.edit_admin,
            window_id,
            body.school_year,
            body.semester,
            body.opens_at,
            body.closes_at,
        )
    except WindowNotFound:
        raise ApiError(
            404, "WINDOW_NOT_FOUND", f"Không có đợt mở cổng «{window_id}»; xem danh sách đợt."
        ) from None
    except WindowReadOnly:
        raise ApiError(
            409,
            "WINDOW_READ_ONLY",
            "Đợt mở cổng này do Sở công bố nên không sửa được ở đây (hệ thống luôn theo lịch "
            "của Sở). Nếu cần thêm thời gian, hãy đặt một đợt mới.",
        ) from None
    runtime.poke()
    return window_out(runtime.windows, window)
