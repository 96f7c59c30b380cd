"""Leases and fencing: a dead worker's job is picked up, a stale worker cannot write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gradesync.core.db import utcnow
from gradesync.so import Stored
from gradesync.sync.claims import claim_jobs
from gradesync.sync.conclusion import Report, conclude
from gradesync.sync.results import settle_rows
from gradesync.sync.settings import SyncSettings
from gradesync.sync.steps import Fenced, prepare
from tests.fixtures.simulator import SimulatorControl
from tests.sync.conftest import FAST, SyncBackend, class_book

NO_EMBEDDED = {"GRADESYNC_SYNC_EMBEDDED_WORKER": "false", "GRADESYNC_SYNC_LEASE_SECONDS": "2"}


@pytest.fixture
def spawn_worker(
    tmp_path: Path, database_url: str, simulator: SimulatorControl
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def spawn() -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            **FAST,
            **NO_EMBEDDED,
            "GRADESYNC_HOME": str(tmp_path / "home"),
            "GRADESYNC_DATABASE_URL": database_url,
            "GRADESYNC_SO_BASE_URL": simulator.url,
        }
        log = open(tmp_path / f"worker-{len(procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "gradesync.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield spawn
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_for(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
    return value


def test_a_stale_claim_is_fenced_and_cannot_write_results(
    start_sync_backend: Callable[..., SyncBackend],
) -> None:
    backend = start_sync_backend(**NO_EMBEDDED)
    db = backend.app.state.db
    file_id = backend.upload(class_book(3))
    backend.push(file_id)

    ((stale,), _) = claim_jobs(db, "worker-A", 1, lease=0.2, cap=10)
    rows, _ = prepare(db, stale.claim, utcnow())
    time.sleep(0.4)  # worker-A stalls past its lease
    ((fresh,), _) = claim_jobs(db, "worker-B", 1, lease=30, cap=10)

    assert fresh.claim.job_id == stale.claim.job_id
    assert fresh.claim.fence == stale.claim.fence + 1
    outcomes = [Stored("created")] * 3
    settlement = settle_rows(stale.claim.job_id, rows, outcomes, SyncSettings(), utcnow())
    with pytest.raises(Fenced):
        conclude(db, stale.claim, Report(settlement=settlement, unreadable=True), utcnow())
    assert {r["sync"] for r in backend.rows(file_id)} == {"SENDING"}  # nothing written
    (reclaim,) = [e for e in backend.audit(file_id) if e["cause"] == "LEASE_EXPIRED"]
    assert "worker-A" in reclaim["message"] and "worker-B" in reclaim["message"]
    # The fresh claim writes, and finishes the job.
    conclude(db, fresh.claim, Report(settlement=settlement, unreadable=True), utcnow())
    assert {r["sync"] for r in backend.rows(file_id)} == {"SYNCED"}
    (job,) = backend.jobs(file_id)
    assert (job["state"], job["reconcile"]) == ("DONE", "UNCHECKED")


def test_a_worker_killed_mid_job_is_replaced_when_its_lease_expires(
    start_sync_backend: Callable[..., SyncBackend],
    simulator: SimulatorControl,
    spawn_worker: Callable[[], subprocess.Popen[bytes]],
) -> None:
    backend = start_sync_backend(**NO_EMBEDDED)
    simulator.configure(faults={"slow": 1.0, "slow_seconds": 30})  # stored, answer held back
    file_id = backend.upload(class_book(6))
    backend.push(file_id)
    first = spawn_worker()
    wait_for(lambda: simulator.counters()["batches"] >= 1)

    first.kill()  # SIGKILL mid-job: the batch is stored, the answer never read
    first.wait()
    simulator.configure(faults={"slow": 0.0})
    spawn_worker()
    (job,) = backend.wait_settled(file_id, timeout=40)

    assert job["state"] == "DONE" and job["runs"] == 2
    assert {r["sync"] for r in backend.rows(file_id)} == {"SYNCED"}
    assert [e["cause"] for e in backend.audit(file_id) if e["kind"] == "job"].count(
        "LEASE_EXPIRED"
    ) == 1
    assert len(simulator.store(class_name="6A1", subject_code="TOAN")) == 6
    assert simulator.counters()["duplicate_writes"] == 0  # the replay was legitimate


def test_a_frozen_worker_resumes_fenced_after_another_finished_its_job(
    start_sync_backend: Callable[..., SyncBackend],
    simulator: SimulatorControl,
    spawn_worker: Callable[[], subprocess.Popen[bytes]],
) -> None:
    backend = start_sync_backend(**NO_EMBEDDED)
    simulator.configure(faults={"slow": 1.0, "slow_seconds": 3})
    file_id = backend.upload(class_book(4))
    backend.push(file_id)
    frozen = spawn_worker()
    wait_for(lambda: simulator.counters()["batches"] >= 1)

    os.kill(frozen.pid, signal.SIGSTOP)  # stalls past its lease (2 s) without dying
    simulator.configure(faults={"slow": 0.0})
    spawn_worker()
    (job,) = backend.wait_settled(file_id, timeout=40)
    os.kill(frozen.pid, signal.SIGCONT)

    trail = wait_for(
        lambda: (
            [e for e in backend.audit(file_id) if e["cause"] == "STALE_WORKER_FENCED"]
            and backend.audit(file_id)
        )
    )
    assert job["state"] == "DONE"
    (after,) = backend.jobs(file_id)
    assert (after["state"], after["runs"]) == ("DONE", 2)  # the stale worker changed nothing
    assert {r["sync"] for r in backend.rows(file_id)} == {"SYNCED"}
    last_job_change = [
        e
        for e in trail
        if e["kind"] == "job" and e["to_state"] != "DONE" and e["cause"] != "STALE_WORKER_FENCED"
    ]
    assert last_job_change[-1]["to_state"] == "RUNNING"  # claims only; no stale release


def test_a_worker_killed_after_the_so_answered_is_not_followed_by_a_second_write(
    start_sync_backend: Callable[..., SyncBackend],
    simulator: SimulatorControl,
    spawn_worker: Callable[[], subprocess.Popen[bytes]],
) -> None:
    backend = start_sync_backend(**NO_EMBEDDED)
    # The batch is stored and answered; the run's read-back then hangs, so the
    # worker dies knowing the Sở's answer but before writing it down.
    simulator.configure(fault_paths=["/api/v1/grades"], faults={"slow": 1.0, "slow_seconds": 30})
    file_id = backend.upload(class_book(6))
    backend.push(file_id)
    first = spawn_worker()
    wait_for(lambda: simulator.counters()["batches"] >= 1)
    wait_for(lambda: simulator.counters()["requests"]["total"] >= 3)  # token, batch, read-back

    first.kill()
    first.wait()
    assert {r["sync"] for r in backend.rows(file_id)} == {"SENDING"}  # the answer was lost
    simulator.configure(faults={"slow": 0.0})
    spawn_worker()
    (job,) = backend.wait_settled(file_id, timeout=40)

    assert job["state"] == "DONE"
    assert {r["sync"] for r in backend.rows(file_id)} == {"SYNCED"}
    confirmed = [e for e in backend.audit(file_id) if e["cause"] == "STORED_CONFIRMED"]
    assert len(confirmed) == 6  # settled from the read-back, not sent again
    counters = simulator.counters()
    assert counters["batches"] == 1
    assert counters["duplicate_writes"] == 0
