"""Who is using the web pages: the session cookie, CSRF protection, role guards.

Signing in stores the API token in the session cookie (HttpOnly,
SameSite=Lax, Secure over HTTPS); every page re-checks it against the
database, so a revoked token ends its sessions at once.

CSRF: every unsafe request must carry a token — the ``X-CSRF-Token`` header
(scripts), the ``csrf`` form field, or for the no-JavaScript upload form the
``csrf`` query parameter (a streamed multipart body is not parsed before it is
forwarded). For a session it is an HMAC of the session token under a key
derived from the server's secret, so it needs no storage and dies with the
session. The sign-in form, which has no session yet, uses a double-submit
cookie. On top of that a request whose ``Origin`` is another site is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from gradesync.auth.cookie import SESSION_COOKIE, cookie_token, same_origin
from gradesync.auth.models import Role
from gradesync.auth.service import Principal, authenticate

#: Double-submit cookie protecting the sign-in form itself (login CSRF).
SIGN_IN_COOKIE = "gradesync_signin"
#: A session lasts a working day; signing in again is one paste.
SESSION_SECONDS = 12 * 3600


class SignInRequired(Exception):
    """No valid session: the page answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageForbidden(Exception):
    """A valid session whose role may not see this page (a 403 page, in Vietnamese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfRejected(Exception):
    """An unsafe request without a valid CSRF token or from another site."""


@dataclass(frozen=True, slots=True)
class WebUser:
    """The signed-in principal, its token (for in-process API calls) and CSRF token."""

    principal: Principal
    token: str
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin

    @property
    def is_staff(self) -> bool:
        return self.principal.role in (Role.STAFF, Role.ADMIN)


def _csrf_key(request: Request) -> bytes:
    secret = request.app.state.settings.encryption_key
    return hashlib.sha256(b"gradesync-web-csrf\0" + secret).digest()


def csrf_for(request: Request, token: str) -> str:
    """The CSRF token bound to a session token."""
    return hmac.new(_csrf_key(request), token.encode(), hashlib.sha256).hexdigest()


def _principal_of(request: Request, token: str) -> Principal | None:
    with request.app.state.db.read_session() as session:
        return authenticate(session, token)


async def find_user(request: Request) -> WebUser | None:
    """The session's user, or ``None`` (no cookie, unknown or revoked token)."""
    token = cookie_token(request)
    if token is None:
        return None
    principal = await run_in_threadpool(_principal_of, request, token)
    if principal is None:
        return None
    return WebUser(principal, token, csrf_for(request, token))


async def get_user(request: Request) -> WebUser:
    user = await find_user(request)
    if user is None:
        raise SignInRequired(request.url.path)
    if request.method not in ("GET", "HEAD"):
        await check_csrf(request, user.csrf)
    return user


def get_staff(user: Annotated[WebUser, Depends(get_user)]) -> WebUser:
    if not user.is_staff:
        raise PageForbidden(
            "Trang này dành cho cán bộ nhà trường và quản trị Sở. Giáo viên xem và gửi tệp của "
            "mình ở mục «Tệp đã tải lên»."
        )
    return user


def get_admin(user: Annotated[WebUser, Depends(get_user)]) -> WebUser:
    if not user.is_admin:
        raise PageForbidden("Trang này chỉ dành cho quản trị Sở (token admin).")
    return user


CurrentUser = Annotated[WebUser, Depends(get_user)]
StaffUser = Annotated[WebUser, Depends(get_staff)]
AdminUser = Annotated[WebUser, Depends(get_admin)]


async def check_csrf(request: Request, expected: str) -> None:
    """Raise :class:`CsrfRejected` unless the request is same-origin and carries ``expected``."""
    if not same_origin(request):
        raise CsrfRejected
    sent = request.headers.get("x-csrf-token") or request.query_params.get("csrf")
    content_type = request.headers.get("content-type", "")
    if not sent and content_type.startswith("application/x-www-form-urlencoded"):
        sent = str((await request.form()).get("csrf") or "")
    if not sent or not hmac.compare_digest(sent, expected):
        raise CsrfRejected


# -- cookies ---------------------------------------------------------------------------------


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def start_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/")


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def sign_in_csrf(request: Request) -> str:
    """The sign-in form's token: the existing double-submit cookie's value, or a fresh one."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)


def set_sign_in_csrf(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE, value, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )


def safe_next(path: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"
