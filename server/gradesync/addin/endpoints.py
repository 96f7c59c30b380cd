"""HTTP side of the add-in: the xlwings script endpoint, manifest, task pane, static files.

* ``POST /xlwings/custom-scripts-call/{script}`` — xlwings Server's custom-script
  protocol (book JSON in, ``{"actions": …}`` out), Bearer auth like every API call;
* ``GET /manifest``, ``GET /taskpane.html``, ``GET /commands.html`` and
  ``/addin/…`` (scripts, styles, icons) — public: Excel fetches them without
  our token;
* ``GET /api/templates`` — a blank template from the template writer; its
  hidden ``_gradesync`` sheet is how the add-in and the reader recognise it.

``include_addin(app)`` mounts all of it. Public API: :func:`include_addin`,
:data:`router`, :class:`AddinSettings`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Body, FastAPI, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gradesync.addin.book import AddinError, CallerBook
from gradesync.addin.manifest import render_manifest
from gradesync.addin.scripts import SCRIPTS, PushOutcome, ScriptContext
from gradesync.auth.dependencies import CurrentPrincipal
from gradesync.core.errors import ApiError, error_responses
from gradesync.gradebook.templates import TemplateError, TemplateSpec, write_template

STATIC = Path(__file__).parent / "static"

router = APIRouter()


class AddinSettings(BaseSettings):
    """Add-in settings (env prefix ``GRADESYNC_ADDIN_``)."""

    model_config = SettingsConfigDict(env_prefix="GRADESYNC_ADDIN_", extra="ignore")

    public_url: str | None = Field(
        None,
        description="The HTTPS base URL Excel reaches this server at (behind a proxy); "
        "default: the URL of the request for /manifest.",
    )


def _base_url(request: Request) -> str:
    configured = request.app.state.addin_settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


# -- scripts -----------------------------------------------------------------------


@router.post(
    "/xlwings/custom-scripts-call/{script}",
    tags=["add-in"],
    summary="Chạy một script của add-in (giao thức xlwings Server)",
    description="Thân yêu cầu là sổ tính do client xlwings gửi (Office.js hoặc VBA "
    "`RunRemotePython`); trả về `actions` để client thực hiện, và `gradesync` (thông tin cho "
    "bảng trạng thái). Script: `validate_sheet`, `send_to_so`, `refresh_status`.",
    responses=error_responses(401, 404, 422),
)
async def run_script(
    script: str,
    request: Request,
    principal: CurrentPrincipal,
    payload: Annotated[dict[str, Any], Body()],
) -> JSONResponse:
    func = SCRIPTS.get(script)
    if func is None:
        raise ApiError(
            404,
            "UNKNOWN_SCRIPT",
            f"Không có chức năng «{script}». Có: {', '.join(SCRIPTS)}. Hãy cập nhật add-in.",
        )
    try:
        book = CallerBook(payload)
    except AddinError as exc:
        raise ApiError(exc.status_code, exc.code, exc.message) from exc
    authorization = request.headers["authorization"]

    async def push(file_id: str) -> PushOutcome:
        return await push_via_api(request.app, authorization, file_id)

    ctx = ScriptContext(principal, request.app.state.files, push)
    return JSONResponse(await func(book, ctx))


async def push_via_api(app: Any, authorization: str, file_id: str) -> PushOutcome:
    """Ask for the push through ``POST /api/files/{id}/push`` — the contract, in process.

    Going through the endpoint (not a service object) keeps the add-in on the
    same rules as every client (auth, idempotency, windows) whichever way the
    sync engine is built behind it.
    """
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gradesync.local") as c:
        r = await c.post(
            f"/api/files/{file_id}/push",
            json={},
            # No Idempotency-Key: a second press must push again once the first
            # jobs are over (e.g. after a DEAD job); while they are active the
            # server already answers 200 with the same jobs.
            headers={"Authorization": authorization},
            timeout=60,
        )
    try:
        body = r.json()
    except ValueError:
        body = {}
    if r.status_code in (200, 202):
        jobs = body.get("jobs") or []
        states = {j.get("state") for j in jobs}
        when = (
            "Các dòng sẽ tự được gửi khi cổng nhập điểm của Sở mở."
            if states <= {"SCHEDULED"}
            else "Đang gửi; bảng trạng thái và các dòng sẽ đổi màu khi Sở trả kết quả."
        )
        return PushOutcome(True, f"Đã yêu cầu gửi {len(jobs)} sổ điểm lên Sở. {when}", jobs)
    error = body.get("error") or {}
    if r.status_code in (404, 405) and error.get("code") != "FILE_NOT_FOUND":
        return PushOutcome(
            False,
            "Máy chủ này chưa bật chức năng gửi lên Sở; sổ điểm đã được lưu, hãy báo cán bộ "
            "phụ trách của trường.",
            [],
        )
    message = error.get("message") or f"Máy chủ trả lỗi {r.status_code} khi yêu cầu gửi."
    return PushOutcome(False, f"Chưa gửi được: {message}", [])


# -- Office.js files -------------------------------------------------------------------


@router.get("/manifest", tags=["add-in"], summary="Manifest của add-in Office (XML)")
def manifest(request: Request) -> Response:
    return Response(
        render_manifest(_base_url(request)),
        media_type="application/xml",
        headers={"Content-Disposition": 'inline; filename="gradesync-manifest.xml"'},
    )


@router.get("/taskpane.html", tags=["add-in"], summary="Bảng trạng thái (task pane)")
def taskpane() -> FileResponse:
    return FileResponse(STATIC / "taskpane.html", media_type="text/html; charset=utf-8")


@router.get("/commands.html", tags=["add-in"], summary="Các nút trên ribbon (function file)")
def commands() -> FileResponse:
    return FileResponse(STATIC / "commands.html", media_type="text/html; charset=utf-8")


# -- templates -----------------------------------------------------------------------------


@router.get(
    "/api/templates",
    tags=["templates"],
    summary="Tải mẫu sổ điểm trống (xlsx)",
    description="Một lớp (mỗi môn một trang) hoặc một lớp × môn. Trang ẩn `_gradesync` giúp "
    "add-in và máy chủ nhận ra mẫu.",
    response_class=Response,
    responses={
        200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}
    }
    | error_responses(401, 422),
)
def get_template(
    principal: CurrentPrincipal,
    class_name: Annotated[str, Query(examples=["6A1"])],
    school_year: Annotated[str, Query(examples=["2025-2026"])],
    semester: Annotated[str, Query(examples=["HK1"])],
    subject: Annotated[list[str] | None, Query(description="mã môn; bỏ trống: mọi môn")] = None,
    rows: Annotated[int, Query(ge=1, le=200)] = 45,
) -> Response:
    spec = TemplateSpec(
        class_name=class_name,
        school_year=school_year,
        semester=semester.upper(),
        subject_codes=tuple(s.upper() for s in subject or ()),
        school_id=principal.school_id,
        rows=rows,
    )
    out = io.BytesIO()
    try:
        write_template(spec, out)
    except TemplateError as exc:
        raise ApiError(422, "INVALID_TEMPLATE_REQUEST", str(exc)) from exc
    name = spec.filename()
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


def include_addin(app: FastAPI) -> None:
    """Mount the add-in's routes and static files on ``app``."""
    app.state.addin_settings = AddinSettings()
    app.include_router(router)
    app.mount("/addin", StaticFiles(directory=STATIC), name="addin-static")


__all__ = ["AddinSettings", "include_addin", "push_via_api", "router"]
