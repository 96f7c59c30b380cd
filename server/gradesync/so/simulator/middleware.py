"""The connection layer of the simulated Sở: the ``Date`` header, counters and faults.

``SimulatorMiddleware`` wraps the FastAPI app as the outermost ASGI callable,
so that it sees uvicorn's own ``receive``. That is how it reaches the TCP
connection: uvicorn's ``receive`` is a bound method of its request-response
cycle, which holds the asyncio transport. Dropping a connection sets
``SO_LINGER`` to zero and aborts the transport, so the client gets a TCP
reset and no HTTP response at all — never a 500.

It also tells the endpoints' ``on_delivered`` callbacks when a response has
really been handed to the connection (not dropped, not abandoned by a client
that hung up during a slow response): that is what ``duplicate_writes`` needs.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gradesync.so.simulator.state import Simulator

_DELIVERED = "gradesync.simulator.on_delivered"
_FAULT_ERRORS = {
    "500": "INTERNAL_ERROR",
    "502": "BAD_GATEWAY",
    "503": "SERVICE_UNAVAILABLE",
    "504": "GATEWAY_TIMEOUT",
}


def on_delivered(scope: Scope, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the response to this request has been sent to the client."""
    scope.setdefault(_DELIVERED, []).append(callback)


class SimulatorMiddleware:
    def __init__(self, app: ASGIApp, sim: Simulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sim = self.sim
        path: str = scope["path"]
        # The controls are not part of the Sở: never faulted, limited or counted.
        counted = not path.startswith("/_sim")
        scope[_DELIVERED] = []
        fault: str | None = None
        if counted:
            sim.counters.requests += 1
            if sim.config.applies_to(path):
                fault = sim.faults.pick(sim.config.faults)
                wait = sim.bucket.take() if sim.bucket else None
                if wait is not None:
                    headers = {"Retry-After": str(wait)}
                    await self._reply(scope, receive, send, 429, "RATE_LIMITED", headers)
                    return
        if fault in _FAULT_ERRORS:
            await self._reply(scope, receive, send, int(fault), _FAULT_ERRORS[fault])
            return
        if fault == "drop_before":
            await self._drop(receive)
            return

        held: list[Message] = []

        async def deliver(message: Message) -> None:
            await self._forward(scope, receive, send, message, counted)

        async def hold(message: Message) -> None:
            held.append(message)

        holding = fault in ("drop_after", "slow")
        await self.app(scope, receive, hold if holding else deliver)
        if fault == "drop_after":
            await self._drop(receive)
            return
        if fault == "slow":
            if await _hung_up_within(receive, sim.config.faults.slow_seconds):
                return  # nothing delivered: the client is gone
            for message in held:
                await deliver(message)

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, message: Message, counted: bool
    ) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
            headers.append((b"date", formatdate(self.sim.timestamp(), usegmt=True).encode()))
            message = {**message, "headers": headers}
            if counted:
                self.sim.counters.by_status[str(message["status"])] += 1
        await send(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            transport = _transport(receive)
            if transport is None or not transport.is_closing():
                for callback in scope[_DELIVERED]:
                    callback()

    async def _reply(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        error: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = json.dumps({"error": error}).encode()
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        start = {"type": "http.response.start", "status": status, "headers": raw}
        await self._forward(scope, receive, send, start, True)
        await self._forward(
            scope, receive, send, {"type": "http.response.body", "body": body}, True
        )

    async def _drop(self, receive: Receive) -> None:
        transport = _transport(receive)
        if transport is None:
            raise RuntimeError("cannot reach the connection to drop it: run under uvicorn")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0: close() sends RST instead of FIN, so the client sees a reset.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        self.sim.counters.dropped += 1
        # Let the server's connection_lost run, so it knows not to answer a 500.
        await asyncio.sleep(0)


def _transport(receive: Receive) -> Any:
    """uvicorn's asyncio transport behind ``receive`` (h11 and httptools both), if any."""
    return getattr(getattr(receive, "__self__", None), "transport", None)


async def _hung_up_within(receive: Receive, seconds: float) -> bool:
    """Wait ``seconds``; ``True`` as soon as the client closes its connection meanwhile."""

    async def disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(disconnect())
    done, _ = await asyncio.wait({watcher}, timeout=seconds)
    if watcher in done:
        return True
    watcher.cancel()
    return False
