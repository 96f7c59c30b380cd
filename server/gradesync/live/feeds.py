"""Feeds: a topic's events coalesced and encoded once, then shared by every stream on it.

A thousand browsers watching one file must not cost a thousand times the
work of one. So the streams of one topic (and one rendering: the file
stream's ``row`` and ``batch`` forms are two feeds) share a :class:`Feed`:

* **one** bus subscription per feed, read by **one** pump task;
* each delivery (everything waiting when the pump is ready) is coalesced
  and encoded **once** (:mod:`gradesync.live.messages`);
* the same delivery is appended to every member's bounded queue — per
  stream, the only work left is writing the frames to its socket; a stream
  that is idle (parked, nothing queued) and whose socket takes the bytes now
  has them written by the pump directly (:meth:`Member.write_directly`):
  one call per stream, no task woken.

A stream that fell behind (several deliveries waiting when it is ready to
send) gets them merged, coalesced again — a 45-row ``rows`` message per
batch becomes one for all of them, and only the last ``file`` counts — so
a slow client costs fewer frames, not more. The merge reuses the encoded
messages, and streams that lag alike share one (cached by the range merged).

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
import itertools
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass

from gradesync.live.bus import DEFAULT_BUFFER, EventBus, EventsLost, Subscription
from gradesync.live.events import Event
from gradesync.live.messages import Encoded, SharedFrames, StreamFormat, frames, latest

log = logging.getLogger(__name__)

#: a delivery's events → its messages, coalesced and encoded; called once per feed
Render = Callable[[list[Event]], Awaitable[Sequence[Encoded]]]

#: merged renderings a feed keeps (streams that lag alike ask for the same ranges)
_MERGED_CACHE = 64


@dataclass(frozen=True, slots=True)
class Delivery:
    """One rendered delivery of a feed, shared by its members."""

    seq: int
    messages: Sequence[Encoded]
    frames: SharedFrames


class Member:
    """One stream's place in a feed: a bounded queue of shared, pre-encoded frames."""

    def __init__(self, feed: Feed, max_frames: int) -> None:
        self._feed = feed
        self._max_frames = max_frames
        self._queue: deque[Delivery] = deque()
        self._frames = 0
        self._ready = asyncio.Event()
        self._lost = False
        self._closed = False
        #: writes frames to the socket now, or says it cannot (see :meth:`write_directly`)
        self._write: Callable[[SharedFrames], bool] | None = None
        #: the stream is parked in :meth:`next_frames` with nothing in hand to send
        self._parked = False

    # -- called by the feed's pump ---------------------------------------------------------

    def _put(self, delivery: Delivery) -> None:
        if self._lost or self._closed:
            return
        # A parked stream has sent all it had: writing now keeps the order, and
        # spares waking its task (1,000 task switches per delivery at 1,000 streams).
        if self._parked and not self._queue and self._write is not None:
            try:
                if self._write(delivery.frames):
                    return
            except Exception:  # the pump serves every member: never let one socket end it
                self._write = None  # the stream's own send will meet the error
        self._queue.append(delivery)
        self._frames += len(delivery.frames)
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

    def write_directly(self, write: Callable[[SharedFrames], bool] | None) -> None:
        """Let the feed write deliveries itself while the stream waits in
        :meth:`next_frames` with nothing queued; ``write`` returns ``False`` when it
        cannot write now (the socket is full or closing), and the delivery is queued."""
        self._write = write

    async def next_frames(self, timeout: float | None = None) -> SharedFrames:
        """Every frame waiting (at least one), in order; several deliveries merged.

        Raises :class:`TimeoutError` after ``timeout`` seconds without one,
        :class:`EventsLost` when frames were dropped, :class:`StopAsyncIteration`
        when the bus is stopping.
        """
        if not self._queue:  # no timer armed when there is something to send already
            self._parked = True
            try:
                async with asyncio.timeout(timeout):  # None (streams): no timer at all
                    while not self._queue:
                        if self._lost:
                            raise EventsLost(self._feed.topic)
                        if self._closed:
                            raise StopAsyncIteration
                        self._ready.clear()
                        await self._ready.wait()
            finally:
                self._parked = False
        if self._lost:
            raise EventsLost(self._feed.topic)
        waiting = list(self._queue)
        self._queue.clear()
        self._frames = 0
        return waiting[0].frames if len(waiting) == 1 else self._feed.merged(waiting)

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
        fmt: StreamFormat,
        min_interval: float,
        heartbeat: float,
    ) -> None:
        self.key = key
        self.topic = subscription.topic
        self._feeds = feeds
        self._sub = subscription
        self._render = render
        self._fmt = fmt
        self._min_interval = min_interval
        self._heartbeat = heartbeat
        self._members: set[Member] = set()
        self._seq = itertools.count()
        self._merged: OrderedDict[tuple[int, int], SharedFrames] = OrderedDict()
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
                # One heartbeat timer per feed, not one per stream and delivery.
                async with asyncio.timeout(self._heartbeat):
                    events = await self._sub.next_batch()
                if self._min_interval:
                    # Throttled feeds (a query per delivery) take along what came meanwhile.
                    await asyncio.sleep(last_sent + self._min_interval - loop.time())
                    events += self._sub.drain()
                    last_sent = loop.time()
            except TimeoutError:  # quiet: a ping keeps proxies from closing idle sockets
                ping = SharedFrames([f'{{"type":"ping","at":{time.time()}}}'])
                delivery = Delivery(next(self._seq), (), ping)
                for member in list(self._members):
                    member._put(delivery)
                continue
            except EventsLost:
                self._sub.resync()
                self._each(Member._mark_lost)
                continue
            except StopAsyncIteration:  # the bus is stopping
                self._each(Member._end)
                return
            targets = list(self._members)  # those present when the events were taken
            try:
                messages = tuple(await self._render(events))
            except Exception as exc:  # a failed read: members re-read the truth instead
                log.warning("live: rendering for %s failed (%s)", self.topic, type(exc).__name__)
                for member in targets:
                    member._mark_lost()
                continue
            if messages:
                delivery = Delivery(next(self._seq), messages, frames(messages, self._fmt))
                for member in targets:
                    member._put(delivery)

    def merged(self, deliveries: list[Delivery]) -> SharedFrames:
        """The frames of consecutive deliveries as one, coalesced (cached by range)."""
        key = (deliveries[0].seq, deliveries[-1].seq)
        hit = self._merged.get(key)
        if hit is None:
            everything = [m for d in deliveries for m in d.messages]
            hit = self._merged[key] = frames(latest(everything), self._fmt)
            if len(self._merged) > _MERGED_CACHE:
                self._merged.popitem(last=False)
        return hit

    def _each(self, action: Callable[[Member], None]) -> None:
        for member in list(self._members):
            action(member)


class Feeds:
    """The process's feeds, by key (one per topic × rendering); used on the event loop only."""

    def __init__(self, heartbeat: float = 20.0) -> None:
        #: seconds without a delivery after which a feed sends ``{"type": "ping"}``
        self.heartbeat = heartbeat
        self._feeds: dict[Hashable, Feed] = {}

    def join(
        self,
        bus: EventBus,
        key: Hashable,
        topic: str,
        render: Render,
        fmt: StreamFormat = StreamFormat.ROW,
        *,
        min_interval: float = 0.0,
        max_frames: int = DEFAULT_BUFFER,
    ) -> Member:
        """A member of the feed ``key`` (created on ``topic`` with ``render`` and
        ``fmt`` if new), registered before this returns. Every caller with the
        same ``key`` must pass the same topic, form and an equivalent ``render``."""
        feed = self._feeds.get(key)
        if feed is None:
            sub = bus.subscribe(topic)
            feed = Feed(self, key, sub, render, fmt, min_interval, self.heartbeat)
            self._feeds[key] = feed
        return feed.add(max_frames)

    def _forget(self, feed: Feed) -> None:
        if self._feeds.get(feed.key) is feed:
            del self._feeds[feed.key]

    def __len__(self) -> int:
        return len(self._feeds)
