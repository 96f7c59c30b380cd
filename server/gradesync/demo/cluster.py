"""A gradesync deployment on this machine, as processes: what the demo, the end-to-end
tests and the drain benchmark all start the same way.

* :func:`start_simulator` — ``gradesync simulator --port 0`` (the Sở);
* :class:`Cluster` — one home and database, ``gradesync school add`` /
  ``token create``, a ``gradesync serve`` and any number of ``gradesync
  worker`` processes, each of which can be SIGKILLed and restarted.

Public API: :func:`start_simulator`, :class:`Cluster`, :class:`Worker`.
"""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from gradesync.demo.processes import (
    SERVER_ANNOUNCE,
    SIMULATOR_ANNOUNCE,
    DemoError,
    Service,
    child_env,
    run_command,
    spawn,
    start_service,
    stop_process,
)


def start_simulator(home: Path, *, seed: int | None = None, name: str = "simulator") -> Service:
    """The Sở simulator on a free loopback port; its log is ``home/<name>.log``."""
    args = ["simulator", "--port", "0"]
    if seed is not None:
        args += ["--seed", str(seed)]
    return start_service(
        name,
        args,
        env=child_env(home),
        log=home / f"{name}.log",
        announce=SIMULATOR_ANNOUNCE,
        health_path="/_sim/config",
    )


@dataclass
class Worker:
    """A ``gradesync worker`` process."""

    number: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class Cluster:
    """Server and workers sharing ``home`` and ``database_url`` (None: SQLite in ``home``).

    ``settings`` are extra backend settings by name without the prefix
    (``{"sync_retry_initial": 0.5}`` → ``GRADESYNC_SYNC_RETRY_INITIAL``).
    """

    home: Path
    so_base_url: str
    database_url: str | None = None
    settings: dict[str, object] = field(default_factory=dict)
    server: Service | None = None
    workers: list[Worker] = field(default_factory=list)

    def env(self, **overrides: object) -> dict[str, str]:
        values = {"so_base_url": self.so_base_url, "database_url": self.database_url}
        return child_env(self.home, **{**values, **self.settings, **overrides})

    # -- set-up through the CLI ---------------------------------------------

    def add_school(self, school_id: str, name: str, client_id: str, client_secret: str) -> None:
        run_command(
            ["school", "add", "--id", school_id, "--name", name,
             "--so-client-id", client_id, "--so-client-secret", "-"],
            env=self.env(), stdin=client_secret + "\n",
        )  # fmt: skip

    def create_token(self, role: str, school_id: str | None = None, name: str = "") -> str:
        """``gradesync token create``: the token (its last line of stdout)."""
        args = ["token", "create", "--role", role, "--name", name]
        if school_id:
            args += ["--school", school_id]
        return run_command(args, env=self.env()).strip().splitlines()[-1]

    # -- processes ----------------------------------------------------------

    def start_server(self, *, embedded_worker: bool = True) -> Service:
        """``gradesync serve --port 0`` (a fresh port each time: a restart changes the URL)."""
        if self.server is not None and self.server.proc.poll() is None:
            raise DemoError("Máy chủ đang chạy.")
        self.server = start_service(
            "server",
            ["serve", "--port", "0"],
            env=self.env(sync_embedded_worker=str(embedded_worker).lower()),
            log=self.home / "server.log",
            announce=SERVER_ANNOUNCE,
            health_path="/healthz",
        )
        return self.server

    def kill_server(self) -> None:
        """SIGKILL the server: no shutdown, no cleanup, like a power cut."""
        if self.server is not None:
            _kill(self.server.proc)

    def start_worker(self) -> Worker:
        number = len(self.workers) + 1
        log = self.home / f"worker-{number}.log"
        worker = Worker(number, spawn(["worker"], env=self.env(), log=log), log)
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: Worker) -> Worker:
        """SIGKILL ``worker`` and start a new one in its place; the new one."""
        _kill(worker.proc)
        self.workers.remove(worker)
        log = worker.log
        replacement = Worker(worker.number, spawn(["worker"], env=self.env(), log=log), log)
        self.workers.append(replacement)
        return replacement

    def stop(self) -> None:
        for worker in self.workers:
            stop_process(worker.proc)
        if self.server is not None:
            self.server.stop()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
