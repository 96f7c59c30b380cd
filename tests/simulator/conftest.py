"""Helpers for the simulator's own tests: an authenticated client and batch builders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.simulator import SCHOOL_ID, SCHOOL_YEAR, SimulatorControl, student_id


@pytest.fixture
def so(simulator: SimulatorControl) -> Iterator[httpx.Client]:
    """An httpx client of the simulated Sở, holding a token of school ``SCHOOL_ID``."""
    headers = {"Authorization": f"Bearer {simulator.token()}"}
    with httpx.Client(base_url=simulator.url, headers=headers, timeout=10) as client:
        yield client


def score(n: int, **overrides: Any) -> dict[str, Any]:
    """A valid score-subject record for student ``n`` of class 6A1."""
    record = {"student_id": student_id(1, 1, n), "tx": [8, 7.5, 9], "gk": 8.5, "ck": 9}
    record.update(overrides)
    return record


def batch(records: list[Any], **overrides: Any) -> dict[str, Any]:
    """A batch for 6A1 × TOAN × HK1 of ``SCHOOL_ID``."""
    body = {
        "school_id": SCHOOL_ID,
        "school_year": SCHOOL_YEAR,
        "semester": "HK1",
        "class_name": "6A1",
        "subject_code": "TOAN",
        "records": records,
    }
    body.update(overrides)
    return body


BOOK = {k: v for k, v in batch([]).items() if k != "records"}
