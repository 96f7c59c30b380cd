"""``gradesync demo`` as a user runs it: a subprocess, its exit code, its final numbers."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

import httpx
import pytest

from gradesync.demo.story import build_story

DEMO = (sys.executable, "-m", "gradesync.cli", "demo")


def _clean_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.mark.slow
def test_demo_tells_the_whole_story_and_the_so_agrees(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = subprocess.run(
        [*DEMO, "--home", str(tmp_path / "home"), "--report", str(report)],
        capture_output=True, text=True, timeout=280, env=_clean_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    outcome = json.loads(report.read_text())
    expected = build_story().expected()
    assert outcome["ok"] is True and outcome["problems"] == []
    assert (outcome["rows"], outcome["invalid"]) == (expected.rows, expected.invalid)
    assert (outcome["synced"], outcome["failed"], outcome["dead"]) == (
        expected.synced,
        expected.failed,
        expected.dead,
    )
    assert outcome["unsettled"] == 0
    # The Sở's own count, not ours: every synced row stored once, nothing re-sent.
    assert outcome["so_stored"] == expected.synced
    assert outcome["so_duplicate_writes"] == 0
    # What the staff saw: the final table and the verdict, in Vietnamese.
    assert "Đã lên Sở" in done.stdout and "STUDENT_NOT_FOUND" in done.stdout
    assert "✓ Hoàn tất" in done.stdout


def _pump(stream: TextIO, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def _pids(line: str) -> list[int]:
    return [int(p) for p in re.findall(r"\(pid (\d+)\)", line)]


def test_ctrl_c_stops_the_server_and_the_simulator(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*DEMO, "--home", str(tmp_path / "home"), "--window-in", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_clean_env(),
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    pids: list[int] = []
    urls: list[str] = []
    output: list[str] = []
    deadline = time.monotonic() + 120
    try:
        while len(pids) < 2 and time.monotonic() < deadline:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            output.append(line)
            pids += _pids(line)
            urls += re.findall(r"(http://127\.0\.0\.1:\d+)", line)
        assert len(pids) == 2, "".join(output)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal does
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    for url in urls:
        with pytest.raises(httpx.TransportError):
            httpx.get(url, timeout=2)
    assert "Khởi động máy chủ" in "".join(output)


def test_refuses_a_home_that_already_holds_data(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "gradesync.db").write_bytes(b"someone's data")
    done = subprocess.run(
        [*DEMO, "--home", str(home)], capture_output=True, text=True, timeout=60, env=_clean_env()
    )
    assert done.returncode == 1
    assert "đã có dữ liệu" in done.stdout
    assert (home / "gradesync.db").read_bytes() == b"someone's data"
