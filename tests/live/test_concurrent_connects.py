"""Clients connecting at once share snapshot reads and feeds, and each still sees everything."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from tests.live.conftest import Live, recv, rows_of

CLIENTS = 30


def test_clients_connecting_together_during_a_sync_all_end_at_the_databases_state(
    live: Live,
) -> None:
    """A burst of connects while a publisher commits row after row: snapshots are
    shared between connects, yet snapshot + changes add up to the final state for
    every client (one read is only shared by streams that joined before it started)."""
    order = [k for pair in zip(rows_of(), rows_of(), strict=True) for k in pair]
    reads_before = live.backend.app.state.live_reads.reads
    start = threading.Barrier(CLIENTS + 1)

    def sync() -> None:
        start.wait()
        for i, key in enumerate(order):
            live.drive({key: "SENDING" if i % 2 == 0 else "SYNCED"})
            time.sleep(0.001)

    def client(i: int) -> ClientConnection:
        start.wait()
        return live.file_ws(format="batch" if i % 2 else "row")

    publisher = threading.Thread(target=sync)
    publisher.start()
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(CLIENTS) as pool:
        clients = [stack.enter_context(ws) for ws in pool.map(client, range(CLIENTS))]
        publisher.join(timeout=60)
        final = {r["row"]: r["sync"] for r in live.status()["rows"]}
        assert set(final.values()) == {"SYNCED"}
        for ws in clients:
            view = {r["row"]: r["sync"] for r in recv(ws)["rows"]}
            while view != final:
                message = recv(ws, timeout=5)
                items = {"rows": message.get("rows"), "row": [message]}.get(message["type"])
                for item in items or ():
                    view[item["row"]] = item["sync"]
                if message["type"] == "snapshot":
                    view = {r["row"]: r["sync"] for r in message["rows"]}
    reads = live.backend.app.state.live_reads.reads - reads_before
    assert 1 <= reads < CLIENTS, f"{reads} snapshot reads for {CLIENTS} connects"


def test_a_shared_snapshot_is_not_given_to_another_schools_token(live: Live) -> None:
    """The read is shared; the access check is each connection's own."""

    def connect(who: str) -> tuple[str, dict[str, object] | int]:
        ws = live.file_ws(who)
        with ws:
            first = json.loads(ws.recv(timeout=10))
            if first["type"] == "error":
                with pytest.raises(ConnectionClosed) as closed:
                    ws.recv(timeout=10)
                assert closed.value.rcvd is not None
                return who, closed.value.rcvd.code
            return who, first

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(connect, ["teacher_a", "teacher_b", "staff_a", "admin"] * 3))
    for who, got in results:
        if who == "teacher_b":
            assert got == 4404
        else:
            assert isinstance(got, dict) and got["type"] == "snapshot"
            assert got["file_id"] == live.file_id


def test_two_forms_of_one_file_and_many_streams_share_two_feeds(live: Live) -> None:
    with (
        live.file_ws() as a,
        live.file_ws() as b,
        live.file_ws(format="batch") as c,
    ):
        for ws in (a, b, c):
            recv(ws)
        assert len(live.backend.app.state.live_feeds) == 2
        live.drive(dict.fromkeys(rows_of(3), "SYNCED"))
        got_a = [recv(a) for _ in range(4)]
        assert [recv(b) for _ in range(4)] == got_a
        assert [m["type"] for m in got_a] == ["row", "row", "row", "file"]
        assert [r["row"] for r in recv(c)["rows"]] == [m["row"] for m in got_a[:3]]
    deadline = time.monotonic() + 5
    while len(live.backend.app.state.live_feeds) and time.monotonic() < deadline:
        time.sleep(0.02)  # the server notices the closes
    assert len(live.backend.app.state.live_feeds) == 0
