"""The event bus: who publishes row/job/file events, and who hears them.

The interface is deliberately tiny (in the spirit of APScheduler's event
brokers)::

    bus.publish([RowEvent(...), ..., FileEvent(...)])  # any thread, never blocks, never raises
    sub = bus.subscribe(file_topic(file_id))          # registered at once
    async for event in sub: ...                       # or: await sub.next_batch()

Two implementations:

* :class:`InProcessBus` — the embedded default: publishers and subscribers in
  one process (``gradesync serve`` on SQLite).
* :class:`gradesync.live.pg.PostgresBus` — LISTEN/NOTIFY, so a worker on
  another machine reaches a browser connected to any API process.

:func:`get_bus` picks one from the settings' database URL; the app keeps it in
``app.state.bus`` (set by :func:`gradesync.live.setup.install_live`), a
worker calls :func:`get_bus` itself.

**Subscribe before you read.** ``subscribe()`` registers synchronously, so a
websocket that subscribes, *then* reads its snapshot from the database, then
forwards events, misses nothing (it may see a change twice — once in the
snapshot, once as an event — which is harmless: events carry states, not
deltas).

**Lost events are reported, not hidden.** A subscription buffers a bounded
number of events; a slow consumer that falls behind, or a PostgreSQL
listener that lost its connection, marks the subscription *lost*: the next
read raises :class:`EventsLost`, and the consumer re-reads the truth from the
database (the websocket sends a fresh snapshot) and calls :meth:`Subscription.resync`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from gradesync.live.events import Event, topics_of

if TYPE_CHECKING:
    from gradesync.core.settings import Settings
    from gradesync.live.settings import LiveSettings

log = logging.getLogger(__name__)

#: Events a subscription may hold before it is marked lost (a 2,000-row sync
#: fits, so only a consumer that stopped reading trips it).
DEFAULT_BUFFER = 10_000


class EventsLost(Exception):
    """Some events for this subscription were dropped; re-read the database."""


class Subscription:
    """One consumer's view of one topic: a bounded buffer filled by the bus.

    Created (and registered) by :meth:`EventBus.subscribe`; used from the event
    loop that created it. Iterate it for single events, or call
    :meth:`next_batch` to take everything waiting at once (how the websocket
    coalesces a 45-row batch into one message). Close it (or use ``with``)
    to unregister.
    """

    def __init__(self, fanout: _Fanout, topic: str, maxsize: int) -> None:
        self.topic = topic
        self._fanout = fanout
        self._maxsize = maxsize
        self._buffer: deque[Event] = deque()
        self._ready = asyncio.Event()
        self._lost = False
        self._closed = False

    # -- called by the bus, on the loop -----------------------------------------------

    def _deliver(self, events: Iterable[Event]) -> None:
        if self._lost:
            return  # nothing to keep until the consumer resyncs
        self._buffer.extend(events)
        if len(self._buffer) > self._maxsize:
            self._mark_lost()
        self._ready.set()

    def _mark_lost(self) -> None:
        self._lost = True
        self._buffer.clear()
        self._ready.set()

    # -- the consumer's side -------------------------------------------------------------

    @property
    def lost(self) -> bool:
        return self._lost

    def resync(self) -> None:
        """Acknowledge a loss (after re-reading the database); buffering resumes."""
        self._lost = False

    def pending(self) -> int:
        return len(self._buffer)

    async def next_batch(self, max_events: int | None = None) -> list[Event]:
        """Wait for at least one event, then return every event waiting (up to ``max_events``).

        Raises :class:`EventsLost` when events were dropped since the last read.
        """
        while not self._buffer:
            if self._lost:
                raise EventsLost(self.topic)
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        if self._lost:
            raise EventsLost(self.topic)
        n = len(self._buffer) if max_events is None else min(max_events, len(self._buffer))
        batch = [self._buffer.popleft() for _ in range(n)]
        return batch

    def drain(self) -> list[Event]:
        """Every event waiting, without waiting (:class:`EventsLost` if some were dropped)."""
        if self._lost:
            raise EventsLost(self.topic)
        batch = list(self._buffer)
        self._buffer.clear()
        return batch

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        return (await self.next_batch(1))[0]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._fanout.remove(self)
            self._ready.set()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _Fanout:
    """Local subscribers by topic, and delivery to them on their event loop.

    The one home of "which subscriptions hear this event"; both buses use it.
    ``deliver`` may be called from any thread: off the loop it hops onto it with
    ``call_soon_threadsafe``, so subscriptions are only ever touched there.
    """

    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def add(self, topic: str, maxsize: int) -> Subscription:
        loop = asyncio.get_running_loop()
        if self._loop is None or self._loop.is_closed():
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError("subscribe() from another event loop than the bus's")
        sub = Subscription(self, topic, maxsize)
        self._subs.setdefault(topic, set()).add(sub)
        return sub

    def remove(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.topic)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.topic]

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())

    def deliver(self, events: Sequence[Event]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed() or not events:
            return  # nobody can be listening yet
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        # Always through the loop's queue, even from the loop itself: events
        # published earlier from another thread are then delivered first.
        if running is loop:
            loop.call_soon(self._deliver_now, list(events))
        else:
            loop.call_soon_threadsafe(self._deliver_now, list(events))

    def _deliver_now(self, events: Sequence[Event]) -> None:
        # Group per subscription so one publish wakes each consumer once.
        per_sub: dict[Subscription, list[Event]] = {}
        for event in events:
            for topic in topics_of(event):
                for sub in self._subs.get(topic, ()):
                    per_sub.setdefault(sub, []).append(event)
        for sub, batch in per_sub.items():
            sub._deliver(batch)

    def mark_all_lost(self) -> None:
        """Every subscription may have missed events (e.g. the listener reconnected)."""
        for subs in list(self._subs.values()):
            for sub in list(subs):
                sub._mark_lost()

    def close_all(self) -> None:
        for subs in list(self._subs.values()):
            for sub in list(subs):
                sub.close()


class EventBus(ABC):
    """Publish events from anywhere; subscribe to a topic from the event loop."""

    def __init__(self) -> None:
        self._fanout = _Fanout()

    @abstractmethod
    def publish(self, events: Sequence[Event]) -> None:
        """Hand events over for delivery, in order. Returns at once; never raises.

        Call it *after* the commit the events describe, from sync or async code,
        from any thread. The events are delivered with one ``at``, the time of
        this call (:func:`stamped`).
        """

    def subscribe(self, topic: str, *, maxsize: int = DEFAULT_BUFFER) -> Subscription:
        """A subscription to ``topic`` (:func:`~gradesync.live.events.file_topic`,
        :func:`~gradesync.live.events.school_topic` or
        :data:`~gradesync.live.events.PROVINCE`), registered before this returns.

        Must be called on the running event loop (the server's).
        """
        return self._fanout.add(topic, maxsize)

    async def start(self) -> None:
        """Bind to the running loop (and connect, for buses that need it)."""
        self._fanout.bind(asyncio.get_running_loop())

    async def stop(self) -> None:
        """Close every subscription and release connections."""
        self._fanout.close_all()

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Release publisher resources from sync code (a worker at exit)."""

    @property
    def subscriber_count(self) -> int:
        return self._fanout.subscriber_count()


def stamped(events: Sequence[Event]) -> list[Event]:
    """The events of one publish, all with one ``at``: now, just after their commit.

    Producers make events inside their transaction (before the commit), each
    with its own clock reading; what a watcher cares about is commit → receipt,
    and one shared ``at`` lets the batch form carry it once for all the rows.
    """
    at = time.time()
    return [e if e.at == at else dataclasses.replace(e, at=at) for e in events]


class InProcessBus(EventBus):
    """Publishers and subscribers in one process (the embedded default)."""

    def publish(self, events: Sequence[Event]) -> None:
        try:
            self._fanout.deliver(stamped(events))
        except Exception:  # the caller's commit is done; a live view is best effort
            log.exception("live: dropping %d events", len(events))


def get_bus(settings: Settings, live_settings: LiveSettings | None = None) -> EventBus:
    """The bus for these settings: PostgreSQL LISTEN/NOTIFY when the database is
    PostgreSQL (several processes may share it), else in-process."""
    url = settings.resolved_database_url
    if url.startswith(("postgresql", "postgres")):
        from gradesync.live.pg import PostgresBus, channel_for

        channel = live_settings.live_channel if live_settings else None
        return PostgresBus(url, channel=channel or channel_for(url))
    return InProcessBus()
