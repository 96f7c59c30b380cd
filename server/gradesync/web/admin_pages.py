"""Admin pages: windows, the province's progress, dead letters (also for school staff)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gradesync.web.api import Api, ApiProblem
from gradesync.web.progress import Curve, chart_points, province_totals, synced_curve
from gradesync.web.render import flash, page
from gradesync.web.session import AdminUser, StaffUser, WebUser
from gradesync.web.windows import side_by_side, term_window, window_body

router = APIRouter(include_in_schema=False)

SEMESTERS = ("HK1", "HK2", "GK1", "CK1", "GK2", "CN")
#: With no window open, the curve covers this much of the past.
CURVE_DEFAULT_SPAN = dt.timedelta(hours=24)


# -- windows --------------------------------------------------------------------------------


@router.get("/admin/windows")
async def windows_page(request: Request, user: AdminUser) -> Response:
    windows = (await Api(request.app, user.token).get("/api/windows"))["windows"]
    return page(request, "windows.html", user, terms=side_by_side(windows), semesters=SEMESTERS)


@router.post("/admin/windows")
async def create_window(
    request: Request,
    user: AdminUser,
    school_year: Annotated[str, Form()],
    semester: Annotated[str, Form()],
    opens_at: Annotated[str, Form()],
    closes_at: Annotated[str, Form()],
) -> Response:
    form = (school_year, semester, opens_at, closes_at)
    return await _save_window(request, user, "POST", "/api/windows", form, ("lưu", "đặt"))


@router.get("/admin/windows/{window_id}")
async def edit_window_page(request: Request, window_id: str, user: AdminUser) -> Response:
    windows = (await Api(request.app, user.token).get("/api/windows"))["windows"]
    found = next((w for w in windows if w["id"] == window_id), None)
    if found is None:
        raise ApiProblem(404, "WINDOW_NOT_FOUND", f"Không có đợt mở cổng «{window_id}».")
    return page(request, "window_edit.html", user, window=found, semesters=SEMESTERS)


@router.post("/admin/windows/{window_id}")
async def edit_window(
    request: Request,
    window_id: str,
    user: AdminUser,
    school_year: Annotated[str, Form()],
    semester: Annotated[str, Form()],
    opens_at: Annotated[str, Form()],
    closes_at: Annotated[str, Form()],
) -> Response:
    form = (school_year, semester, opens_at, closes_at)
    path = f"/api/windows/{window_id}"
    return await _save_window(request, user, "PUT", path, form, ("sửa", "sửa"))


async def _save_window(
    request: Request,
    user: WebUser,
    method: str,
    path: str,
    form: tuple[str, str, str, str],
    verbs: tuple[str, str],
) -> Response:
    """Send a window form to the API; back to the list with what happened."""
    failed, done = verbs
    redirect = RedirectResponse("/admin/windows", status_code=303)
    try:
        body = window_body(*form)
        await Api(request.app, user.token).request(method, path, json=body)
    except ValueError:
        flash(redirect, "Giờ mở và giờ đóng phải có đủ ngày và giờ.", "error")
    except ApiProblem as problem:
        flash(redirect, f"Chưa {failed} được đợt mở cổng: {problem.message}", "error")
    else:
        flash(redirect, f"Đã {done} đợt mở cổng {body['semester']} {body['school_year']}.")
    return redirect


# -- the province -----------------------------------------------------------------------------


@router.get("/admin/province")
async def province_page(request: Request, user: AdminUser) -> Response:
    windows = (await Api(request.app, user.token).get("/api/windows"))["windows"]
    open_windows = [w for w in windows if w["status"] == "OPEN"]
    now = dt.datetime.now(dt.UTC)
    start = (
        min(dt.datetime.fromisoformat(w["opens_at_utc"]) for w in open_windows)
        if open_windows
        else now - CURVE_DEFAULT_SPAN
    )

    def read() -> tuple[list[dict], Curve]:
        with request.app.state.db.read_session() as session:
            return province_totals(session), synced_curve(session, start, now)

    schools, curve = await run_in_threadpool(read)
    totals = {
        k: sum(s["counts"][k] for s in schools) for k in ("pending", "synced", "failed", "dead")
    }
    return page(
        request,
        "province.html",
        user,
        schools=schools,
        totals=totals,
        window=term_window(open_windows) if open_windows else None,
        curve=curve,
        polyline=chart_points(curve.points),
        curve_json=[[int(at.timestamp()), n] for at, n in curve.points],
    )


# -- dead letters ---------------------------------------------------------------------------


@router.get("/admin/dead-letters")
async def dead_letters_page(request: Request, user: StaffUser) -> Response:
    letters = (await Api(request.app, user.token).get("/api/dead-letters"))["dead_letters"]
    return page(request, "dead_letters.html", user, letters=letters)


@router.post("/admin/jobs/{job_id}/retry")
async def retry(request: Request, job_id: str, user: StaffUser) -> Response:
    redirect = RedirectResponse("/admin/dead-letters", status_code=303)
    try:
        job = await Api(request.app, user.token).post(f"/api/jobs/{job_id}/retry")
    except ApiProblem as problem:
        flash(redirect, f"Chưa gửi lại được: {problem.message}", "error")
    else:
        flash(
            redirect,
            f"Đã xếp lại lớp {job['class_name']} · môn {job['subject_code']} để gửi lại; "
            "theo dõi ở trang của tệp.",
        )
    return redirect
