"""A transaction PostgreSQL aborts as a deadlock victim is run again; other errors are not."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from gradesync.core.db import retry_conflicts


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        self.sqlstate = sqlstate


def failing(times: int, sqlstate: str) -> tuple[list[int], object]:
    calls: list[int] = []

    def unit() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("UPDATE …", {}, _PgError(sqlstate))
        return "committed"

    return calls, retry_conflicts(unit)


def test_a_deadlock_victim_is_run_again() -> None:
    calls, unit = failing(2, "40P01")
    assert unit() == "committed" and len(calls) == 3


def test_a_serialization_failure_is_run_again() -> None:
    calls, unit = failing(1, "40001")
    assert unit() == "committed" and len(calls) == 2


def test_it_gives_up_after_three_attempts() -> None:
    calls, unit = failing(5, "40P01")
    with pytest.raises(OperationalError):
        unit()
    assert len(calls) == 3


def test_other_database_errors_are_not_retried() -> None:
    calls, unit = failing(1, "08006")  # connection failure: not ours to repeat blindly
    with pytest.raises(OperationalError):
        unit()
    assert len(calls) == 1
