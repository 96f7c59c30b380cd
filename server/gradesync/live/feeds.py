"""Feeds: a topic's events coalesced and encoded once, then shared by every stream on it.

A thousand browsers watching one file must not cost a thousand times the
work of one. So the streams of one topic (and one rendering: the file
stream's ``row`` and ``batch`` forms are two feeds) share a :class:`Feed`:

* **one** bus subscription per feed, read by **one** pump task;
* each delivery (everything waiting when the pump is ready) is coalesced
  and rendered to message texts **once** (:mod:`gradesync.live.messages`);
* the same tuple of texts is appended to every member's bounded queue — per
  stream, the only work left is writing the frames to its socket.

**Joining is subscribing.** :meth:`Feeds.join` registers the member before it
returns, so a stream that joins, *then* reads its snapshot, misses nothing:
deliveries the pump takes after the join reach the member; those it took
before were published (so committed) before the join, and the snapshot,
read after the join, already has them. A delivery is therefore handed to the
members present when the pump *took* it, never to one that joined while it
was being rendered (that one would get a state older than its snapshot).

**Falling behind is reported, not hidden.** A member holding more than
``max_frames`` unsent frames, or every member of a feed whose bus
subscription lost events, is marked lost: its next read raises
:class:`~gradesync.live.bus.EventsLost`, and the stream sends a fresh
snapshot (after :meth:`Member.resync`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence

from gradesync.live.bus import DEFAULT_BUFFER, EventBus, EventsLost, Subscription
from gradesync.live.events import Event

log = logging.getLogger(__name__)

#: a delivery's events → message texts (JSON), computed once per feed
Render = Callable[[list[Event]], Awaitable[Sequence[str]]]


class Member:
    """One stream's place in a feed: a bounded queue of shared, pre-encoded frames."""

    def __init__(self, feed: Feed, max_frames: int) -> None:
        self._feed = feed
        self._max_frames = max_frames
        self._queue: deque[Sequence[str]] = deque()
        self._frames = 0
        self._ready = asyncio.Event()
        self._lost = False
        self._closed = False

    # -- called by the feed's pump ---------------------------------------------------------

    def _put(self, frames: Sequence[str]) -> None:
        if self._lost or self._closed:
            return
        self._queue.append(frames)
        self._frames += len(frames)
        if self._frames > self._max_frames:
            self._mark_lost()
        self._ready.set()

    def _mark_lost(self) -> None:
        self._lost = True
        self._queue.clear()
        self._frames = 0
        self._ready.set()

    def _end(self) -> None:
        self._closed = True
        self._ready.set()

    # -- the stream's side -----------------------------------------------------------------

    @property
    def lost(self) -> bool:
        return self._lost

    def pending(self) -> int:
        """Frames waiting to be sent."""
        return self._frames

    def resync(self) -> None:
        """Acknowledge a loss; call it *before* re-reading the snapshot."""
        self._lost = False

    async def next_frames(self, timeout: float | None = None) -> Sequence[str]:
        """Every frame waiting (at least one), in order.

        Raises :class:`TimeoutError` after ``timeout`` seconds without one,
        :class:`EventsLost` when frames were dropped, :class:`StopAsyncIteration`
        when the bus is stopping.
        """
        async with asyncio.timeout(timeout):
            while not self._queue:
                if self._lost:
                    raise EventsLost(self._feed.topic)
                if self._closed:
                    raise StopAsyncIteration
                self._ready.clear()
                await self._ready.wait()
        if self._lost:
            raise EventsLost(self._feed.topic)
        if len(self._queue) == 1:
            frames = self._queue.popleft()
        else:
            frames = [frame for delivery in self._queue for frame in delivery]
            self._queue.clear()
        self._frames = 0
        return frames

    def leave(self) -> None:
        """Stop receiving; the feed closes when its last member leaves."""
        if not self._closed:
            self._closed = True
            self._feed.remove(self)


class Feed:
    """One topic × rendering: a bus subscription, a pump, and the members it feeds."""

    def __init__(
        self,
        feeds: Feeds,
        key: Hashable,
        subscription: Subscription,
        render: Render,
        min_interval: float,
    ) -> None:
        self.key = key
        self.topic = subscription.topic
        self._feeds = feeds
        self._sub = subscription
        self._render = render
        self._min_interval = min_interval
        self._members: set[Member] = set()
        self._pump = asyncio.create_task(self._run(), name=f"gradesync-live-feed {self.topic}")

    def add(self, max_frames: int) -> Member:
        member = Member(self, max_frames)
        self._members.add(member)
        return member

    def remove(self, member: Member) -> None:
        self._members.discard(member)
        if not self._members:
            self.close()

    def close(self) -> None:
        self._feeds._forget(self)
        self._sub.close()
        self._pump.cancel()

    async def _run(self) -> None:
        last_sent = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                events = await self._sub.next_batch()
                if self._min_interval:
                    # Throttled feeds (a query per delivery) take along what came meanwhile.
                    await asyncio.sleep(last_sent + self._min_interval - loop.time())
                    events += self._sub.drain()
                    last_sent = loop.time()
            except EventsLost:
                self._sub.resync()
                self._each(Member._mark_lost)
                continue
            except StopAsyncIteration:  # the bus is stopping
                self._each(Member._end)
                return
            targets = list(self._members)  # those present when the events were taken
            try:
                frames = tuple(await self._render(events))
            except Exception as exc:  # a failed read: members re-read the truth instead
                log.warning("live: rendering for %s failed (%s)", self.topic, type(exc).__name__)
                for member in targets:
                    member._mark_lost()
                continue
            if frames:
                for member in targets:
                    member._put(frames)

    def _each(self, action: Callable[[Member], None]) -> None:
        for member in list(self._members):
            action(member)


class Feeds:
    """The process's feeds, by key (one per topic × rendering); used on the event loop only."""

    def __init__(self) -> None:
        self._feeds: dict[Hashable, Feed] = {}

    def join(
        self,
        bus: EventBus,
        key: Hashable,
        topic: str,
        render: Render,
        *,
        min_interval: float = 0.0,
        max_frames: int = DEFAULT_BUFFER,
    ) -> Member:
        """A member of the feed ``key`` (created on ``topic`` with ``render`` if new),
        registered before this returns. Every caller with the same ``key`` must
        pass the same topic and an equivalent ``render``."""
        feed = self._feeds.get(key)
        if feed is None:
            feed = Feed(self, key, bus.subscribe(topic), render, min_interval)
            self._feeds[key] = feed
        return feed.add(max_frames)

    def _forget(self, feed: Feed) -> None:
        if self._feeds.get(feed.key) is feed:
            del self._feeds[feed.key]

    def __len__(self) -> int:
        return len(self._feeds)
