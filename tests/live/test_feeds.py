"""Feeds: a topic's deliveries rendered once and shared by every stream on it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence

import pytest

from gradesync.live.bus import EventsLost, InProcessBus
from gradesync.live.events import Event, FileEvent, RowEvent, file_topic
from gradesync.live.feeds import Feeds
from gradesync.live.messages import Encoded, StreamFormat, encode, latest_states

BATCH = StreamFormat.BATCH


def row(i: int, sync: str = "SYNCED") -> RowEvent:
    return RowEvent("f1", "s1", "Toán", i, f"79{i:08d}", sync)


class Renderer:
    """The batch form, counting its calls; ``gate`` holds a render until released."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self, events: list[Event]) -> Sequence[Encoded]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        return encode(latest_states(events))


def run(main: Callable[[InProcessBus, Feeds], Awaitable[None]]) -> None:
    async def wrapper() -> None:
        bus = InProcessBus()
        await bus.start()
        try:
            await main(bus, Feeds())
        finally:
            await bus.stop()

    asyncio.run(asyncio.wait_for(wrapper(), 10))


def test_every_member_gets_the_same_frames_rendered_once() -> None:
    async def main(bus: InProcessBus, feeds: Feeds) -> None:
        renderer = Renderer()
        members = [feeds.join(bus, "k", file_topic("f1"), renderer, BATCH) for _ in range(100)]
        assert bus.subscriber_count == 1  # one bus subscription for the whole feed
        bus.publish([row(i) for i in range(45)])
        got = [await m.next_frames(timeout=5) for m in members]
        assert renderer.calls == 1
        assert all(frames is got[0] for frames in got)  # shared, not copies
        assert len(got[0]) == 1 and got[0][0].startswith('{"type":"rows"')
        assert got[0].wire is got[1].wire  # the websocket frames too, built once

    run(main)


def test_a_member_that_joins_during_a_render_gets_what_follows_not_what_came_before() -> None:
    """What the feed took before the join is in the newcomer's snapshot (read after
    the join); sending it afterwards would show a state older than the snapshot."""

    async def main(bus: InProcessBus, feeds: Feeds) -> None:
        renderer = Renderer()
        renderer.gate = asyncio.Event()
        first = feeds.join(bus, "k", file_topic("f1"), renderer, BATCH)
        bus.publish([row(1, "SENDING")])
        while renderer.calls == 0:  # the pump took the event and is rendering it
            await asyncio.sleep(0.001)
        late = feeds.join(bus, "k", file_topic("f1"), renderer, BATCH)
        bus.publish([row(1, "SYNCED")])
        renderer.gate.set()
        later = await late.next_frames(timeout=5)
        assert len(later) == 1 and '"SYNCED"' in later[0]
        # The first member follows on (both deliveries may also come merged: SYNCED only).
        seen = list(await first.next_frames(timeout=5))
        if '"SYNCED"' not in seen[-1]:
            seen += await first.next_frames(timeout=5)
        assert '"SYNCED"' in seen[-1]

    run(main)


def test_a_member_that_lags_gets_the_waiting_deliveries_merged_and_coalesced() -> None:
    """Three batches waiting become one ``rows`` message with each row's last state
    (and one ``file`` message): a slow client costs fewer frames, not more."""

    async def main(bus: InProcessBus, feeds: Feeds) -> None:
        renderer = Renderer()
        slow = [feeds.join(bus, "k", file_topic("f1"), renderer, BATCH) for _ in range(2)]
        watcher = feeds.join(bus, "k", file_topic("f1"), renderer, BATCH)
        counts = {"rows": 3}
        for state in ("QUEUED", "SENDING", "SYNCED"):
            bus.publish([row(1, state), row(2, state), FileEvent("f1", "s1", counts)])
            assert len(await watcher.next_frames(timeout=5)) == 2  # one delivery each
        got = [await m.next_frames(timeout=5) for m in slow]
        assert got[0] is got[1]  # lagging alike: merged once
        rows_message, file_message = (json.loads(f) for f in got[0])
        assert [(r["row"], r["sync"]) for r in rows_message["rows"]] == [
            (1, "SYNCED"),
            (2, "SYNCED"),
        ]
        assert file_message["type"] == "file"
        assert renderer.calls == 3

    run(main)


def test_a_member_that_falls_behind_is_told_and_the_others_are_not() -> None:
    async def main(bus: InProcessBus, feeds: Feeds) -> None:
        renderer = Renderer()
        slow = feeds.join(bus, "k", file_topic("f1"), renderer, BATCH, max_frames=3)
        fast = feeds.join(bus, "k", file_topic("f1"), renderer, BATCH, max_frames=3)
        for i in range(5):
            bus.publish([row(i)])
            assert len(await fast.next_frames(timeout=5)) == 1
        assert slow.lost
        with pytest.raises(EventsLost):
            await slow.next_frames(timeout=5)
        slow.resync()  # the stream re-reads its snapshot, then follows again
        bus.publish([row(9)])
        assert '"row":9' in (await slow.next_frames(timeout=5))[0]

    run(main)


def test_the_feed_closes_with_its_last_member_and_a_new_one_starts_fresh() -> None:
    async def main(bus: InProcessBus, feeds: Feeds) -> None:
        renderer = Renderer()
        a = feeds.join(bus, "k", file_topic("f1"), renderer, BATCH)
        b = feeds.join(bus, "k", file_topic("f1"), renderer, BATCH)
        a.leave()
        assert len(feeds) == 1 and bus.subscriber_count == 1
        b.leave()
        assert len(feeds) == 0 and bus.subscriber_count == 0
        c = feeds.join(bus, "k", file_topic("f1"), renderer, BATCH)
        bus.publish([row(1)])
        assert len(await c.next_frames(timeout=5)) == 1

    run(main)


def test_a_quiet_feed_sends_its_members_a_ping_and_a_stopping_bus_ends_members() -> None:
    async def main(bus: InProcessBus, _feeds: Feeds) -> None:
        feeds = Feeds(heartbeat=0.05)
        members = [feeds.join(bus, "k", file_topic("f1"), Renderer(), BATCH) for _ in range(3)]
        with pytest.raises(TimeoutError):  # no ping yet, none before the heartbeat
            await members[0].next_frames(timeout=0.01)
        got = [await m.next_frames(timeout=5) for m in members]
        assert got[0] is got[1] is got[2]  # one ping for the feed, shared
        assert [json.loads(f)["type"] for f in got[0]] == ["ping"]
        await bus.stop()
        member = members[0]
        with pytest.raises(StopAsyncIteration):
            await member.next_frames(timeout=5)

    run(main)


def test_an_idle_member_is_written_directly_a_busy_or_full_one_is_queued_in_order() -> None:
    """While a stream waits with nothing queued, the pump writes for it (no task
    woken); a socket that cannot take bytes now, or a stream still sending, gets
    the delivery queued, and what is queued is never overtaken."""

    async def main(bus: InProcessBus, feeds: Feeds) -> None:
        written: list[str] = []
        accept = True

        def write(frames: Sequence[str]) -> bool:
            if accept:
                written.extend(frames)
            return accept

        member = feeds.join(bus, "k", file_topic("f1"), Renderer())
        member.write_directly(write)
        bus.publish([row(1)])  # not parked yet (the stream is sending its snapshot)
        while not member.pending():
            await asyncio.sleep(0.001)
        first = await member.next_frames(timeout=5)
        assert written == [] and '"row":1' in first[0]

        waiting = asyncio.create_task(member.next_frames(timeout=5))
        await asyncio.sleep(0)  # parked now
        bus.publish([row(2)])
        while not written:
            await asyncio.sleep(0.001)
        assert '"row":2' in written[0] and not waiting.done()  # written, task not woken

        accept = False  # the socket is full: queued, and the stream wakes to send it
        bus.publish([row(3)])
        got = await waiting
        assert '"row":3' in got[0] and len(written) == 1
        accept = True
        bus.publish([row(4)])  # the stream is not parked (sending row 3): queued
        while not member.pending():
            await asyncio.sleep(0.001)
        assert '"row":4' in (await member.next_frames(timeout=5))[0]
        assert len(written) == 1

    run(main)


def test_a_direct_write_that_fails_leaves_the_delivery_to_the_stream_and_the_feed_going() -> None:
    async def main(bus: InProcessBus, feeds: Feeds) -> None:
        def broken(_frames: Sequence[str]) -> bool:
            raise OSError("socket gone")

        bad = feeds.join(bus, "k", file_topic("f1"), Renderer())
        good = feeds.join(bus, "k", file_topic("f1"), Renderer())
        bad.write_directly(broken)
        waiting = asyncio.create_task(bad.next_frames(timeout=5))
        await asyncio.sleep(0)  # parked
        bus.publish([row(1)])
        assert '"row":1' in (await waiting)[0]  # queued for the stream instead
        assert '"row":1' in (await good.next_frames(timeout=5))[0]
        bus.publish([row(2)])  # the pump still runs
        assert '"row":2' in (await good.next_frames(timeout=5))[0]

    run(main)
