"""The Sở's clock: ``Date`` on every response, ``/api/v1/time``, windows judged on it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from tests.fixtures.simulator import SCHOOL_YEAR, SO_TZ, SimulatorControl, sample_seed
from tests.simulator.conftest import batch, score

OFFSET = 600.0  # ten minutes


def _sở_time(simulator: SimulatorControl) -> datetime:
    return datetime.fromisoformat(simulator.http.get("/api/v1/time").json()["now"])


def test_time_has_milliseconds_and_the_vietnam_offset(simulator: SimulatorControl) -> None:
    now = simulator.http.get("/api/v1/time").json()["now"]
    # e.g. 2026-12-04T22:15:03.123+07:00
    assert now[19] == "." and len(now.split(".")[1]) == len("123+07:00")
    assert now.endswith("+07:00")
    assert abs(datetime.fromisoformat(now).timestamp() - time.time()) < 2


@pytest.mark.parametrize("offset", [OFFSET, -OFFSET])
def test_clock_offset_shows_in_time_and_date(simulator: SimulatorControl, offset: float) -> None:
    simulator.configure(clock_offset=offset)
    ours = time.time()
    response = simulator.http.get("/api/v1/time")
    sở = datetime.fromisoformat(response.json()["now"]).timestamp()
    date = parsedate_to_datetime(response.headers["date"]).timestamp()
    assert sở - ours == pytest.approx(offset, abs=1)
    assert date - ours == pytest.approx(offset, abs=2)  # Date has 1-second resolution


def test_every_response_carries_date_also_errors_and_controls(simulator) -> None:
    for response in (
        simulator.http.get("/api/v1/windows"),  # 401
        simulator.http.get("/nowhere"),  # 404
        simulator.http.get("/_sim/counters"),
    ):
        assert len(response.headers.get_list("date")) == 1


def _window_around(simulator: SimulatorControl, opens: datetime, closes: datetime) -> None:
    doc = sample_seed()
    doc["windows"] = [
        {"id": "hk1", "school_year": SCHOOL_YEAR, "semester": "HK1",
         "opens_at": opens.isoformat(), "closes_at": closes.isoformat()}
    ]  # fmt: skip
    simulator.seed(doc)


def test_window_is_judged_on_the_sở_clock(simulator: SimulatorControl, so: httpx.Client) -> None:
    # The window opens five minutes from now by our clock …
    opens = datetime.now(SO_TZ) + timedelta(minutes=5)
    _window_around(simulator, opens, opens + timedelta(hours=1))
    closed = so.post("/api/v1/grades/batch", json=batch([score(0)]))
    assert closed.status_code == 403
    assert closed.json() == {
        "error": "WINDOW_CLOSED",
        "opens_at": opens.isoformat(),
        "closes_at": (opens + timedelta(hours=1)).isoformat(),
    }
    # … but the Sở's clock is ten minutes ahead, so by the Sở it is open.
    simulator.configure(clock_offset=OFFSET)
    assert so.post("/api/v1/grades/batch", json=batch([score(0)])).status_code == 200


def test_window_closed_by_the_sở_clock_names_the_last_window(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    closes = datetime.now(SO_TZ) + timedelta(minutes=5)
    _window_around(simulator, closes - timedelta(hours=1), closes)
    assert so.post("/api/v1/grades/batch", json=batch([score(0)])).status_code == 200
    simulator.configure(clock_offset=OFFSET)  # by the Sở it closed five minutes ago
    response = so.post("/api/v1/grades/batch", json=batch([score(0)]))
    assert response.status_code == 403
    assert response.json()["error"] == "WINDOW_CLOSED"
    assert response.json()["closes_at"] == closes.isoformat()


def test_a_semester_without_any_window_is_closed(so: httpx.Client) -> None:
    response = so.post("/api/v1/grades/batch", json=batch([score(0)], semester="CN"))
    assert response.status_code == 403
    assert response.json() == {"error": "WINDOW_CLOSED", "opens_at": None, "closes_at": None}
