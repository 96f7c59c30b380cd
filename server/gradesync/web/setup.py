"""Wiring the web pages into the app: ``install_web(app)``, called once by the app factory.

Mounts the page routers and ``/web-static`` (CSS, the page script), and turns
the pages' own exceptions into what a browser should get: a redirect to the
sign-in page, or a Vietnamese error page (never JSON, never a stack trace).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from gradesync.web import admin_pages, auth_pages, files_pages
from gradesync.web.api import ApiProblem
from gradesync.web.render import HERE, error_page
from gradesync.web.session import CsrfRejected, PageForbidden, SignInRequired, find_user

_TITLES = {403: "Không có quyền", 404: "Không tìm thấy", 409: "Chưa làm được", 422: "Chưa hợp lệ"}


def install_web(app: FastAPI) -> None:
    for module in (auth_pages, files_pages, admin_pages):
        app.include_router(module.router)
    app.mount("/web-static", StaticFiles(directory=HERE / "static"), name="web-static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(_request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/sign-in?next={quote(exc.next_path)}", status_code=303)

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden) -> Response:
        return error_page(request, await find_user(request), 403, "Không có quyền", exc.message)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _exc: CsrfRejected) -> Response:
        return error_page(
            request,
            await find_user(request),
            403,
            "Biểu mẫu đã hết hạn",
            "Biểu mẫu này không còn hợp lệ (trang đã mở quá lâu, hoặc được gửi từ trang khác). "
            "Hãy quay lại, tải lại trang rồi làm lại.",
        )

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> Response:
        if exc.status == 401:  # the token was revoked while the session lasted
            return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)
        status = exc.status if exc.status in _TITLES else 502 if exc.status >= 500 else 400
        title = _TITLES.get(exc.status, "Có lỗi")
        return error_page(request, await find_user(request), status, title, exc.message)
