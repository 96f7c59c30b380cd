"""Retrying transient failures: jittered exponential backoff, ``Retry-After`` honoured.

Only :class:`~gradesync.so.outcomes.Transient` is retried (5xx, 429, 408,
resets, timeouts, garbled answers). Business errors and configuration
problems are answers, not failures, and never reach this loop.

The wait before attempt *n + 1* is a random share of ``initial · 2ⁿ⁻¹``
capped at ``max_backoff`` ("full jitter"), added to ``Retry-After`` when the
Sở sent one — except after a 429 with ``Retry-After``: that closed the
client's gate for every request until then (:mod:`gradesync.so.pacing`), and
the gate's learnt pace spreads the requests that resume together, so the
retry waits exactly ``Retry-After`` and then queues at the gate like a first
attempt. The loop gives up after ``max_attempts``, or as soon as the next wait
would end past ``max_elapsed`` seconds from the first attempt — it never
sleeps beyond its budget only to fail.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
)

from gradesync.so.outcomes import Transient, TransientExhausted

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to insist. Times in seconds."""

    max_attempts: int = 8
    max_elapsed: float = 120.0
    initial: float = 0.2
    max_backoff: float = 10.0

    def backoff(self, attempt: int) -> float:
        """The jittered wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_backoff, self.initial * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)


class GaveUp(Exception):
    """The retries ran out; ``exhausted`` says after what."""

    def __init__(self, exhausted: TransientExhausted) -> None:
        super().__init__(exhausted.last_error)
        self.exhausted = exhausted


async def with_retries(
    policy: RetryPolicy,
    attempt: Callable[[], Awaitable[T]],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``attempt`` until it returns, retrying :class:`Transient`; else raise :class:`GaveUp`."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if not isinstance(exc, Transient) or exc.delay is None:
            return policy.backoff(state.attempt_number)
        if exc.rate_limited:
            return exc.delay
        return exc.delay + policy.backoff(state.attempt_number)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.max_elapsed),
        wait=wait,
        retry=retry_if_exception_type(Transient),
        reraise=True,
        sleep=sleep,
    )
    try:
        async for trial in retrying:
            with trial:
                return await attempt()
    except Transient as exc:
        attempts = retrying.statistics.get("attempt_number", 1)
        raise GaveUp(TransientExhausted(exc.description, attempts)) from exc
    raise AssertionError("unreachable: tenacity either returns or raises")
