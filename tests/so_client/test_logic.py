"""The client's pure parts, without HTTP: batching strategy, clock, tokens, retry waits."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import pytest

from gradesync.so.batching import BatchLimit, Settler
from gradesync.so.clock import ClockNotSynced, SoClock
from gradesync.so.outcomes import (
    Accepted,
    BatchVerdict,
    GradebookRefused,
    Halted,
    NotAttempted,
    RecordError,
    Rejected,
    Stored,
    TooLarge,
    Transient,
    WindowClosed,
)
from gradesync.so.retry import GaveUp, RetryPolicy, with_retries
from gradesync.so.schemas import Window
from gradesync.so.tokens import TokenManager
from tests.so_client.conftest import CREDS


class FakeSo:
    """An in-memory Sở judging index sets: ``bad`` indices are rejected per ``mode``."""

    def __init__(self, mode: str, bad: set[int], max_batch: int = 100) -> None:
        self.mode, self.bad, self.max_batch = mode, bad, max_batch
        self.sizes: list[int] = []
        self.acknowledged: list[int] = []  # indices the Sở said it stored, in order

    async def send(self, indices: list[int]) -> BatchVerdict:
        self.sizes.append(len(indices))
        if len(indices) > self.max_batch:
            return TooLarge(self.max_batch)
        bad = [p for p, i in enumerate(indices) if i in self.bad]
        if self.mode == "partial" or not bad:
            self.acknowledged += [i for i in indices if i not in self.bad]
            return Accepted(
                [error(i, "INVALID_SCORE") if i in self.bad else Stored("created") for i in indices]
            )
        if self.mode == "atomic":
            return Rejected({p: ("INVALID_SCORE", None) for p in bad})
        return Rejected(None)


def error(index: int, code: str, _text: str | None = None) -> RecordError:
    return RecordError(code, f"bản ghi {index}: {code}")


def settle(so: FakeSo, n: int, limit: int = 100) -> Settler:
    settler = Settler(n, so.send, BatchLimit(limit), error, lambda code: error(-1, code))
    asyncio.run(settler.run())
    return settler


@pytest.mark.parametrize("mode", ["partial", "atomic", "atomic-opaque"])
@pytest.mark.parametrize("bad", [set(), {0}, {7, 99}, {10, 11, 12, 13, 50}])
def test_every_good_record_is_stored_once_and_every_bad_one_gets_an_error(mode, bad):
    so = FakeSo(mode, bad)
    settler = settle(so, 100)
    assert sorted(so.acknowledged) == [i for i in range(100) if i not in bad]
    for index, outcome in enumerate(settler.outcomes):
        assert isinstance(outcome, RecordError if index in bad else Stored), index
    if mode != "atomic-opaque":
        assert {o.code for o in settler.outcomes if isinstance(o, RecordError)} <= {"INVALID_SCORE"}


@pytest.mark.parametrize("mode", ["partial", "atomic"])
def test_detailed_modes_need_at_most_two_calls_a_batch(mode):
    so = FakeSo(mode, {3, 40, 77})
    assert settle(so, 100).calls == (1 if mode == "partial" else 2)


def test_a_413_lowers_the_batch_size_for_the_rest_of_the_push():
    so = FakeSo("partial", set(), max_batch=30)
    settler = settle(so, 250)
    assert all(isinstance(o, Stored) for o in settler.outcomes)
    assert sorted(so.acknowledged) == list(range(250))
    refused = [s for s in so.sizes if s > 30]
    assert 1 <= len(refused) <= 3  # the concurrent first chunks learn it, later ones do not ask
    assert settler._limit.size == 30


def test_a_gradebook_refusal_applies_to_every_record_without_more_calls():
    async def send(indices):
        return GradebookRefused("LOCKED")

    settler = Settler(250, send, BatchLimit(100), error, lambda code: error(-1, code))
    asyncio.run(settler.run())
    assert {o.code for o in settler.outcomes} == {"LOCKED"}
    assert settler.calls <= 3


def test_a_halt_keeps_what_was_stored_and_marks_the_rest_not_attempted():
    closed = WindowClosed(None, None)
    sent = []

    async def send(indices):
        sent.append(indices)
        if len(sent) == 1:
            return Accepted([Stored("created")] * len(indices))
        return Halted(closed)

    settler = Settler(30, send, BatchLimit(10), error, lambda code: error(-1, code))
    asyncio.run(settler.run())
    first = set(sent[0])
    for index, outcome in enumerate(settler.outcomes):
        assert outcome == (Stored("created") if index in first else NotAttempted(closed))
    assert settler.halt == closed


# -- clock ------------------------------------------------------------------


def observe(clock: SoClock, base: float, *, rtt: float = 0.02, phase: float = 0.0) -> None:
    """Feed a Date header as a Sở with ``sở = monotonic + base`` would send it."""
    sent = time.monotonic() - rtt - phase
    received = sent + rtt
    reading = sent + rtt / 2 + base
    clock.observe_date(formatdate(math.floor(reading), usegmt=True), sent, received)


def true_now(base: float) -> datetime:
    return datetime.fromtimestamp(time.monotonic() + base, UTC)


def test_the_clock_says_nothing_before_its_first_observation():
    with pytest.raises(ClockNotSynced):
        SoClock().so_now()


@pytest.mark.parametrize("offset", [-600.0, -0.4, 0.0, 37.25, 600.0])
def test_date_headers_pin_the_so_clock_within_their_uncertainty(offset):
    base = time.time() - time.monotonic() + offset
    clock = SoClock(date_lag=0.0)
    for phase in (0.0, 0.13, 0.37, 0.55, 0.71, 0.93):
        observe(clock, base, phase=phase)
    now, uncertainty = clock.so_now()
    assert abs(now - true_now(base)) <= uncertainty + timedelta(milliseconds=5)
    assert uncertainty < timedelta(seconds=0.3)  # several phases beat the 1 s resolution
    assert abs(clock.offset() - timedelta(seconds=offset)) < timedelta(seconds=0.35)


def test_slow_round_trips_are_ignored_and_a_stepped_so_clock_is_followed():
    base = time.time() - time.monotonic()
    clock = SoClock(max_round_trip=0.5)
    observe(clock, base)
    observe(clock, base + 3600, rtt=2.0)  # slow: says little, ignored
    assert abs(clock.so_now().now - true_now(base)) < timedelta(seconds=2.1)
    observe(clock, base + 600)  # contradicts everything known: the Sở's clock moved
    assert abs(clock.so_now().now - true_now(base + 600)) < timedelta(seconds=2.1)


def test_a_window_is_open_only_guard_plus_uncertainty_inside_its_edges():
    base = time.time() - time.monotonic()
    clock = SoClock()
    clock.observe_time(true_now(base), time.monotonic() - 0.01, time.monotonic())
    now = true_now(base)
    guard = timedelta(seconds=30)

    def window(opens: float, closes: float) -> Window:
        return Window("w", "2025-2026", "HK1", now + timedelta(seconds=opens),
                      now + timedelta(seconds=closes))  # fmt: skip

    assert clock.window_open(window(-3600, 3600), guard)
    assert not clock.window_open(window(-10, 3600), guard)  # opened 10 s ago: inside the guard
    assert not clock.window_open(window(-3600, 20), guard)  # closes in 20 s: too late to start
    assert not clock.window_open(window(60, 3600), guard)  # not yet
    assert clock.window_open(window(-10, 3600), timedelta(0))


# -- tokens -----------------------------------------------------------------


class FakeIssuer:
    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self.issued = 0

    async def fetch(self, creds) -> tuple[str, float, float]:
        sent = time.monotonic()
        await asyncio.sleep(0.01)
        self.issued += 1
        return f"token-{self.issued}", self.lifetime, sent


def test_concurrent_callers_share_one_token_fetch():
    issuer = FakeIssuer(300)
    manager = TokenManager(issuer.fetch)

    async def scenario():
        return await asyncio.gather(*(manager.token(CREDS) for _ in range(50)))

    assert set(asyncio.run(scenario())) == {"token-1"}
    assert issuer.issued == 1


def test_a_token_is_renewed_well_before_it_expires():
    issuer = FakeIssuer(0.4)  # renewed after half its life at most
    manager = TokenManager(issuer.fetch)

    async def scenario():
        first = await manager.token(CREDS)
        await asyncio.sleep(0.25)
        return first, await manager.token(CREDS)

    assert asyncio.run(scenario()) == ("token-1", "token-2")


def test_a_401_renews_once_unless_a_newer_token_already_replaced_the_rejected_one():
    issuer = FakeIssuer(300)
    manager = TokenManager(issuer.fetch)

    async def scenario():
        old = await manager.token(CREDS)
        # Many requests sent with the same old token all come back 401 at once.
        renewed = await asyncio.gather(*(manager.after_rejection(CREDS, old) for _ in range(20)))
        return old, renewed

    old, renewed = asyncio.run(scenario())
    assert old == "token-1"
    assert set(renewed) == {"token-2"}
    assert issuer.issued == 2


# -- retry ------------------------------------------------------------------


def run_with_retries(policy: RetryPolicy, failures: list[Transient]):
    waits: list[float] = []
    calls = 0

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if failures:
            raise failures.pop(0)
        return "ok"

    try:
        result = asyncio.run(with_retries(policy, attempt, sleep=sleep))
    except GaveUp as exc:
        result = exc.exhausted
    return result, waits, calls


def test_retry_after_is_honoured_and_jitter_only_adds_to_it():
    policy = RetryPolicy(initial=0.5, max_backoff=2)
    failures = [Transient("HTTP 503", 3), Transient("HTTP 502")]
    result, waits, _ = run_with_retries(policy, failures)
    assert result == "ok"
    assert 3 <= waits[0] <= 3 + 0.5
    assert 0 <= waits[1] <= 1.0  # second backoff ceiling: 0.5 · 2


def test_after_a_429_the_retry_waits_exactly_retry_after_the_gate_spreads_the_herd():
    policy = RetryPolicy(initial=0.5, max_backoff=2)
    limited = Transient("HTTP 429", 3, rate_limited=True)
    result, waits, _ = run_with_retries(policy, [limited, Transient("HTTP 429", rate_limited=True)])
    assert result == "ok"
    assert waits[0] == 3
    assert 0 <= waits[1] <= 1.0  # no Retry-After: the usual backoff


def test_retries_stop_at_the_attempt_cap_with_the_last_error():
    policy = RetryPolicy(max_attempts=4, initial=0.01)
    result, waits, calls = run_with_retries(policy, [Transient(f"HTTP 50{i}") for i in range(9)])
    assert (result.last_error, result.attempts, calls, len(waits)) == ("HTTP 503", 4, 4, 3)


def test_retries_give_up_rather_than_wait_past_the_time_budget():
    policy = RetryPolicy(max_elapsed=5)
    result, waits, calls = run_with_retries(policy, [Transient("HTTP 429", 60, rate_limited=True)])
    assert (result.last_error, calls, waits) == ("HTTP 429", 1, [])


def test_a_batch_key_depends_on_the_batch_content_only() -> None:
    from gradesync.so.client import batch_key

    body = {"school_id": "79000701", "records": [{"student_id": "7912345678", "gk": 8.5}]}
    same = {"records": [{"gk": 8.5, "student_id": "7912345678"}], "school_id": "79000701"}
    other = {"school_id": "79000701", "records": [{"student_id": "7912345678", "gk": 9}]}
    assert batch_key(body) == batch_key(same)
    assert batch_key(body) != batch_key(other)
