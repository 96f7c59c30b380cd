"""``WS /ws/files/{id}``: snapshot, then ordered changes; coalescing; reconnects; heartbeats."""

from __future__ import annotations

import contextlib
import threading
import time

from tests.live.conftest import FIRST_ROW, N_ROWS, SHEET, Live, recv, rows_of


def test_snapshot_is_the_status_endpoint_then_changes_arrive_in_order(live: Live) -> None:
    with live.file_ws() as ws:
        snapshot = recv(ws)
        assert snapshot.pop("type") == "snapshot"
        assert snapshot == live.status()
        assert {r["sync"] for r in snapshot["rows"]} == {"NOT_SENT"}

        first, second = rows_of(3), rows_of(2, first=FIRST_ROW + 10)
        live.drive(dict.fromkeys(first, "SENDING"))
        live.drive(dict.fromkeys(first, "SYNCED") | dict.fromkeys(second, "SENDING"))

        got = [recv(ws) for _ in range(3 + 1 + 5 + 1)]
    assert [m["type"] for m in got] == ["row"] * 3 + ["file"] + ["row"] * 5 + ["file"]
    assert [(m["row"], m["sync"]) for m in got[:3]] == [(r, "SENDING") for _, r in first]
    assert [(m["row"], m["sync"]) for m in got[4:9]] == [(r, "SYNCED") for _, r in first] + [
        (r, "SENDING") for _, r in second
    ]
    row = got[0]
    assert row["sheet"] == SHEET and row["student_id"] == snapshot["rows"][0]["student_id"]
    assert row["errors"] == []
    # The file message carries the counts the database holds after the commit.
    assert got[-1]["counts"] == live.status()["counts"]
    assert got[-1]["counts"]["synced"] == 3 and got[-1]["counts"]["pending"] == N_ROWS - 3


def test_a_failed_row_arrives_with_the_so_error(live: Live) -> None:
    key = (SHEET, FIRST_ROW + 4)
    error = {"code": "STUDENT_NOT_FOUND", "message": "Sở không tìm thấy học sinh này"}
    with live.file_ws() as ws:
        recv(ws)
        live.drive({key: "FAILED"}, errors={key: [error]})
        row = recv(ws)
    assert (row["row"], row["sync"]) == (FIRST_ROW + 4, "FAILED")
    assert row["errors"] == [error]
    status_row = next(r for r in live.status()["rows"] if r["row"] == FIRST_ROW + 4)
    assert status_row["errors"] == [dict(error, cell=None)]


def test_batch_format_sends_a_45_row_batch_as_one_message(live: Live) -> None:
    with live.file_ws(format="batch") as ws:
        recv(ws)
        live.drive(dict.fromkeys(rows_of(), "SYNCED"))
        batch, file_message = recv(ws), recv(ws)
    assert batch["type"] == "rows"
    assert [r["row"] for r in batch["rows"]] == [r for _, r in rows_of()]
    # each item is a contract `row` message without "type", and without the "at"
    # the batch's rows share (one commit) and the message carries
    assert all(set(r) == {"sheet", "row", "student_id", "sync", "errors"} for r in batch["rows"])
    assert batch["at"] <= file_message["at"]
    assert file_message["type"] == "file" and file_message["counts"]["synced"] == N_ROWS


def test_a_burst_is_coalesced_to_each_rows_last_state(live: Live) -> None:
    """A slow reader gets the final states of a burst, not every intermediate one."""
    with live.file_ws(format="batch") as ws:
        recv(ws)
        # Three commits published before the server gets to send anything.
        bus, db = live.backend.app.state.bus, live.backend.app.state.db
        from tests.live.driver import commit_states

        events = []
        for state in ("QUEUED", "SENDING", "SYNCED"):
            events += commit_states(db, live.file_id, dict.fromkeys(rows_of(5), state))
        bus.publish(events)
        batch, file_message = recv(ws), recv(ws)
    assert [(r["row"], r["sync"]) for r in batch["rows"]] == [(r, "SYNCED") for _, r in rows_of(5)]
    assert file_message["counts"]["synced"] == 5


def test_reconnect_gets_a_fresh_snapshot_with_what_happened_meanwhile(live: Live) -> None:
    with live.file_ws() as ws:
        recv(ws)
        live.drive({(SHEET, FIRST_ROW): "SYNCED"})
        assert recv(ws)["sync"] == "SYNCED"
    # changes while nobody is connected
    live.drive({(SHEET, FIRST_ROW + 1): "FAILED", (SHEET, FIRST_ROW + 2): "SYNCED"})
    with live.file_ws() as ws:
        snapshot = recv(ws)
    states = {r["row"]: r["sync"] for r in snapshot["rows"]}
    assert states[FIRST_ROW] == "SYNCED"
    assert states[FIRST_ROW + 1] == "FAILED"
    assert states[FIRST_ROW + 2] == "SYNCED"
    assert snapshot["counts"]["synced"] == 2 and snapshot["counts"]["failed"] == 1


def test_no_change_is_missed_while_connecting_during_a_sync(live: Live) -> None:
    """Clients connect while a publisher commits row after row; snapshot + events
    always add up to the database's final state (subscribe happens before the read)."""
    order = [k for pair in zip(rows_of(), rows_of(), strict=True) for k in pair]
    stop = threading.Event()

    def sync() -> None:
        for i, key in enumerate(order):
            live.drive({key: "SENDING" if i % 2 == 0 else "SYNCED"})
            time.sleep(0.002)
        stop.set()

    views: list[dict[int, str]] = []
    clients = []
    publisher = threading.Thread(target=sync)
    with contextlib.ExitStack() as stack:
        publisher.start()
        while not stop.is_set() and len(clients) < 15:
            clients.append(stack.enter_context(live.file_ws()))
            time.sleep(0.01)
        publisher.join(timeout=60)
        final = {r["row"]: r["sync"] for r in live.status()["rows"]}
        assert set(final.values()) == {"SYNCED"}
        for ws in clients:
            view = {r["row"]: r["sync"] for r in recv(ws)["rows"]}
            while view != final:
                message = recv(ws, timeout=5)
                if message["type"] == "row":
                    view[message["row"]] = message["sync"]
                elif message["type"] == "snapshot":
                    view = {r["row"]: r["sync"] for r in message["rows"]}
            views.append(view)
    assert len(views) == len(clients) >= 3


def test_heartbeat_when_idle(make_live) -> None:  # type: ignore[no-untyped-def]
    live = make_live(heartbeat=0.2)
    with live.file_ws() as ws:
        import json

        assert json.loads(ws.recv(timeout=5))["type"] == "snapshot"
        ping = json.loads(ws.recv(timeout=5))
    assert ping["type"] == "ping"
