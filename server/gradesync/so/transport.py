"""The HTTP exchange with the Sở: the only module that imports httpx.

Everything above this module sees :class:`Reply` (status, headers, parsed
body, and the monotonic instants the exchange started and ended, which the
clock needs) or :class:`ExchangeFailed` (no HTTP answer at all: reset,
refused, timeout). Swapping httpx for another client means rewriting this
file only.

The transport also owns the limits toward the Sở, shared by every school and
every call of the client — first attempts and retries alike:

- **concurrency**: a semaphore and a connection pool of the same size.
  httpx's pool degrades sharply past about 32 concurrent requests
  (encode/httpx#3215; see ``bench/push_client.py``), so the limit is capped at
  :data:`MAX_CONCURRENCY`;
- **pace**: the :class:`~gradesync.so.pacing.Pacer`'s gate (closed by a 429's
  ``Retry-After`` for the whole client) and its rate learnt from 429s. Every
  request passes it, and every answer (or the lack of one) is reported to it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from gradesync.so.pacing import Pacer, retry_after_seconds

MAX_CONCURRENCY = 32

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore imports sniffio inside every request to learn the event loop, and falls
    # back to asyncio when it is missing; a missing module is not cached by Python, so
    # each request searched sys.path on disk again (about a twelfth of a worker's CPU
    # during a drain). ``None`` in sys.modules makes that import fail at once.
    sys.modules["sniffio"] = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer from the Sở.

    ``body`` is the decoded JSON, or ``None`` when the body was empty or not
    JSON (``raw`` keeps the bytes for diagnostics; never log it: it may carry
    names and scores). ``sent`` and ``received`` are :func:`time.monotonic`
    instants bracketing the exchange.
    """

    status: int
    headers: Mapping[str, str]
    body: Any
    raw: bytes
    sent: float
    received: float

    @property
    def round_trip(self) -> float:
        return self.received - self.sent

    def error_code(self) -> str | None:
        """The ``"error"`` field of a JSON object body, if any."""
        if isinstance(self.body, dict):
            code = self.body.get("error")
            return code if isinstance(code, str) else None
        return None


class ExchangeFailed(Exception):
    """No HTTP answer: the connection was refused, reset or timed out.

    The request may or may not have reached the Sở (a reset after storing is
    indistinguishable from one before), so callers treat it as transient and
    rely on the Sở's upserts to make a replay safe.
    """


class Transport:
    """A pooled HTTP client bounded to ``max_concurrency`` requests in flight."""

    def __init__(
        self,
        base_url: str,
        *,
        max_concurrency: int = 16,
        timeout: float = 30.0,
        pacer: Pacer | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not 1 <= max_concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"max_concurrency must be in 1..{MAX_CONCURRENCY}")
        self.pacer = pacer or Pacer()
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(
                max_connections=max_concurrency, max_keepalive_connections=max_concurrency
            ),
            transport=http_transport,
            follow_redirects=False,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request and return its answer, whatever its status.

        Raises :class:`ExchangeFailed` when there is no answer to return.
        """
        content: bytes | None = None
        all_headers = dict(headers or {})
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
            all_headers["Content-Type"] = "application/json"
        async with self._semaphore:
            # Inside the semaphore: nothing leaves while the gate is closed, and the
            # pace spaces the requests as they are actually sent.
            ticket = await self.pacer.admit()
            sent = time.monotonic()
            try:
                response = await self._http.request(
                    method, path, params=params, content=content, data=form, headers=all_headers
                )
            except httpx.TransportError as exc:
                self.pacer.answered(ticket, None, None)
                # The type name says what happened (ReadTimeout, RemoteProtocolError…)
                # without echoing the request, which may carry secrets or grades.
                raise ExchangeFailed(type(exc).__name__) from exc
            received = time.monotonic()
        self.pacer.answered(ticket, response.status_code, retry_after_seconds(response.headers))
        raw = response.content
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        return Reply(response.status_code, response.headers, body, raw, sent, received)

    async def aclose(self) -> None:
        await self._http.aclose()
