"""The pages' only way to the data: the JSON API, called in process with the session's token.

Going through the endpoints of contracts/api.md — not the services behind
them — keeps the pages on exactly the rules every client lives by (auth,
school scoping, idempotency, windows) and lets each backend part change its
insides freely; the add-in does the same (``push_via_api``). The call never
leaves the process (httpx's ASGI transport), and carries the page request's
id so both log lines can be matched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from fastapi import FastAPI

from gradesync.core.logging import current_request_id

_BASE = "http://gradesync.internal"
#: Pushes and uploads may parse or ask the Sở for its windows first.
_TIMEOUT = 120.0


class ApiProblem(Exception):
    """An API error, as the API said it: status, stable code, Vietnamese message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @classmethod
    def of(cls, response: httpx.Response) -> ApiProblem:
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        return cls(
            response.status_code,
            str(error.get("code") or f"HTTP_{response.status_code}"),
            str(error.get("message") or f"Máy chủ trả lỗi {response.status_code}."),
        )


class Api:
    """JSON API calls on behalf of one signed-in user."""

    def __init__(self, app: FastAPI, token: str) -> None:
        self._app = app
        self._token = token

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self._app),
            base_url=_BASE,
            headers=self._headers(),
            timeout=_TIMEOUT,
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._token}"}
        request_id = current_request_id()
        if request_id != "-":
            headers["X-Request-ID"] = request_id
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        content: AsyncIterator[bytes] | None = None,
    ) -> httpx.Response:
        """The raw response; :class:`ApiProblem` for any status ≥ 400."""
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        async with self._client() as client:
            response = await client.request(
                method, path, params=clean, json=json, headers=headers, content=content
            )
        if response.status_code >= 400:
            raise ApiProblem.of(response)
        return response

    async def get(self, path: str, **params: Any) -> Any:
        return (await self.request("GET", path, params=params)).json()

    async def post(
        self, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        return (await self.request("POST", path, json=body, headers=headers)).json()
