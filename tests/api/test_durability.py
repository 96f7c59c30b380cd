"""``gradesync serve`` as a real process: set up by the CLI, SIGKILLed, restarted on the same HOME.

* a 201 means the file and all its staged rows survive an immediate SIGKILL;
* a kill in the middle of an upload leaves nothing half-staged visible;
* a big file answered ``PARSING`` and killed is parsed again at the next start.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.workbooks import SheetSpec, build_class_workbook, school_workbook, students

pytestmark = pytest.mark.slow

GRADESYNC = [sys.executable, "-m", "gradesync.cli"]


class ServerProcess:
    """One ``gradesync serve --port 0`` process; its URL is read from its log."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [*GRADESYNC, "serve", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.log: list[str] = []
        found = threading.Event()
        self.url = ""

        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.log.append(line)
                m = re.match(r"gradesync listening on (http://\S+)$", line)
                if m:
                    self.url = m.group(1)
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(60):
            self.proc.kill()
            raise RuntimeError("server did not start:\n" + "".join(self.log))

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "GRADESYNC_HOME": str(tmp_path / "home"),
        "GRADESYNC_DATABASE_URL": database_url,
    }


@pytest.fixture
def token(env: dict[str, str]) -> str:
    run = lambda *args, **kw: subprocess.run(  # noqa: E731
        [*GRADESYNC, *args], env=env, capture_output=True, text=True, check=True, **kw
    )
    run(
        "school",
        "add",
        "--id",
        "79000701",
        "--name",
        "THCS A",
        "--so-client-id",
        "a",
        "--so-client-secret",
        "-",
        input="bí-mật\n",
    )
    return run("token", "create", "--role", "teacher", "--school", "79000701").stdout.splitlines()[
        -1
    ]


@pytest.fixture
def servers(env: dict[str, str]) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for s in started:
        if s.proc.poll() is None:
            s.kill()


def start(env: dict[str, str], servers: list[ServerProcess]) -> ServerProcess:
    server = ServerProcess(env)
    servers.append(server)
    return server


def client(server: ServerProcess, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def test_a_201_survives_sigkill(env, token, servers) -> None:
    data = build_class_workbook(
        [SheetSpec("TOAN", students(45)), SheetSpec("NGUVAN", students(45))]
    )
    server = start(env, servers)
    with client(server, token) as c:
        r = c.post("/api/files", files={"file": ("BangDiem_6A1.xlsx", data)})
    server.kill()  # at once: no graceful shutdown, nothing flushed on the way out
    assert r.status_code == 201, r.text
    fid = r.json()["file_id"]

    server = start(env, servers)
    with client(server, token) as c:
        summary = c.get(f"/api/files/{fid}").json()
        rows = c.get(f"/grades/status/{fid}").json()["rows"]
    assert summary["counts"]["rows"] == 90
    assert len(rows) == 90
    assert {r["student_id"] for r in rows} == {s.student_id for s in students(45)}


def test_a_kill_during_an_upload_leaves_nothing_half_staged(env, token, servers) -> None:
    server = start(env, servers)
    data = build_class_workbook([SheetSpec("TOAN", students(45))])
    boundary = "b0undary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="a.xlsx"\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            (
                f"POST /api/files HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body[: len(body) // 2]
        )
        time.sleep(0.5)  # the server is now streaming the first half to its temp file
        server.kill()

    server = start(env, servers)
    with client(server, token) as c:
        assert c.get("/api/files").json()["files"] == []
        # and the same upload, complete this time, is a new file
        assert c.post("/api/files", files={"file": ("a.xlsx", data)}).status_code == 201


def test_a_file_left_parsing_is_parsed_after_restart(env, token, servers) -> None:
    env = {**env, "GRADESYNC_INLINE_PARSE_MAX_BYTES": "0"}  # everything in the background
    data = school_workbook(600, 15)
    server = start(env, servers)
    with client(server, token) as c:
        r = c.post("/api/files", files={"file": ("Truong.xlsx", data)})
    server.kill()
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "PARSING"
    fid = r.json()["file_id"]

    server = start(env, servers)
    with client(server, token) as c:
        deadline = time.monotonic() + 120
        while (summary := c.get(f"/api/files/{fid}").json())["status"] == "PARSING":
            assert time.monotonic() < deadline, "still PARSING"
            time.sleep(0.2)
    assert summary["status"] == "PARSED_OK"
    assert summary["counts"]["rows"] == 600 * 15
    assert len(summary["sheets"]) == 15
