"""Whole-request errors of the contract, raised anywhere and answered as JSON."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse


class SoError(Exception):
    """An answer other than 200: ``status`` with a JSON ``body`` (and extra headers)."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("error", status))
        self.status = status
        self.body = body
        self.headers = headers or {}


def bad_request(message: str) -> SoError:
    return SoError(400, {"error": "BAD_REQUEST", "message": message})


async def so_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SoError)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)
