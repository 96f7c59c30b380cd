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
import select
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpcore
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
        if http_transport is None:
            _cheap_idle_checks(self._http)

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


# -- cheaper idle-connection checks ------------------------------------------------
#
# Before each request and after each response httpcore's pool asks every pooled
# connection whether it expired; for an idle one that is ``is_readable`` of its
# stream, which anyio answers by building its table of socket attributes (calling
# getpeername) before the readability poll: about a twelfth of a worker's CPU
# during a drain. Our streams keep the raw socket and only poll it.


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's stream, answering ``is_readable`` with one poll of the kept socket."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            if self._socket.fileno() == -1:
                return True  # closed: httpcore then drops the connection
            readable, _, _ = select.select([self._socket], [], [], 0)
            return bool(readable)
        return self._inner.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, its streams wrapped in :class:`_Stream`."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _cheap_idle_checks(client: httpx.AsyncClient) -> bool:
    """Wrap the network backend of ``client``'s default transport in :class:`_Backend`.

    httpx offers no public way to choose httpcore's backend, so this reaches the
    pool's attribute; if a new httpx or httpcore names it otherwise, nothing is
    wrapped (only speed is lost) and False is returned (a test checks it is True).
    """
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.AsyncNetworkBackend):
        return False
    if not isinstance(backend, _Backend):
        pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
    return True
