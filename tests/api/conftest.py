"""The backend on a real port (uvicorn in a thread) with two schools and a token per role.

``api`` is the usual entry point::

    def test_something(api):
        r = api.client("teacher_a").post("/api/files", files={"file": ("a.xlsx", data)})

``start_backend(settings)`` starts another server (own settings) for tests
that need small limits or a background-parse threshold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
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
from tests.fixtures.servers import serve_in_thread

SCHOOL_A = "79000701"
SCHOOL_B = "79000702"


@dataclass
class Backend:
    """A running server: its URL, app (for direct DB access) and a token per principal."""

    url: str
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def upload(
        self, who: str, data: bytes, filename: str = "BangDiem_6A1.xlsx", **form: str
    ) -> httpx.Response:
        with self.client(who) as c:
            return c.post("/api/files", files={"file": (filename, data)}, data=form)

    @property
    def db(self) -> Any:
        return self.app.state.db

    def healthy(self) -> bool:
        with self.client() as c:
            return c.get("/healthz").status_code == 200


def seed_principals(app: Any) -> dict[str, str]:
    """Two schools; a teacher and staff token for A, a teacher for B, an admin, a revoked one."""
    db, box = app.state.db, app.state.secret_box
    with db.write_session() as s:
        add_school(
            s, box, school_id=SCHOOL_A, name="THCS A", so_client_id="a", so_client_secret="sa"
        )
        add_school(
            s, box, school_id=SCHOOL_B, name="THCS B", so_client_id="b", so_client_secret="sb"
        )
    tokens = {}
    for who, role, school in (
        ("teacher_a", Role.TEACHER, SCHOOL_A),
        ("staff_a", Role.STAFF, SCHOOL_A),
        ("teacher_b", Role.TEACHER, SCHOOL_B),
        ("admin", Role.ADMIN, None),
        ("revoked", Role.TEACHER, SCHOOL_A),
    ):
        with db.write_session() as s:
            _, tokens[who] = create_token(s, role=role, school_id=school, name=who)
    from gradesync.auth.service import authenticate, revoke_token

    with db.write_session() as s:
        principal = authenticate(s, tokens["revoked"])
        assert principal is not None
        revoke_token(s, principal.token_id)
    return tokens


@pytest.fixture
def start_backend() -> Iterator[Callable[[Settings], Backend]]:
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(settings: Settings) -> Backend:
        app = create_app(settings)
        tokens = seed_principals(app)
        server, thread, url = serve_in_thread(app)
        running.append((server, thread))
        return Backend(url, app, tokens)

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def api(start_backend: Callable[[Settings], Backend], backend_settings: Settings) -> Backend:
    return start_backend(backend_settings)
