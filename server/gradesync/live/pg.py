"""The event bus across processes: PostgreSQL LISTEN/NOTIFY.

* **Publishing** never touches the caller's thread beyond a queue put: a
  daemon thread owns one autocommit psycopg connection, drains the queue
  (so a burst becomes a few NOTIFYs) and packs events into payloads below
  PostgreSQL's 8000-byte limit. A row event too large on its own travels
  without its errors (``errors=None``: the receiver reads them from the
  database, which stays the truth). If PostgreSQL is unreachable, the
  thread keeps up to :data:`MAX_BACKLOG` events and retries with backoff.
* **Listening**: one async connection per process (started by
  :meth:`PostgresBus.start` on the server's loop) fans notifications out to
  the local subscriptions. A process hears its own NOTIFYs too, so delivery
  order is the same everywhere. When the listening connection drops, every
  subscription is marked lost (its websocket re-sends a snapshot) and the
  listener reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import re
import threading
import time
from collections.abc import Iterator, Sequence

import psycopg
from sqlalchemy.engine import make_url

from gradesync.live.bus import EventBus, stamped
from gradesync.live.events import Event, from_wire, to_wire, without_details

log = logging.getLogger(__name__)

CHANNEL = "gradesync_events"
#: PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; keep a margin.
MAX_PAYLOAD = 7900
#: Events the publisher keeps while PostgreSQL is unreachable.
MAX_BACKLOG = 100_000
_BACKOFF = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


def conninfo_of(url: str) -> str:
    """A psycopg connection string from a SQLAlchemy URL (``postgresql+psycopg://…``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def channel_for(url: str) -> str:
    """:data:`CHANNEL`, suffixed with the schema when the URL sets a ``search_path``.

    NOTIFY channels are per database, not per schema: deployments (and tests)
    that share a database through schemas must not hear each other's events.
    """
    options = make_url(url).query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    match = re.search(r"search_path=([A-Za-z0-9_]+)", options)
    return f"{CHANNEL}_{match.group(1)}" if match else CHANNEL


def pack(events: Sequence[Event], limit: int = MAX_PAYLOAD) -> Iterator[str]:
    """JSON arrays of wire-form events, each payload at most ``limit`` bytes (UTF-8)."""
    parts: list[str] = []
    size = 2  # the brackets
    for event in events:
        text = _encode(event)
        if len(text.encode()) + 2 > limit:
            text = _encode(without_details(event))
            if len(text.encode()) + 2 > limit:
                log.error("live: %s event too large for NOTIFY, dropped", event.kind)
                continue
        n = len(text.encode()) + (1 if parts else 0)
        if parts and size + n > limit:
            yield "[" + ",".join(parts) + "]"
            parts, size = [], 2
            n = len(text.encode())
        parts.append(text)
        size += n
    if parts:
        yield "[" + ",".join(parts) + "]"


def unpack(payload: str) -> list[Event]:
    return [from_wire(item) for item in json.loads(payload)]


def _encode(event: Event) -> str:
    return json.dumps(to_wire(event), ensure_ascii=False, separators=(",", ":"))


class PostgresBus(EventBus):
    """LISTEN/NOTIFY on :data:`CHANNEL` of the application database."""

    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        super().__init__()
        self._conninfo = conninfo_of(url)
        self._channel = channel
        self._queue: queue.SimpleQueue[list[Event] | None] = queue.SimpleQueue()
        self._publisher: threading.Thread | None = None
        self._publisher_lock = threading.Lock()
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    # -- publishing ------------------------------------------------------------------------

    def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        try:
            self._ensure_publisher()
            self._queue.put(stamped(events))
        except Exception:
            log.exception("live: dropping %d events", len(events))

    def _ensure_publisher(self) -> None:
        if self._publisher is not None:
            return
        with self._publisher_lock:
            if self._publisher is None:
                thread = threading.Thread(
                    target=self._publish_loop, name="gradesync-live-notify", daemon=True
                )
                thread.start()
                self._publisher = thread

    def _publish_loop(self) -> None:
        conn: psycopg.Connection | None = None
        backlog: list[Event] = []
        failures = 0
        stopping = False
        while not (stopping and not backlog):
            if not backlog:
                item = self._queue.get()
                if item is None:
                    break
                backlog.extend(item)
            # Drain whatever else is waiting: a burst becomes a few payloads.
            with contextlib.suppress(queue.Empty):
                while True:
                    item = self._queue.get_nowait()
                    if item is None:
                        stopping = True
                        break
                    backlog.extend(item)
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self._conninfo, autocommit=True)
                with conn.transaction():  # one commit: the payloads arrive together
                    for payload in pack(backlog):
                        conn.execute("SELECT pg_notify(%s, %s)", (self._channel, payload))
                backlog.clear()
                failures = 0
            except Exception as exc:
                log.warning("live: NOTIFY failed (%s), retrying", type(exc).__name__)
                if conn is not None:
                    conn.close()
                conn = None
                if len(backlog) > MAX_BACKLOG:
                    log.error(
                        "live: %d events dropped while the database was unreachable",
                        len(backlog) - MAX_BACKLOG,
                    )
                    del backlog[: len(backlog) - MAX_BACKLOG]
                time.sleep(_BACKOFF[min(failures, len(_BACKOFF) - 1)])
                failures += 1
                if stopping and failures > len(_BACKOFF):
                    break
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Flush what is queued (a few seconds at most) and stop the publisher thread."""
        thread = self._publisher
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=10)
            self._publisher = None

    # -- listening --------------------------------------------------------------------------

    async def start(self) -> None:
        await super().start()
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen_loop(), name="gradesync-live-listen")
            # Subscribers expect events published after start() to arrive.
            await asyncio.wait_for(self._listening.wait(), timeout=30)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await asyncio.to_thread(self.close)
        await super().stop()

    async def _listen_loop(self) -> None:
        failures = 0
        connected_before = False
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            except Exception as exc:
                log.warning("live: LISTEN connection failed (%s), retrying", type(exc).__name__)
                await asyncio.sleep(_BACKOFF[min(failures, len(_BACKOFF) - 1)])
                failures += 1
                continue
            try:
                async with conn:
                    await conn.execute(f'LISTEN "{self._channel}"')
                    if connected_before:
                        # Whatever was published while we were away is lost to us.
                        self._fanout.mark_all_lost()
                    connected_before = True
                    failures = 0
                    self._listening.set()
                    async for notify in conn.notifies():
                        self._on_payload(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live: LISTEN connection lost (%s), reconnecting", type(exc).__name__)
                self._fanout.mark_all_lost()
                await asyncio.sleep(_BACKOFF[min(failures, len(_BACKOFF) - 1)])
                failures += 1

    def _on_payload(self, payload: str) -> None:
        try:
            events = unpack(payload)
        except ValueError:  # json.JSONDecodeError is a ValueError
            log.error("live: malformed NOTIFY payload ignored (%d bytes)", len(payload))
            return
        self._fanout.deliver(events)
