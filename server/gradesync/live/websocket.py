"""The live streams: ``WS /ws/files/{id}``, ``WS /ws/schools/{id}``, ``WS /ws/province``.

Every stream authenticates like HTTP (``?token=`` — browsers cannot set
headers on a websocket — or ``Authorization: Bearer``), subscribes to its
topic *before* reading its snapshot (so nothing between the two is missed),
sends ``{"type": "snapshot", …}``, then changes as they come. Bursts are
coalesced (:mod:`gradesync.live.messages`) and encoded once per topic for
every stream on it (:mod:`gradesync.live.feeds`); snapshots asked for at
about the same time are read once (:mod:`gradesync.live.shared_reads`).
When the stream fell behind or the bus lost events, it sends a fresh
snapshot instead. After
``GRADESYNC_WS_HEARTBEAT_SECONDS`` of silence it sends ``{"type": "ping"}``;
clients may send anything (it is ignored), for example ``{"type": "pong"}``.

Refusals are accepted, then closed, so that the client sees a code and a
reason (a refusal during the handshake is only an HTTP 403 to a browser):
first a message ``{"type": "error", "code": …, "message": …}`` (Vietnamese),
then the close:

====  ==========================================================
4401  no token, unknown or revoked token
4403  the role may not use this stream (school: staff and admins;
      province: admins)
4404  no such file/school, or it belongs to another school
====  ==========================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketState

from gradesync.auth.dependencies import authenticate_websocket
from gradesync.auth.models import Role
from gradesync.auth.service import Principal
from gradesync.live import snapshots
from gradesync.live.bus import EventsLost
from gradesync.live.events import PROVINCE, Event, FileEvent, JobEvent, file_topic, school_topic
from gradesync.live.feeds import Feeds, Render
from gradesync.live.messages import (
    SHARED_FRAMES,
    Encoded,
    SharedFrames,
    StreamFormat,
    encode,
    latest_states,
    only,
)

log = logging.getLogger(__name__)

router = APIRouter(tags=["live"])

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404

#: Province streams recompute school totals at most this often (a grouped query each).
PROVINCE_MIN_INTERVAL = 1.0

#: the snapshot message (JSON text) for one stream, read after it joined its feed
Snapshot = Callable[[], Awaitable[str]]


@router.websocket("/ws/files/{file_id}")
async def file_stream(websocket: WebSocket, file_id: str, format: str = "row") -> None:
    """One file's rows, jobs and counts (any role that may see the file)."""
    principal = await _authenticate(websocket)
    if principal is None:
        return
    try:
        fmt = StreamFormat(format)
    except ValueError:
        fmt = StreamFormat.ROW
    app = websocket.app
    service, db, reads = app.state.files, app.state.db, app.state.live_reads

    def read_snapshot() -> snapshots.Snapshot | None:
        with db.read_session() as session:
            return snapshots.file_snapshot(service, session, file_id)

    async def snapshot() -> str:
        data = await reads.read(("file", file_id), read_snapshot)
        if data is None or not principal.can_access(data.school_id or ""):
            raise _Refused(CLOSE_NOT_FOUND, "FILE_NOT_FOUND", _file_not_found(file_id))
        return data.text

    def read_errors() -> dict[tuple[str, int], list[dict[str, Any]]]:
        with db.read_session() as session:
            return snapshots.row_errors(service, session, file_id)

    async def render_delivery(events: list[Event]) -> list[Encoded]:
        events = latest_states(events)
        if any(getattr(e, "errors", ()) is None for e in events):
            events = await run_in_threadpool(_with_errors, events, read_errors)
        return encode(events)

    topic = file_topic(file_id)
    await _stream(websocket, (topic, fmt), topic, snapshot, render_delivery, fmt)


@router.websocket("/ws/schools/{school_id}")
async def school_stream(websocket: WebSocket, school_id: str) -> None:
    """A school's files (counts) and jobs, for its staff and for admins."""
    principal = await _authenticate(websocket)
    if principal is None:
        return
    if principal.role is Role.TEACHER:
        await _refuse(websocket, CLOSE_FORBIDDEN, "FORBIDDEN", _ROLE_MESSAGE["school"])
        return
    if not principal.can_access(school_id):
        await _refuse(websocket, CLOSE_NOT_FOUND, "SCHOOL_NOT_FOUND", _school_not_found(school_id))
        return
    db, reads = websocket.app.state.db, websocket.app.state.live_reads

    def read_snapshot() -> snapshots.Snapshot | None:
        with db.read_session() as session:
            if session.get(snapshots.School, school_id) is None:
                return None
            return snapshots.encode(snapshots.school_snapshot(session, school_id), school_id)

    async def snapshot() -> str:
        data = await reads.read(("school", school_id), read_snapshot)
        if data is None:
            raise _Refused(CLOSE_NOT_FOUND, "SCHOOL_NOT_FOUND", _school_not_found(school_id))
        return data.text

    async def render_delivery(events: list[Event]) -> list[Encoded]:
        return encode(only(latest_states(events), JobEvent, FileEvent))

    topic = school_topic(school_id)
    await _stream(websocket, topic, topic, snapshot, render_delivery)


@router.websocket("/ws/province")
async def province_stream(websocket: WebSocket) -> None:
    """Progress counts per school, for admins: ``{"type": "school", "school_id", "counts"}``."""
    principal = await _authenticate(websocket)
    if principal is None:
        return
    if not principal.is_admin:
        await _refuse(websocket, CLOSE_FORBIDDEN, "FORBIDDEN", _ROLE_MESSAGE["province"])
        return
    db, reads = websocket.app.state.db, websocket.app.state.live_reads

    def read_snapshot() -> snapshots.Snapshot:
        with db.read_session() as session:
            return snapshots.encode(snapshots.province_snapshot(session), None)

    def read_totals(school_ids: list[str]) -> dict[str, dict[str, int]]:
        with db.read_session() as session:
            return snapshots.school_counts(session, school_ids)

    async def snapshot() -> str:
        return (await reads.read(PROVINCE, read_snapshot)).text

    async def render_delivery(events: list[Event]) -> list[Encoded]:
        # `at` as every message's: the publisher's time, of the newest change it sums up.
        newest: dict[str, float] = {}
        for e in events:
            if isinstance(e, FileEvent):
                newest[e.school_id] = max(e.at, newest.get(e.school_id, 0.0))
        if not newest:
            return []
        totals = await run_in_threadpool(read_totals, sorted(newest))
        messages = (
            {"type": "school", "school_id": sid, "counts": counts, "at": newest[sid]}
            for sid, counts in totals.items()
        )
        return [Encoded(("school", m["school_id"]), json.dumps(m)) for m in messages]

    await _stream(
        websocket,
        PROVINCE,
        PROVINCE,
        snapshot,
        render_delivery,
        min_interval=PROVINCE_MIN_INTERVAL,
    )


# -- the common loop ---------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, close_code: int, code: str, message: str) -> None:
        super().__init__(code)
        self.close_code, self.code, self.message = close_code, code, message


async def _stream(
    websocket: WebSocket,
    feed_key: Hashable,
    topic: str,
    snapshot: Snapshot,
    render: Render,
    fmt: StreamFormat = StreamFormat.ROW,
    *,
    min_interval: float = 0.0,
) -> None:
    """Join the topic's feed, accept, send the snapshot, then forward the feed's frames.

    Streams with the same ``feed_key`` share one feed (coalescing and encoding
    done once for all of them; :mod:`gradesync.live.feeds`). ``min_interval``
    throttles feeds whose rendering costs a query: a delivery waits until
    that long after the previous one and takes along whatever arrived meanwhile.
    """
    app = websocket.app
    feeds: Feeds = app.state.live_feeds
    # Before the snapshot: nothing in between is missed.
    member = feeds.join(app.state.bus, feed_key, topic, render, fmt, min_interval=min_interval)
    try:
        await websocket.accept()
        try:
            first = await snapshot()
        except _Refused as refused:
            await _refuse(websocket, refused.close_code, refused.code, refused.message)
            return
        await websocket.send_text(first)

        # One write of the feed's shared bytes per delivery, when the server offers it.
        extension = websocket.scope.get("extensions", {}).get(SHARED_FRAMES) or {}
        send_shared: Callable[[SharedFrames], Awaitable[None]] | None = extension.get("send")
        # From here on (the snapshot is out) an idle stream's deliveries may be written
        # by the feed itself, without waking this task.
        member.write_directly(extension.get("write_now"))

        async def send_changes() -> None:
            while True:
                try:
                    frames = await member.next_frames()  # the feed sends heartbeats
                except EventsLost:
                    member.resync()  # before the read: what follows is queued again
                    member.write_directly(None)  # nothing may overtake the snapshot
                    await websocket.send_text(await snapshot())
                    member.write_directly(extension.get("write_now"))
                    continue
                except StopAsyncIteration:  # the bus is stopping
                    await websocket.close(code=1001, reason="server shutting down")
                    return
                if send_shared is not None:
                    try:
                        await send_shared(frames)
                    except OSError:  # as starlette's send: the client went away
                        raise WebSocketDisconnect(1006) from None
                else:
                    for frame in frames:
                        await websocket.send_text(frame)

        async def read_until_closed() -> None:
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass  # client messages (pongs) carry nothing we need

        tasks = [asyncio.create_task(send_changes()), asyncio.create_task(read_until_closed())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None and not isinstance(exc, WebSocketDisconnect | _Refused):
                    log.warning(
                        "live: %s stream ended by %s", topic.split(":")[0], type(exc).__name__
                    )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away mid-send
    finally:
        member.leave()


async def _authenticate(websocket: WebSocket) -> Principal | None:
    principal = await run_in_threadpool(authenticate_websocket, websocket, websocket.app.state.db)
    if principal is None:
        await _refuse(websocket, CLOSE_UNAUTHENTICATED, "UNAUTHENTICATED", _UNAUTHENTICATED)
    return principal


async def _refuse(websocket: WebSocket, close_code: int, code: str, message: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        if websocket.client_state is WebSocketState.CONNECTING:
            await websocket.accept()
        await websocket.send_json({"type": "error", "code": code, "message": message})
        # The close reason is capped at 123 bytes: the stable code says it all.
        await websocket.close(code=close_code, reason=code)


def _with_errors(
    events: list[Event], read: Callable[[], dict[tuple[str, int], list[dict[str, Any]]]]
) -> list[Event]:
    """Row events that crossed processes without their errors, completed from the DB."""
    errors = read()
    out: list[Event] = []
    for event in events:
        if getattr(event, "errors", ()) is None:
            found = errors.get((event.sheet, event.row), [])  # type: ignore[union-attr]
            event = replace(event, errors=tuple(found))  # type: ignore[arg-type]
        out.append(event)
    return out


_UNAUTHENTICATED = (
    "Thiếu hoặc sai token. Mở kết nối với «?token=<token>» do quản trị cấp "
    "(gradesync token create); token đã thu hồi không dùng được nữa."
)
_ROLE_MESSAGE = {
    "school": "Luồng theo dõi cả trường chỉ dành cho cán bộ (staff) của trường và quản trị Sở; "
    "giáo viên hãy theo dõi từng tệp tại /ws/files/<mã tệp>.",
    "province": "Luồng theo dõi toàn tỉnh chỉ dành cho quản trị Sở (token admin).",
}


def _file_not_found(file_id: str) -> str:
    return f"Không có tệp {file_id} (hoặc tệp thuộc trường khác). Kiểm tra lại mã tệp."


def _school_not_found(school_id: str) -> str:
    return f"Không có trường {school_id} (hoặc token không thuộc trường này)."
