"""Rendering pages: the Jinja2 environment, its filters, flash messages, error pages.

Templates autoescape everything. Times arrive from the API as ISO strings
(already in Asia/Ho_Chi_Minh for the sync API; UTC for file uploads) and are
always shown on the Vietnamese clock.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gradesync.web import labels
from gradesync.web.session import WebUser

HERE = Path(__file__).parent
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FLASH_COOKIE = "gradesync_flash"

templates = Jinja2Templates(directory=HERE / "templates")


def _parse_time(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(VN_TZ)


def vn_time(value: Any, with_seconds: bool = False) -> str:
    """``20/12/2026 07:00`` on the Vietnamese clock (``—`` for nothing)."""
    when = _parse_time(value)
    if when is None:
        return "—"
    return when.strftime("%d/%m/%Y %H:%M:%S" if with_seconds else "%d/%m/%Y %H:%M")


def iso_time(value: Any) -> str:
    """An ISO instant with its offset, for ``<time datetime>`` and the page script."""
    when = _parse_time(value)
    return when.isoformat() if when else ""


def local_input(value: Any) -> str:
    """The value of a ``datetime-local`` input (Vietnamese clock, minutes)."""
    when = _parse_time(value)
    return when.strftime("%Y-%m-%dT%H:%M") if when else ""


def size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


templates.env.filters.update(vn_time=vn_time, iso_time=iso_time, local_input=local_input, size=size)
templates.env.globals.update(labels=labels, tone=labels.tone)


# -- flash messages: one message carried over a redirect (POST → 303 → GET) ---------------


def flash(response: Response, message: str, kind: str = "ok") -> None:
    """Show ``message`` on the next page (``kind``: ``ok`` or ``error``)."""
    raw = json.dumps({"m": message, "k": kind}, ensure_ascii=False).encode()
    value = base64.urlsafe_b64encode(raw).decode()
    response.set_cookie(FLASH_COOKIE, value, path="/", httponly=True, samesite="lax", max_age=60)


def _take_flash(request: Request) -> dict[str, str] | None:
    value = request.cookies.get(FLASH_COOKIE)
    if not value:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(value.encode()))
        return {"message": str(data["m"]), "kind": "error" if data.get("k") == "error" else "ok"}
    except (ValueError, KeyError, TypeError):
        return None


def page(
    request: Request,
    name: str,
    user: WebUser | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``name`` with the layout's context (user, CSRF token, flash message)."""
    message = _take_flash(request)
    response = templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": user.csrf if user else "", "flash": message, **context},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
    if message is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def error_page(
    request: Request, user: WebUser | None, status_code: int, title: str, message: str
) -> HTMLResponse:
    return page(request, "error.html", user, status_code, title=title, message=message)
