"""The ``/_sim/`` controls and the command line: fixture files, file databases, reset, seed."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

import httpx

from tests.fixtures.simulator import SCHOOL_ID, SCHOOL_YEAR, SimulatorControl, sample_seed
from tests.simulator.conftest import batch, score

DATA = Path(__file__).parent / "data"
BOOK_7A3 = {"school_id": "79000999", "school_year": "2025-2026", "semester": "HK1",
            "class_name": "7A3", "subject_code": "TOAN"}  # fmt: skip
RECORD = {"student_id": "001234567890", "tx": [9, 9.5], "gk": 10, "ck": 9.5}


def _write_7a3(control: SimulatorControl) -> httpx.Response:
    token = control.token("thcs-thu-nghiem", "bí-mật")
    return control.http.post(
        "/api/v1/grades/batch",
        json={**BOOK_7A3, "records": [RECORD]},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_fixture_file_seeds_roster_windows_and_config(simulator_factory) -> None:
    control = simulator_factory(seed=3, fixture=DATA / "seed.json")
    config = control.config()
    assert (config["mode"], config["max_batch"], config["seed"]) == ("atomic", 50, 3)
    assert _write_7a3(control).json()["results"][0]["action"] == "created"
    assert control.store()[0]["student_id"] == "001234567890"  # leading zeros kept


def test_a_file_database_keeps_grades_and_roster_across_restarts(
    simulator_factory, tmp_path: Path
) -> None:
    db = tmp_path / "so.sqlite"
    first = simulator_factory(fixture=DATA / "seed.json", db=db)
    _write_7a3(first)
    second = simulator_factory(db=db)  # no fixture: the roster comes from the file
    assert second.store(class_name="7A3") == [{**BOOK_7A3, **RECORD, "writes": 1}]
    assert _write_7a3(second).json()["results"][0]["action"] == "unchanged"


def test_reset_forgets_grades_tokens_counters_locks_but_keeps_roster_and_config(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    simulator.configure(mode="atomic")
    so.post("/api/v1/grades/batch", json=batch([score(0)]))
    simulator.lock("6A1", "NGUVAN")
    simulator.reset()
    assert simulator.store() == []
    assert simulator.counters()["requests"]["total"] == 0
    assert simulator.config()["mode"] == "atomic"
    assert so.get("/api/v1/time").status_code == 200
    assert so.get("/api/v1/windows").status_code == 401  # the old token is gone
    so.headers["Authorization"] = f"Bearer {simulator.token()}"
    assert so.post("/api/v1/grades/batch", json=batch([score(0)], subject_code="NGUVAN")).is_success
    simulator.reset(config=True, roster=True)
    assert simulator.config()["mode"] == "partial"
    assert simulator.http.post("/oauth/token", data={"grant_type": "client_credentials",
           "client_id": SCHOOL_ID, "client_secret": "x"}).status_code == 401  # fmt: skip


def test_seed_replaces_schools_and_windows_by_id(simulator: SimulatorControl) -> None:
    doc = sample_seed(students_per_class=3)
    doc["schools"] = doc["schools"][:1]
    doc["windows"] = doc["windows"][:1]
    simulator.seed(doc)
    token = simulator.token()
    students = simulator.http.get(
        f"/api/v1/schools/{SCHOOL_ID}/classes/6A1/students",
        params={"school_year": SCHOOL_YEAR},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["students"]
    assert len(students) == 3
    windows = simulator.http.get(
        "/api/v1/windows", headers={"Authorization": f"Bearer {token}"}
    ).json()["windows"]
    assert [w["id"] for w in windows] == ["hk1", "hk2"]


def test_bad_seed_is_refused_with_the_reason(simulator: SimulatorControl) -> None:
    doc = sample_seed()
    doc["schools"][0]["classes"][0]["students"][0]["student_id"] = "7.91234E+11"
    response = simulator.http.post("/_sim/seed", json=doc)
    assert response.status_code == 400
    assert "student_id" in response.json()["message"]


def test_duplicate_writes_count_only_resends_of_acknowledged_data(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    so.post("/api/v1/grades/batch", json=batch([score(0), score(1)]))
    so.post("/api/v1/grades/batch", json=batch([score(0, ck=10), score(1, ck=10)]))
    assert simulator.counters()["duplicate_writes"] == 0  # changed data is never a duplicate
    so.post("/api/v1/grades/batch", json=batch([score(0, ck=10), score(1)]))
    counters = simulator.counters()
    assert counters["duplicate_writes"] == 1
    assert counters["records"]["unchanged"] == 1


def test_the_gradesync_command_runs_the_simulator(simulator_factory) -> None:
    control = simulator_factory(command=(sys.executable, "-m", "gradesync.cli", "simulator"))
    assert control.config()["mode"] == "partial"


def test_concurrent_batches_are_each_judged_and_stored_whole(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    """Eight clients write the same 40 students at once; every record is accounted for."""
    token = so.headers["Authorization"]

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=simulator.url, headers={"Authorization": token}) as c:
            bodies = [batch([score(n, ck=k) for n in range(40)]) for k in range(8)]
            return await asyncio.gather(*(c.post("/api/v1/grades/batch", json=b) for b in bodies))

    responses = asyncio.run(run())
    actions = Counter(r["action"] for resp in responses for r in resp.json()["results"])
    assert actions == {"created": 40, "updated": 7 * 40}
    assert sum(r["writes"] for r in simulator.store()) == 8 * 40


def test_a_replay_under_the_same_idempotency_key_is_not_a_duplicate(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    """A sender that died before recording the Sở's answer replays the very request."""
    body = batch([score(0), score(1)])
    so.post("/api/v1/grades/batch", json=body, headers={"Idempotency-Key": "k-1"})
    replay = so.post("/api/v1/grades/batch", json=body, headers={"Idempotency-Key": "k-1"})
    assert [r["action"] for r in replay.json()["results"]] == ["unchanged", "unchanged"]
    assert simulator.counters()["duplicate_writes"] == 0
    # The same data under another key, or none, is a new request re-sending stored data.
    so.post("/api/v1/grades/batch", json=body, headers={"Idempotency-Key": "k-2"})
    so.post("/api/v1/grades/batch", json=body)
    assert simulator.counters()["duplicate_writes"] == 4
    # A key reused for other content does not launder that content.
    other = batch([score(0, ck=10), score(1)])
    so.post("/api/v1/grades/batch", json=other, headers={"Idempotency-Key": "k-1"})
    assert simulator.counters()["duplicate_writes"] == 5  # score(1) unchanged, acknowledged
