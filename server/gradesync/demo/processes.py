"""Child processes of the demo: the Sở simulator, the server, one-shot CLI commands.

Each service runs ``python -m gradesync.cli …`` (the installed package and
nothing else) in its **own session**, so a Ctrl-C in the terminal reaches the
demo alone and the demo decides how the children stop: SIGTERM, a grace
period, then SIGKILL. Their output goes to log files in the demo's home,
where the demo also reads the address each one announces (both bind port 0,
so the ports are free by construction, not guessed).

Public API: :class:`Service`, :func:`start_service`, :func:`spawn`,
:func:`stop_process`, :func:`run_command`, :func:`child_env`, :class:`DemoError`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

CLI = (sys.executable, "-m", "gradesync.cli")


class DemoError(RuntimeError):
    """The story cannot go on; the message (Vietnamese) says what broke and where to look."""


def child_env(home: Path, **settings: object) -> dict[str, str]:
    """The environment of every child: ours minus any ``GRADESYNC_*`` the user set, plus
    ``GRADESYNC_HOME`` and ``settings`` (``so_base_url="…"`` → ``GRADESYNC_SO_BASE_URL``).

    The demo must never write into a database or home the user configured for
    real work, so every setting of ours is dropped and only the given ones are set.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADESYNC_")}
    env["GRADESYNC_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in settings.items():
        if value is not None:
            env[f"GRADESYNC_{name.upper()}"] = str(value)
    return env


@dataclass
class Service:
    """A started service: its process, base URL and log file."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the service's process group, then SIGKILL after ``grace`` seconds."""
        stop_process(self.proc, grace)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM ``proc``'s process group (see :func:`spawn`), SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the group is its pid
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def start_service(
    name: str,
    args: list[str],
    *,
    env: dict[str, str],
    log: Path,
    announce: re.Pattern[str],
    health_path: str,
    timeout: float = 60.0,
) -> Service:
    """Start ``gradesync <args>``, wait for its announced URL and a 200 on ``health_path``.

    ``announce`` finds the base URL (group 1) in the log. Raises
    :class:`DemoError` (after stopping the process) when it exits or does not
    answer within ``timeout`` seconds.
    """
    offset = log.stat().st_size if log.exists() else 0  # a restart appends to the same log
    proc = spawn(args, env=env, log=log)
    try:
        url = _wait_for_url(proc, log, offset, announce, timeout)
        _wait_healthy(proc, url + health_path, log, timeout)
    except BaseException:
        stop_process(proc, 5)
        raise
    return Service(name, proc, url, log)


def spawn(args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``gradesync <args>`` in its own session, stdout and stderr appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [*CLI, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )


def _wait_for_url(
    proc: subprocess.Popen[bytes],
    log: Path,
    offset: int,
    announce: re.Pattern[str],
    timeout: float,
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with log.open("rb") as f:
            f.seek(offset)
            match = announce.search(f.read().decode(errors="replace"))
        if match:
            return match.group(1)
        if proc.poll() is not None:
            code = proc.returncode
            raise DemoError(f"Tiến trình dừng ngay khi khởi động (mã {code}); {_tail(log)}")
        time.sleep(0.05)
    raise DemoError(f"Tiến trình không báo địa chỉ sau {timeout:.0f} giây; {_tail(log)}")


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoError(f"Tiến trình dừng khi khởi động (mã {proc.returncode}); {_tail(log)}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise DemoError(f"{url} không trả lời sau {timeout:.0f} giây; {_tail(log)}")


def _tail(log: Path, lines: int = 8) -> str:
    text = log.read_text(errors="replace").strip().splitlines()[-lines:]
    return f"xem {log}:\n    " + "\n    ".join(text) if text else f"nhật ký trống ({log})"


def run_command(args: list[str], *, env: dict[str, str], stdin: str | None = None) -> str:
    """Run ``gradesync <args>`` to completion; its stdout, or :class:`DemoError` on failure."""
    done = subprocess.run(
        [*CLI, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        start_new_session=True,  # a Ctrl-C is the demo's to handle, not the command's
    )
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(không có thông báo)"]
        raise DemoError(f"Lệnh 'gradesync {args[0]} {args[1]}' lỗi: {message[0]}")
    return done.stdout


# Whole lines only (up to the newline): the log may be read while a line is half written.
SIMULATOR_ANNOUNCE = re.compile(r"^gradesync simulator listening on (http://\S+)\n", re.MULTILINE)
# `gradesync serve` prints this once the app has started and listens (gradesync.core.serve).
SERVER_ANNOUNCE = re.compile(r"^gradesync listening on (http://\S+)\n", re.MULTILINE)
