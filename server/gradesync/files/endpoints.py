"""HTTP endpoints of the files API (contracts/api.md)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from gradesync.auth.dependencies import CurrentPrincipal
from gradesync.core.deps import SessionDep
from gradesync.core.errors import error_responses
from gradesync.files.models import SyncState, Validation
from gradesync.files.schemas import FileList, FileRowsStatus, FileSummary
from gradesync.files.service import FileService
from gradesync.files.upload import receive_upload

router = APIRouter(tags=["files"])


def get_file_service(request: Request) -> FileService:
    return request.app.state.files


FileServiceDep = Annotated[FileService, Depends(get_file_service)]

_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "Sổ điểm .xlsx, .xlsm, .xls hoặc .ods (nhận theo nội dung)",
                    },
                    "school_year": {"type": "string", "example": "2025-2026"},
                    "semester": {
                        "type": "string",
                        "enum": ["HK1", "HK2", "GK1", "CK1", "GK2", "CN"],
                    },
                    "class_name": {"type": "string", "example": "6A1"},
                    "subject_code": {"type": "string", "example": "TOAN"},
                    "school_id": {
                        "type": "string",
                        "description": "Chỉ với token admin: tệp thuộc trường nào",
                    },
                },
            }
        }
    },
}


@router.post(
    "/api/files",
    summary="Tải lên sổ điểm",
    description="Lưu tệp bền vững (fsync) rồi mới trả lời; đọc, kiểm tra và đưa từng dòng vào "
    "hàng chờ. 201: tệp mới; 200: trường này đã tải đúng tệp này (cùng sha256). Tệp lớn hơn "
    "ngưỡng đọc ngay được trả về với trạng thái PARSING và được đọc ở nền.",
    response_model=FileSummary,
    status_code=201,
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={200: {"description": "Đã có (cùng trường, cùng nội dung)", "model": FileSummary}}
    | error_responses(401, 403, 413, 415, 422),
)
async def upload_file(
    request: Request, principal: CurrentPrincipal, service: FileServiceDep, response: Response
) -> FileSummary:
    received = await receive_upload(request, service.store, service.settings.max_upload_bytes)
    summary, created = await run_in_threadpool(service.accept_upload, principal, received)
    response.status_code = 201 if created else 200
    return summary


@router.get(
    "/api/files",
    summary="Danh sách tệp",
    description="Tệp của trường mình (admin: mọi trường), mới nhất trước.",
    response_model=FileList,
    responses=error_responses(401, 422),
)
def list_files(
    principal: CurrentPrincipal,
    session: SessionDep,
    service: FileServiceDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> FileList:
    return FileList(files=service.list_files(session, principal, limit=limit, offset=offset))


@router.get(
    "/api/files/{file_id}",
    summary="Tóm tắt tệp",
    response_model=FileSummary,
    responses=error_responses(401, 404),
)
def get_file(
    file_id: str, principal: CurrentPrincipal, session: SessionDep, service: FileServiceDep
) -> FileSummary:
    return service.summary(session, principal, file_id)


@router.get(
    "/grades/status/{file_id}",
    summary="Trạng thái từng dòng",
    description="Mỗi học sinh × sổ điểm của tệp: kết quả kiểm tra và trạng thái gửi Sở. "
    "Lọc bằng `?sync=FAILED`, `?validation=INVALID`.",
    response_model=FileRowsStatus,
    responses=error_responses(401, 404, 422),
)
def get_row_status(
    file_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    service: FileServiceDep,
    sync: Annotated[
        SyncState | None, Query(description="chỉ các dòng ở trạng thái gửi này")
    ] = None,
    validation: Annotated[Validation | None, Query(description="VALID hoặc INVALID")] = None,
) -> FileRowsStatus:
    return service.row_status(session, principal, file_id, sync=sync, validation=validation)


@router.get(
    "/api/files/{file_id}/annotated.xlsx",
    summary="Tải bản sổ điểm đã đánh dấu",
    description="Sổ điểm gốc, mỗi dòng tô xanh (đã lên Sở), đỏ (lỗi dữ liệu hoặc Sở từ chối, "
    "lý do ở chú thích ô) hoặc xám (chưa gửi/đang gửi), thêm cột trạng thái.",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                }
            },
            "description": "Tệp .xlsx",
        }
    }
    | error_responses(401, 404, 409),
)
def get_annotated(
    file_id: str, principal: CurrentPrincipal, session: SessionDep, service: FileServiceDep
) -> Response:
    data, name = service.annotated(session, principal, file_id)
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": _attachment(name)},
    )


def _attachment(name: str) -> str:
    """A Content-Disposition with an ASCII fallback and the Vietnamese name (RFC 6266)."""
    fallback = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
