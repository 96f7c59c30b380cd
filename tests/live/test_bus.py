"""The bus on its own: topics, order, threads, lost events, the NOTIFY wire form."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from gradesync.live.bus import EventsLost, InProcessBus
from gradesync.live.events import (
    PROVINCE,
    FileEvent,
    JobEvent,
    RowEvent,
    file_topic,
    from_wire,
    school_topic,
    to_wire,
)
from gradesync.live.messages import StreamFormat, latest_states, render
from gradesync.live.pg import MAX_PAYLOAD, pack, unpack


def row(i: int, sync: str = "SYNCED", file_id: str = "f1", school: str = "s1") -> RowEvent:
    return RowEvent(file_id, school, "Toán", i, f"79{i:08d}", sync)


def test_events_reach_their_file_school_and_province_in_order() -> None:
    async def main() -> None:
        bus = InProcessBus()
        await bus.start()
        mine, school, province, other = (
            bus.subscribe(file_topic("f1")),
            bus.subscribe(school_topic("s1")),
            bus.subscribe(PROVINCE),
            bus.subscribe(file_topic("f2")),
        )
        # from another thread, as a sync worker thread would
        worker = threading.Thread(target=bus.publish, args=([row(i) for i in range(45)],))
        worker.start()
        worker.join()
        bus.publish([row(99, file_id="f2", school="s2")])
        assert [e.row for e in await mine.next_batch()] == list(range(45))
        assert len(await school.next_batch()) == 45
        # next_batch takes all that is waiting: both publishes, in publishing order
        assert [e.row for e in await province.next_batch()] == [*range(45), 99]
        assert [e.row for e in await other.next_batch()] == [99]
        assert mine.pending() == 0
        await bus.stop()

    asyncio.run(asyncio.wait_for(main(), 10))


def test_a_consumer_that_falls_behind_is_told_it_lost_events() -> None:
    async def main() -> None:
        bus = InProcessBus()
        await bus.start()
        sub = bus.subscribe(file_topic("f1"), maxsize=100)
        bus.publish([row(i) for i in range(101)])
        with pytest.raises(EventsLost):
            await sub.next_batch()
        sub.resync()
        bus.publish([row(1)])
        assert [e.row for e in await sub.next_batch()] == [1]
        await bus.stop()

    asyncio.run(asyncio.wait_for(main(), 10))


def test_publish_before_start_or_with_nobody_listening_is_harmless() -> None:
    InProcessBus().publish([row(1)])


def test_wire_form_round_trips_every_kind() -> None:
    events = [
        RowEvent("f", "s", "Toán", 8, None, "FAILED", ({"code": "X", "message": "sai"},)),
        JobEvent("f", "s", "j1", "DEAD", "6A1", "TOAN", "hết lượt thử"),
        FileEvent("f", "s", {"rows": 2, "synced": 1}, "WINDOW_CLOSING"),
    ]
    assert [from_wire(json.loads(json.dumps(to_wire(e)))) for e in events] == events


def test_packing_respects_the_notify_limit_and_keeps_order() -> None:
    big = RowEvent("f", "s", "Toán", 1, None, "FAILED", ({"code": "E", "message": "x" * 9000},))
    events = [row(i) for i in range(300)] + [big, row(300)]
    payloads = list(pack(events))
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD for p in payloads)
    back = [e for p in payloads for e in unpack(p)]
    assert [e.row for e in back] == [e.row for e in events]
    assert back[300].errors is None  # too large: travels without its errors
    assert back[0] == events[0]


def test_coalescing_keeps_each_rows_last_state_in_order() -> None:
    events = [row(1, "SENDING"), row(2, "SENDING"), row(1, "SYNCED"), FileEvent("f1", "s1", {})]
    assert [(e.row, e.sync) for e in latest_states(events)[:2]] == [(2, "SENDING"), (1, "SYNCED")]
    batch = [json.loads(m) for m in render(latest_states(events), StreamFormat.BATCH)]
    assert [m["type"] for m in batch] == ["rows", "file"]
    assert [(r["row"], r["sync"]) for r in batch[0]["rows"]] == [(2, "SENDING"), (1, "SYNCED")]
    assert len(render(latest_states(events), StreamFormat.ROW)) == 3
