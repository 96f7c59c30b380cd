"""One error shape for every failure: ``{"error": {"code": …, "message": …}}``.

Codes are stable and upper-case; messages are Vietnamese and tell a teacher
what is wrong and what to do. Unhandled exceptions become a generic 500 that
carries the request id (so support can find the log line) and never a stack
trace.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gradesync.core.logging import current_request_id

log = logging.getLogger("gradesync.errors")


class ApiError(Exception):
    """An error the API reports to the client as is."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(
    status_code: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status_code, headers=headers)


#: Error models for the OpenAPI page (``responses=`` on routes).
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting the error shape for ``statuses``."""
    return {
        s: {
            "description": _STATUS_TEXT.get(s, "Lỗi"),
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        for s in statuses
    }


_STATUS_TEXT = {
    400: "Yêu cầu không hợp lệ",
    401: "Chưa xác thực (thiếu hoặc sai token)",
    403: "Không có quyền",
    404: "Không tìm thấy",
    409: "Xung đột trạng thái",
    413: "Tệp quá lớn",
    415: "Không phải sổ điểm Excel/ODS",
    422: "Dữ liệu không đọc được hoặc không hợp lệ",
    500: "Lỗi máy chủ",
}


def _describe_validation_error(err: Mapping[str, Any]) -> str:
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
    where = ".".join(loc) or "yêu cầu"
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return f"thiếu «{where}»"
    if kind == "enum" and "expected" in ctx:
        return f"«{where}» phải là một trong: {ctx['expected']}"
    if kind.startswith(("int_", "float_")):
        return f"«{where}» phải là số"
    return f"«{where}» không hợp lệ"


def install_error_handlers(app: FastAPI) -> None:
    """Route our errors, routing errors and validation errors into the one shape.

    Unhandled exceptions are :class:`CatchAllMiddleware`'s job.
    """

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            code, message = "NOT_FOUND", f"Không có đường dẫn {request.url.path} trên máy chủ."
        elif exc.status_code == 405:
            code, message = (
                "METHOD_NOT_ALLOWED",
                f"Đường dẫn {request.url.path} không nhận phương thức {request.method}.",
            )
        else:
            code = "HTTP_ERROR"
            message = str(exc.detail) if exc.detail else "Yêu cầu không thực hiện được."
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [_describe_validation_error(e) for e in exc.errors()]
        message = "Tham số không hợp lệ: " + "; ".join(parts) + "."
        return error_response(422, "INVALID_REQUEST", message)


class CatchAllMiddleware:
    """Turns an unhandled exception into the generic 500 (pure ASGI, inside the request id).

    Starlette's own ``Exception`` handler runs outermost, after the request-id
    context is gone; catching here keeps the id in the log line, the message
    and the ``X-Request-ID`` header. The log line carries the exception type
    and traceback but not its text, which may quote personal data.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.error(
                "unhandled %s on %s %s\n%s",
                type(exc).__name__,
                scope.get("method"),
                scope.get("path"),
                "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
            )
            if started:
                raise  # too late for a JSON body; the server drops the connection
            response = error_response(
                500,
                "INTERNAL_ERROR",
                "Máy chủ gặp lỗi ngoài dự kiến; dữ liệu đã lưu không bị ảnh hưởng. Hãy thử lại "
                "sau ít phút, nếu vẫn lỗi hãy báo quản trị kèm mã yêu cầu "
                f"{current_request_id()}.",
            )
            await response(scope, receive, send)
