"""A running backend (uvicorn on a free port) with one uploaded 45-row file, and
real websocket clients (the ``websockets`` library, its sync client) against it.

The backend is served as ``gradesync serve`` serves it: with the live streams'
websocket protocol (:mod:`gradesync.live.transport`: shared frames, only large
messages compressed). ``make_live(uvicorn_ws=True)`` serves it with uvicorn's
own protocol instead (the streams then send message by message).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from websockets.sync.client import ClientConnection, connect

from gradesync.app import create_app
from gradesync.core.settings import Settings
from gradesync.live.transport import uvicorn_options
from tests.api.conftest import SCHOOL_A, SCHOOL_B, Backend, seed_principals
from tests.api.workbooks import SheetSpec, build_class_workbook, students
from tests.fixtures.database import TEST_DATABASE_ENV
from tests.fixtures.servers import serve_in_thread
from tests.live.driver import commit_states

__all__ = ["SCHOOL_A", "SCHOOL_B"]

SHEET = "Toán"
FIRST_ROW = 7  # the workbook's data start
N_ROWS = 45
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Live:
    backend: Backend
    file_id: str

    @property
    def ws_base(self) -> str:
        return self.backend.url.replace("http://", "ws://")

    def connect(self, path: str, who: str | None, **query: str) -> ClientConnection:
        params = dict(query)
        if who is not None:
            params["token"] = self.backend.tokens[who]
        qs = "&".join(f"{k}={v}" for k, v in params.items())
        return connect(f"{self.ws_base}{path}" + (f"?{qs}" if qs else ""), open_timeout=10)

    def file_ws(self, who: str = "teacher_a", **query: str) -> ClientConnection:
        return self.connect(f"/ws/files/{self.file_id}", who, **query)

    def drive(
        self,
        changes: Mapping[tuple[str, int], str],
        errors: Mapping[tuple[str, int], Any] | None = None,
        file_id: str | None = None,
    ) -> None:
        """Commit row states like the sync engine, then publish (from this, another, thread)."""
        app = self.backend.app
        app.state.bus.publish(commit_states(app.state.db, file_id or self.file_id, changes, errors))

    def status(self, who: str = "teacher_a") -> dict[str, Any]:
        with self.backend.client(who) as c:
            r = c.get(f"/grades/status/{self.file_id}")
            r.raise_for_status()
            return r.json()


def recv(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    """The next message that is not a heartbeat."""
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message["type"] != "ping":
            return message


def rows_of(n: int = N_ROWS, first: int = FIRST_ROW) -> list[tuple[str, int]]:
    return [(SHEET, r) for r in range(first, first + n)]


def upload_class(
    backend: Backend, who: str = "teacher_a", n: int = N_ROWS, class_name: str = "6A1"
) -> str:
    data = build_class_workbook([SheetSpec("TOAN", students(n))], class_name=class_name)
    r = backend.upload(who, data, filename=f"BangDiem_{class_name}.xlsx")
    assert r.status_code == 201, r.text
    return r.json()["file_id"]


@pytest.fixture
def start_backend() -> Iterator[Callable[..., Backend]]:
    """``start(settings, uvicorn_ws=False)``: the app served as ``gradesync serve`` does
    (or with uvicorn's own websocket protocol), seeded with two schools and tokens."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(settings: Settings, uvicorn_ws: bool = False) -> Backend:
        app = create_app(settings)
        tokens = seed_principals(app)
        options = uvicorn_options(settings.ws_per_message_deflate)
        if uvicorn_ws:
            options["ws"] = "websockets-sansio"
        server, thread, url = serve_in_thread(app, **options)
        running.append((server, thread))
        return Backend(url, app, tokens)

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def make_live(
    start_backend: Callable[..., Backend],
    make_backend_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Live]]:
    def make(heartbeat: float | None = None, uvicorn_ws: bool = False, **overrides: Any) -> Live:
        if heartbeat is not None:
            monkeypatch.setenv("GRADESYNC_WS_HEARTBEAT_SECONDS", str(heartbeat))
        backend = start_backend(make_backend_settings(**overrides), uvicorn_ws)
        return Live(backend, upload_class(backend))

    yield make


@pytest.fixture
def live(make_live: Callable[..., Live]) -> Live:
    return make_live()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database of its own (dropped afterwards); skipped without a server.

    Based on ``GRADESYNC_TEST_DATABASE_URL`` when set, else the local server.
    """
    base = os.environ.get(TEST_DATABASE_ENV) or LOCAL_POSTGRES
    name = f"gradesync_live_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable: {type(exc).__name__}")
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
