"""Helpers for the Sở client's tests: records of the sample roster, a client factory.

The roster and credentials are those of ``tests.fixtures.simulator.sample_seed``:
school ``SCHOOL_ID`` with class ``6A1`` (40 students by default) taking ``TOAN``
(score) and ``GDTC`` (comment).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from gradesync.so import GradebookKey, RetryPolicy, SchoolCredentials, SoClient
from tests.fixtures.simulator import (
    CLIENT_ID,
    CLIENT_SECRET,
    SCHOOL_ID,
    SCHOOL_YEAR,
    student_id,
)

T = TypeVar("T")

CREDS = SchoolCredentials(SCHOOL_ID, CLIENT_ID, CLIENT_SECRET)
TOAN = GradebookKey(SCHOOL_YEAR, "HK1", "6A1", "TOAN")
GDTC = GradebookKey(SCHOOL_YEAR, "HK1", "6A1", "GDTC")

#: Quick retries, so fault tests take seconds, with enough attempts to outlast 30% fault rates.
FAST_RETRY = RetryPolicy(max_attempts=12, max_elapsed=60, initial=0.02, max_backoff=0.3)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to the end (for sync tests such as hypothesis' ones)."""
    return asyncio.run(coro)


def client_for(url: str, **options: Any) -> SoClient:
    options.setdefault("retry", FAST_RETRY)
    return SoClient(url, **options)


def score(n: int, gk: float = 8.5, **extra: Any) -> dict[str, Any]:
    """A valid TOAN record for student ``n`` of 6A1."""
    return {"student_id": student_id(1, 1, n), "tx": [8, 7.5, 9, 10], "gk": gk, "ck": 9, **extra}


def scores(count: int, gk: float = 8.5) -> list[dict[str, Any]]:
    return [score(n, gk) for n in range(count)]


# Bad records, each with the code the contract gives it.
def unknown_student(n: int) -> dict[str, Any]:
    return {"student_id": f"99{n:08d}", "tx": [8, 8], "gk": 8, "ck": 8}


def invalid_score(n: int) -> dict[str, Any]:
    return score(n, gk=10.5)


def wrong_kind(n: int) -> dict[str, Any]:
    return {"student_id": student_id(1, 1, n), "result": "Đ"}


BAD_KINDS = {
    "STUDENT_NOT_FOUND": unknown_student,
    "INVALID_SCORE": invalid_score,
    "WRONG_ASSESSMENT_KIND": wrong_kind,
}
