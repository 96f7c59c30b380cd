"""Across processes on PostgreSQL: LISTEN/NOTIFY carries events from a worker to any API process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gradesync.app import create_app
from gradesync.core.settings import Settings
from gradesync.live.events import RowEvent
from gradesync.live.pg import PostgresBus
from tests.api.conftest import Backend
from tests.fixtures.servers import serve_in_thread
from tests.live.conftest import FIRST_ROW, SHEET, Live, recv, upload_class

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_live(
    pg_url: str,  # first: dropped after the servers stop
    start_backend: Callable[[Settings], Backend],
    make_backend_settings: Callable[..., Settings],
) -> Live:
    backend = start_backend(make_backend_settings(database_url=pg_url))
    assert isinstance(backend.app.state.bus, PostgresBus)
    return Live(backend, upload_class(backend))


def run_worker(url: str, file_id: str, state: str, rows: list[int]) -> None:
    """A separate Python process committing and publishing, as a sync worker would."""
    subprocess.run(
        [sys.executable, "-m", "tests.live.driver", url, file_id, SHEET, state, *map(str, rows)],
        cwd=REPO,
        check=True,
        timeout=60,
    )


def test_a_worker_process_drives_a_client_on_the_api_process(pg_live: Live, pg_url: str) -> None:
    rows = [FIRST_ROW + i for i in (3, 0, 7, 1)]
    with pg_live.file_ws() as ws:
        assert recv(ws)["type"] == "snapshot"
        run_worker(pg_url, pg_live.file_id, "SYNCED", rows)
        got = [recv(ws)]
        while got[-1]["type"] != "file" or got[-1]["counts"]["synced"] < len(rows):
            got.append(recv(ws))
    # in commit order (commits that arrive together are coalesced to one `file` message)
    assert [m["row"] for m in got if m["type"] == "row"] == rows
    assert {m["sync"] for m in got if m["type"] == "row"} == {"SYNCED"}
    assert got[-1]["counts"] == pg_live.status()["counts"]


def test_two_api_processes_share_events(
    pg_live: Live, make_backend_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """A change published on one API process reaches a client connected to another."""
    settings = make_backend_settings(
        database_url=pg_live.backend.app.state.settings.database_url, home=tmp_path / "api2"
    )
    server, thread, url = serve_in_thread(create_app(settings))  # its own bus and listener
    try:
        second = Live(Backend(url, server.config.app, pg_live.backend.tokens), pg_live.file_id)
        with second.file_ws() as ws:
            assert recv(ws)["type"] == "snapshot"
            pg_live.drive({(SHEET, FIRST_ROW + 5): "SENDING"})  # published on the first
            row = recv(ws)
        assert (row["type"], row["row"], row["sync"]) == ("row", FIRST_ROW + 5, "SENDING")
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_an_event_too_big_for_notify_arrives_with_its_errors_from_the_database(
    pg_live: Live,
) -> None:
    key = (SHEET, FIRST_ROW + 2)
    errors = [{"code": f"E{i}", "message": "Lỗi rất dài " * 40} for i in range(20)]
    with pg_live.file_ws() as ws:
        recv(ws)
        pg_live.drive({key: "FAILED"}, errors={key: errors})
        row = recv(ws)
    assert sum(len(e["message"].encode()) for e in errors) > 8000
    assert (row["row"], row["sync"]) == (key[1], "FAILED")
    assert [e["code"] for e in row["errors"]] == [e["code"] for e in errors]
    assert row["errors"][0]["message"] == errors[0]["message"]


def test_a_lost_listener_connection_makes_streams_resend_a_snapshot(
    pg_live: Live, pg_url: str
) -> None:
    with pg_live.file_ws() as ws:
        assert recv(ws)["type"] == "snapshot"
        engine = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            killed = (
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                    )
                )
                .scalars()
                .all()
            )
        engine.dispose()
        assert killed == [True]
        # A change committed while the listener is away…
        pg_live.drive({(SHEET, FIRST_ROW): "SYNCED"})
        message = recv(ws)
        while message["type"] != "snapshot":  # …the stream re-reads the truth once back,
            message = recv(ws)
        view = {r["row"]: r["sync"] for r in message["rows"]}
        while view[FIRST_ROW] != "SYNCED":  # and the change is in it or comes after it
            message = recv(ws)
            if message["type"] == "row":
                view[message["row"]] = message["sync"]
            elif message["type"] == "snapshot":  # lost again at the reconnect: re-read
                view = {r["row"]: r["sync"] for r in message["rows"]}
    assert view[FIRST_ROW] == "SYNCED"


def test_publish_without_a_listener_never_raises() -> None:
    bus = PostgresBus("postgresql+psycopg://nobody@127.0.0.1:1/none")
    bus.publish([RowEvent("f", "s", SHEET, 1, None, "SYNCED")])  # returns at once
    bus.close()
