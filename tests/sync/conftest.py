"""The backend on a real port, wired to the simulator process, with fast sync settings.

``sync_backend`` starts ``create_app`` under uvicorn (scheduler and embedded
worker running in its lifespan) against the ``simulator`` fixture's Sở, with
the simulator's school registered and a token per role::

    def test_push(sync_backend):
        file_id = sync_backend.upload(class_book())
        r = sync_backend.push(file_id)
        sync_backend.wait_settled(file_id)

Retry waits are shortened to tens of milliseconds (``FAST``) so the suite
stays fast; ``start_sync_backend(**env)`` starts one with other settings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from gradesync.app import create_app
from gradesync.auth.models import Role
from gradesync.auth.service import create_token
from gradesync.core.settings import Settings
from gradesync.schools.service import add_school
from tests.api.workbooks import SheetSpec, Student, build_class_workbook
from tests.fixtures.servers import serve_in_thread
from tests.fixtures.simulator import CLIENT_ID, CLIENT_SECRET, SCHOOL_ID, student_id

#: Sync settings for tests: short waits, small leases, quick polling.
FAST = {
    "GRADESYNC_SYNC_RETRY_INITIAL": "0.05",
    "GRADESYNC_SYNC_RETRY_MAX": "0.2",
    "GRADESYNC_SYNC_CLIENT_ATTEMPTS": "2",
    "GRADESYNC_SYNC_CLIENT_BACKOFF": "0.01",
    "GRADESYNC_SYNC_CLIENT_TIMEOUT": "5",
    "GRADESYNC_SYNC_LEASE_SECONDS": "3",
    "GRADESYNC_SYNC_POLL_INTERVAL": "0.2",
    "GRADESYNC_SYNC_JITTER": "0.01",
    "GRADESYNC_SYNC_WINDOW_GUARD": "0.5",
}

HEADER_ROW = 6  # tests.api.workbooks: data starts on the next row
PENDING = {"NOT_SENT", "SCHEDULED", "QUEUED", "SENDING", "RETRYING"}
ACTIVE_JOB = {"SCHEDULED", "QUEUED", "RUNNING", "BLOCKED"}


def pupil(n: int, *, cls: int = 1, gk: float | str | None = 8.5) -> Student:
    """Student ``n`` of the simulator's class ``6A<cls>`` (school ``SCHOOL_ID``)."""
    return Student(student_id(1, cls, n), f"Học sinh {n}", tx=(8, 7.5, 9, 10), gk=gk, ck=9)


def class_book(
    n: int = 10,
    *,
    subjects: Sequence[str] = ("TOAN",),
    class_name: str = "6A1",
    rows: Sequence[Student] | None = None,
) -> bytes:
    cls = int(class_name[-1])
    pupils = list(rows) if rows is not None else [pupil(i, cls=cls) for i in range(n)]
    return build_class_workbook(
        [SheetSpec(code, pupils) for code in subjects], class_name=class_name
    )


@dataclass
class SyncBackend:
    url: str
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str = "staff") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def upload(self, data: bytes, filename: str = "BangDiem_6A1.xlsx", **form: str) -> str:
        with self.client("teacher") as c:
            r = c.post("/api/files", files={"file": (filename, data)}, data=form)
        assert r.status_code in (200, 201), r.text
        return r.json()["file_id"]

    def push(
        self,
        file_id: str,
        body: dict[str, Any] | None = None,
        key: str | None = None,
        who: str = "teacher",
    ) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        with self.client(who) as c:
            return c.post(f"/api/files/{file_id}/push", json=body or {}, headers=headers)

    def get(self, path: str, who: str = "staff", **params: Any) -> Any:
        with self.client(who) as c:
            r = c.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def rows(self, file_id: str) -> list[dict[str, Any]]:
        return self.get(f"/grades/status/{file_id}")["rows"]

    def jobs(self, file_id: str) -> list[dict[str, Any]]:
        return self.get(f"/api/files/{file_id}/jobs")["jobs"]

    def wait_jobs(
        self, file_id: str, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 30
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            jobs = self.jobs(file_id)
            if jobs and done(jobs):
                return jobs
            if time.monotonic() > deadline:
                raise AssertionError(f"jobs did not get there in {timeout}s: {jobs}")
            time.sleep(0.1)

    def wait_settled(self, file_id: str, timeout: float = 30) -> list[dict[str, Any]]:
        """Wait until no job of the file is active; returns the jobs."""
        return self.wait_jobs(
            file_id, lambda jobs: all(j["state"] not in ACTIVE_JOB for j in jobs), timeout
        )

    def audit(self, file_id: str) -> list[dict[str, Any]]:
        return self.get(f"/api/files/{file_id}/audit", limit=5000)["entries"]


def register(app: Any, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    """The simulator's school with its real Sở account, and a token per role."""
    db, box = app.state.db, app.state.secret_box
    with db.write_session() as s:
        add_school(
            s,
            box,
            school_id=SCHOOL_ID,
            name="THCS Nguyễn Du",
            so_client_id=client_id,
            so_client_secret=secret,
            replace=True,
        )
    tokens = {}
    for who, role, school in (
        ("teacher", Role.TEACHER, SCHOOL_ID),
        ("staff", Role.STAFF, SCHOOL_ID),
        ("admin", Role.ADMIN, None),
    ):
        with db.write_session() as s:
            _, tokens[who] = create_token(s, role=role, school_id=school, name=who)
    return tokens


@pytest.fixture
def start_sync_backend(
    simulator: Any, make_backend_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., SyncBackend]]:
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(*, so_url: str | None = None, **env: str) -> SyncBackend:
        for name, value in {**FAST, **env}.items():
            monkeypatch.setenv(name, value)
        app = create_app(make_backend_settings(so_base_url=so_url or simulator.url))
        tokens = register(app)
        server, thread, url = serve_in_thread(app)
        running.append((server, thread))
        return SyncBackend(url, app, tokens)

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def sync_backend(start_sync_backend: Callable[..., SyncBackend]) -> SyncBackend:
    return start_sync_backend()
