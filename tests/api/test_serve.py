"""``gradesync serve --port 0`` announces the real port in its own line, which the demo reads."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from gradesync.core.serve import listening_url
from gradesync.demo.processes import (
    CLI,
    SERVER_ANNOUNCE,
    child_env,
    start_service,
)

pytestmark = pytest.mark.slow


def test_serve_on_port_0_prints_the_port_it_listens_on(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    service = start_service(
        "server",
        ["serve", "--port", "0"],
        env=child_env(tmp_path, sync_embedded_worker="false"),
        log=log,
        announce=SERVER_ANNOUNCE,
        health_path="/healthz",
        timeout=60,
    )
    try:
        host_port = service.url.removeprefix("http://")
        host, port = host_port.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        assert httpx.get(service.url + "/healthz", timeout=10).status_code == 200
    finally:
        service.stop()
    lines = log.read_text().splitlines()
    assert lines.count(f"gradesync listening on {service.url}") == 1, lines


def test_serve_that_cannot_listen_announces_nothing_and_fails(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*CLI, "serve", "--port", str(port)],
            env=child_env(tmp_path, sync_embedded_worker="false"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode != 0
    assert "listening on" not in done.stdout + done.stderr


def test_the_demo_reads_our_line_whole_and_not_uvicorns() -> None:
    uvicorn_line = "INFO:     Uvicorn running on http://127.0.0.1:8123 (Press CTRL+C to quit)\n"
    assert SERVER_ANNOUNCE.search(uvicorn_line) is None
    assert SERVER_ANNOUNCE.search("gradesync listening on http://127.0.0.1:81") is None  # half
    found = SERVER_ANNOUNCE.search("started\ngradesync listening on http://127.0.0.1:8123\n")
    assert found is not None and found.group(1) == "http://127.0.0.1:8123"


def test_an_ipv6_host_is_announced_in_brackets() -> None:
    assert listening_url("::1", 8000) == "http://[::1]:8000"
    assert listening_url("0.0.0.0", 8000) == "http://0.0.0.0:8000"
