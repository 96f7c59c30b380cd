"""Injected faults: 5xx, dropped connections (before / after storing), slow answers, 429.

Faults are drawn from one seeded generator, one draw per request on a fault
path: the same requests after a reset meet the same faults.
"""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from tests.fixtures.simulator import SimulatorControl
from tests.simulator.conftest import batch, score

BATCH = "/api/v1/grades/batch"


def _outcomes(so: httpx.Client, n: int) -> list[str]:
    """Status of ``n`` batches (student ``i % 40`` each), ``"reset"`` for a dropped connection."""
    out = []
    for i in range(n):
        try:
            out.append(str(so.post(BATCH, json=batch([score(i % 40)])).status_code))
        except httpx.TransportError:
            out.append("reset")
    return out


@pytest.mark.parametrize("status", ["500", "502", "503", "504"])
def test_server_errors_at_a_rate_deterministic_by_seed(
    simulator: SimulatorControl, so: httpx.Client, status: str
) -> None:
    simulator.configure(faults={status: 0.3})
    first = _outcomes(so, 100)
    counts = Counter(first)
    assert 15 <= counts[status] <= 45, counts  # 30 expected
    assert set(counts) == {"200", status}
    simulator.reset()  # restarts the fault sequence from the seed
    so.headers["Authorization"] = f"Bearer {simulator.token()}"
    assert _outcomes(so, 100) == first
    simulator.reset()
    simulator.configure(seed=99)
    so.headers["Authorization"] = f"Bearer {simulator.token()}"
    assert _outcomes(so, 100) != first


def test_drop_before_resets_the_connection_and_stores_nothing(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    simulator.configure(faults={"drop_before": 1.0})
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        so.post(BATCH, json=batch([score(0)]))
    assert simulator.store() == []
    counters = simulator.counters()
    assert counters["requests"]["dropped"] == 1
    assert counters["batches"] == 0


def test_drop_after_stores_then_resets_and_the_replay_is_not_a_duplicate(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    simulator.configure(faults={"drop_after": 1.0})
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        so.post(BATCH, json=batch([score(0), score(1)]))
    assert [r["student_id"] for r in simulator.store()] == [score(0)["student_id"],
                                                             score(1)["student_id"]]  # fmt: skip
    simulator.configure(faults={"drop_after": 0.0})
    replay = so.post(BATCH, json=batch([score(0), score(1)]))
    assert [r["action"] for r in replay.json()["results"]] == ["unchanged", "unchanged"]
    assert simulator.counters()["duplicate_writes"] == 0
    # The replay's answer was delivered: sending the same data once more is a duplicate.
    so.post(BATCH, json=batch([score(0), score(1)]))
    assert simulator.counters()["duplicate_writes"] == 2


def test_a_drop_is_a_connection_error_on_any_faulted_path(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    simulator.configure(faults={"drop_before": 1.0}, fault_paths=["*"])
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        so.get("/api/v1/time")
    assert simulator.http.get("/_sim/counters").status_code == 200  # controls never fault


def test_faults_apply_only_to_fault_paths(simulator: SimulatorControl, so: httpx.Client) -> None:
    simulator.configure(faults={"503": 1.0})
    assert so.get("/api/v1/time").status_code == 200
    assert so.post(BATCH, json=batch([score(0)])).status_code == 503


def test_slow_answer_arrives_late_but_whole(simulator: SimulatorControl, so: httpx.Client) -> None:
    simulator.configure(faults={"slow": 1.0, "slow_seconds": 0.5})
    started = time.monotonic()
    response = so.post(BATCH, json=batch([score(0)]))
    assert time.monotonic() - started >= 0.5
    assert response.json()["results"][0]["action"] == "created"


def test_a_client_that_times_out_on_a_slow_answer_may_replay_without_duplicate(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    simulator.configure(faults={"slow": 1.0, "slow_seconds": 1.0})
    with pytest.raises(httpx.ReadTimeout):
        so.post(BATCH, json=batch([score(0)]), timeout=0.3)
    time.sleep(1.0)  # let the simulator finish its (undelivered) answer
    assert len(simulator.store()) == 1  # it was stored before the wait
    simulator.configure(faults={"slow": 0.0})
    replay = so.post(BATCH, json=batch([score(0)]))
    assert replay.json()["results"][0]["action"] == "unchanged"
    assert simulator.counters()["duplicate_writes"] == 0


def test_rate_limit_answers_429_with_whole_seconds_to_wait(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    simulator.configure(rate_limit={"requests_per_second": 1, "burst": 2})
    statuses = [so.post(BATCH, json=batch([score(0)])) for _ in range(5)]
    assert [r.status_code for r in statuses] == [200, 200, 429, 429, 429]
    retry_after = statuses[-1].headers["retry-after"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    assert so.get("/api/v1/time").status_code == 200  # not a fault path
    time.sleep(int(retry_after))
    assert so.post(BATCH, json=batch([score(0)])).status_code == 200
    assert simulator.counters()["requests"]["by_status"]["429"] == 3


def test_fault_config_is_validated(simulator: SimulatorControl) -> None:
    response = simulator.http.patch("/_sim/config", json={"faults": {"500": 0.7, "503": 0.7}})
    assert response.status_code == 400
    response = simulator.http.patch("/_sim/config", json={"fautls": {}})
    assert response.status_code == 400
    assert simulator.config()["faults"]["500"] == 0.0
