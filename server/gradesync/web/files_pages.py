"""Staff pages: the school's files, uploading, one file's status, pushing, audit, templates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from gradesync.web import labels
from gradesync.web.api import Api, ApiProblem
from gradesync.web.render import flash, page, templates
from gradesync.web.session import CurrentUser
from gradesync.web.windows import term_window

router = APIRouter(include_in_schema=False)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SEMESTERS = ("HK1", "HK2", "GK1", "CK1", "GK2", "CN")


def api_of(request: Request, user: CurrentUser) -> Api:
    return Api(request.app, user.token)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def _optional(call: Any, default: Any) -> Any:
    """An API read the page can live without: ``default`` when the route is absent."""
    try:
        return await call
    except ApiProblem as problem:
        if problem.status in (404, 405) and problem.code in ("NOT_FOUND", "METHOD_NOT_ALLOWED"):
            return default
        raise


async def _window_of(api: Api, summary: dict[str, Any]) -> dict[str, Any]:
    """The file's term window for ``_window_state.html`` (``window``, ``windows_known``)."""
    windows = await _optional(
        api.get("/api/windows", school_year=summary["school_year"], semester=summary["semester"]),
        None,
    )
    return {
        "window": term_window(windows["windows"]) if windows else None,
        "windows_known": windows is not None,
    }


# -- the school's files and uploading ----------------------------------------------------------


@router.get("/files")
async def files_list(request: Request, user: CurrentUser) -> Response:
    listing = await api_of(request, user).get("/api/files", limit=200)
    return page(request, "files.html", user, files=listing["files"], semesters=SEMESTERS)


@router.post("/files/upload")
async def upload(request: Request, user: CurrentUser) -> Response:
    """Forward the multipart body as it streams in (the API enforces the limits)."""
    api = api_of(request, user)
    try:
        response = await api.request(
            "POST",
            "/api/files",
            headers={"Content-Type": request.headers.get("content-type", "")},
            content=request.stream(),
        )
    except ApiProblem as problem:
        if _wants_json(request):
            return JSONResponse({"error": {"code": problem.code, "message": problem.message}},
                                status_code=problem.status)  # fmt: skip
        redirect = RedirectResponse("/files", status_code=303)
        flash(redirect, f"Chưa tải lên được: {problem.message}", "error")
        return redirect
    summary = response.json()
    url = f"/files/{summary['file_id']}"
    message = (
        "Tệp này đã được tải lên trước đây; đây là kết quả kiểm tra của nó."
        if response.status_code == 200
        else "Đã nhận và kiểm tra tệp."
    )
    done: Response = (
        JSONResponse({"file_id": summary["file_id"], "url": url, "message": message})
        if _wants_json(request)
        else RedirectResponse(url, status_code=303)
    )
    flash(done, message)  # shown by the file page the browser goes to next
    return done


# -- one file -------------------------------------------------------------------------------


@router.get("/files/{file_id}")
async def file_page(
    request: Request,
    file_id: str,
    user: CurrentUser,
    sync: Annotated[str | None, Query()] = None,
    validation: Annotated[str | None, Query()] = None,
    sheet: Annotated[str | None, Query()] = None,
) -> Response:
    api = api_of(request, user)
    summary = await api.get(f"/api/files/{file_id}")
    sync = sync if sync in labels.SYNC else None
    validation = validation if validation in labels.VALIDATION else None
    status = await api.get(f"/grades/status/{file_id}", sync=sync, validation=validation)
    rows = [r for r in status["rows"] if not sheet or r["sheet"] == sheet]
    jobs = (await _optional(api.get(f"/api/files/{file_id}/jobs"), {"jobs": []}))["jobs"]
    return page(
        request,
        "file.html",
        user,
        file=summary,
        counts=status["counts"],
        rows=rows,
        jobs=jobs,
        **await _window_of(api, summary),
        filters={"sync": sync or "", "validation": validation or "", "sheet": sheet or ""},
        script_labels=labels.for_script(),
    )


@router.get("/files/{file_id}/annotated.xlsx")
async def annotated(request: Request, file_id: str, user: CurrentUser) -> Response:
    try:
        upstream = await api_of(request, user).request(
            "GET", f"/api/files/{file_id}/annotated.xlsx"
        )
    except ApiProblem as problem:
        redirect = RedirectResponse(f"/files/{file_id}", status_code=303)
        flash(redirect, f"Chưa tải được bản đánh dấu: {problem.message}", "error")
        return redirect
    return Response(
        upstream.content,
        media_type=XLSX,
        headers={"Content-Disposition": upstream.headers.get("content-disposition", "attachment")},
    )


@router.post("/files/{file_id}/push")
async def push(request: Request, file_id: str, user: CurrentUser) -> Response:
    """Ask to send the whole file (the API makes a job per class × subject)."""
    api = api_of(request, user)
    ok, message, jobs = True, "", []
    try:
        # No Idempotency-Key: a second press while jobs are active gets the same jobs
        # back anyway, and a later press (after fixing rows) must start new ones.
        body = await api.post(f"/api/files/{file_id}/push", {})
        jobs = body.get("jobs", [])
        waiting = all(j["state"] == "SCHEDULED" for j in jobs)
        message = f"Đã yêu cầu gửi {len(jobs)} sổ điểm lên Sở. " + (
            "Các dòng sẽ tự được gửi khi cổng nhập điểm mở."
            if waiting
            else "Các dòng sẽ chuyển màu khi Sở trả kết quả."
        )
    except ApiProblem as problem:
        ok, message = False, f"Chưa gửi được: {problem.message}"
    if _wants_json(request):
        # The push may have taught the server the term's windows: send the box anew.
        summary = await api.get(f"/api/files/{file_id}")
        window_html = templates.get_template("_window_state.html").render(
            file=summary, labels=labels, **await _window_of(api, summary)
        )
        return JSONResponse(
            {"ok": ok, "message": message, "jobs": jobs, "window_html": window_html},
            200 if ok else 409,
        )
    redirect = RedirectResponse(f"/files/{file_id}", status_code=303)
    flash(redirect, message, "ok" if ok else "error")
    return redirect


@router.get("/files/{file_id}/audit")
async def audit(
    request: Request, file_id: str, user: CurrentUser, after: Annotated[int, Query(ge=0)] = 0
) -> Response:
    api = api_of(request, user)
    summary = await api.get(f"/api/files/{file_id}")
    trail = await api.get(f"/api/files/{file_id}/audit", after=after or None, limit=500)
    return page(request, "audit.html", user, file=summary, trail=trail)


# -- templates ----------------------------------------------------------------------------------


@router.get("/templates")
async def templates_page(request: Request, user: CurrentUser) -> Response:
    return page(request, "templates.html", user, semesters=SEMESTERS)


@router.get("/templates/download")
async def template_download(
    request: Request,
    user: CurrentUser,
    class_name: Annotated[str, Query()],
    school_year: Annotated[str, Query()],
    semester: Annotated[str, Query()],
    subject: Annotated[str | None, Query()] = None,
) -> Response:
    params = {"class_name": class_name, "school_year": school_year, "semester": semester}
    if subject:
        params["subject"] = subject
    try:
        upstream = await api_of(request, user).request("GET", "/api/templates", params=params)
    except ApiProblem as problem:
        redirect = RedirectResponse("/templates", status_code=303)
        flash(redirect, f"Chưa tạo được mẫu: {problem.message}", "error")
        return redirect
    return Response(
        upstream.content,
        media_type=XLSX,
        headers={"Content-Disposition": upstream.headers.get("content-disposition", "attachment")},
    )
