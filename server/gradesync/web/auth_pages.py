"""Signing in with an API token, signing out, and the front door (``/``)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gradesync.auth.service import Principal, authenticate
from gradesync.web.render import page
from gradesync.web.session import (
    CsrfRejected,
    CurrentUser,
    end_session,
    find_user,
    safe_next,
    same_origin,
    set_sign_in_csrf,
    sign_in_csrf,
    start_session,
)

router = APIRouter(include_in_schema=False)


def home_of(principal: Principal) -> str:
    return "/admin/province" if principal.is_admin else "/files"


@router.get("/")
async def front_door(request: Request) -> Response:
    user = await find_user(request)
    return RedirectResponse(home_of(user.principal) if user else "/sign-in", status_code=303)


def _sign_in_page(
    request: Request, next_path: str, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    csrf = sign_in_csrf(request)
    response = page(
        request, "sign_in.html", None, status_code, sign_in_csrf=csrf, next=next_path, error=error
    )
    set_sign_in_csrf(request, response, csrf)
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, next: str | None = None) -> Response:
    user = await find_user(request)
    if user is not None:
        return RedirectResponse(safe_next(next) if next else home_of(user.principal), 303)
    return _sign_in_page(request, safe_next(next))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    token: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    expected = request.cookies.get("gradesync_signin", "")
    if not same_origin(request) or not expected or not hmac.compare_digest(csrf, expected):
        raise CsrfRejected
    token = token.strip()

    def check() -> Principal | None:
        with request.app.state.db.read_session() as session:
            return authenticate(session, token)

    principal = await run_in_threadpool(check) if token else None
    if principal is None:
        return _sign_in_page(
            request,
            safe_next(next),
            "Token không đúng hoặc đã bị thu hồi. Dán lại nguyên token (bắt đầu bằng «gs_») "
            "do quản trị cấp bằng lệnh «gradesync token create».",
            status_code=401,
        )
    target = safe_next(next)
    response = RedirectResponse(home_of(principal) if target == "/" else target, 303)
    start_session(request, response, token)
    return response


@router.post("/sign-out")
async def sign_out(user: CurrentUser) -> Response:
    response = RedirectResponse("/sign-in", status_code=303)
    end_session(response)
    return response
