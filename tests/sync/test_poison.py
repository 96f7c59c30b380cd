"""A job whose run fails unexpectedly every time is not re-claimed forever: after three
crashes in a row it is DEAD, with its rows in the dead letters and a cause in the audit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.simulator import SimulatorControl
from tests.sync.conftest import SyncBackend, class_book


def test_a_job_that_crashes_every_run_goes_dead_after_three_and_retry_revives_it(
    sync_backend: SyncBackend, simulator: SimulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug in our own code path that every run of this job hits (the Sở is fine):
    # the only fault injected in-process, because correct code cannot produce one.
    client = sync_backend.app.state.sync.worker.client
    real_push = client.push

    async def broken_push(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug that hits every run")

    monkeypatch.setattr(client, "push", broken_push)
    file_id = sync_backend.upload(class_book(4))
    assert sync_backend.push(file_id).status_code == 202

    (job,) = sync_backend.wait_settled(file_id, timeout=30)

    assert (job["state"], job["runs"], job["last_error"]) == ("DEAD", 3, "RuntimeError")
    assert "lặp lại 3 lần" in job["message"] and "Gửi lại" in job["message"]
    causes = [e["cause"] for e in sync_backend.audit(file_id) if e["kind"] == "job"]
    assert causes.count("RUN_CRASHED") == 2 and causes[-1] == "RUN_CRASHED_REPEATEDLY"
    assert "LEASE_EXPIRED" not in causes  # requeued at once, not left to its lease
    assert {r["sync"] for r in sync_backend.rows(file_id)} == {"DEAD"}
    (letter,) = sync_backend.get("/api/dead-letters")["dead_letters"]
    assert letter["job"]["job_id"] == job["job_id"] and len(letter["rows"]) == 4
    assert all(r["errors"][0]["code"] == "RUN_CRASHED" for r in letter["rows"])
    assert simulator.counters()["batches"] == 0

    # Fixed: "Gửi lại" sends the rows with a fresh crash budget.
    monkeypatch.setattr(client, "push", real_push)
    with sync_backend.client("staff") as c:
        assert c.post(f"/api/jobs/{job['job_id']}/retry").status_code == 202
    (job,) = sync_backend.wait_settled(file_id)
    assert job["state"] == "DONE"
    assert {r["sync"] for r in sync_backend.rows(file_id)} == {"SYNCED"}
