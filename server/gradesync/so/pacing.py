"""Pacing toward a rate-limited Sở: one gate and one learnt rate for everything a client sends.

A Sở that limits its callers answers 429 with ``Retry-After``. Honouring that
per request is not enough: while one request sleeps out its ``Retry-After``,
the client's other requests (first attempts of other batches, other schools'
calls, other retries) keep arriving at the Sở, get 429 in turn, and every
retry lands on a Sở that is still over its limit — 429s feed more 429s. So
the :class:`Pacer` sits in front of **every** request of a client (token
fetches, reads, batches, first attempts and retries alike):

- **the gate**: a 429 with ``Retry-After`` closes it for the whole client until
  then (a later 429 can only push the reopening further, never pull it in);
- **the pace**: a token bucket whose rate is learnt from the Sở's answers.
  Until the first 429 there is no pace at all (a Sở without a limit costs
  nothing). A 429 marks the rate at which the Sở was accepting requests as the
  **ceiling** (the pace, or before any pace the measured rate of accepted
  answers — since the gate last reopened, over :data:`MEASURE_SECONDS` at most
  — whichever is lower) and cuts the pace to ``decrease`` × the ceiling; only a request sent
  *after* the last cut can cut again, so one burst of 429s is one signal.
  Accepted answers to requests that had to wait for the pace then raise it:
  linearly back to just under the ceiling within :data:`APPROACH_SECONDS`,
  then by only ``growth`` × the ceiling per second, probing whether the Sở
  grants more. The ceiling is where the last 429 came from, so the pace lingers
  below it; since every 429 also closes the gate for ``Retry-After`` (whole
  seconds, often far longer than the overshoot that caused it), a 429 costs
  far more than the slow probe does. A request the caller sends slower than
  the pace does not raise it, so the pace never inflates past what was tried.
- **slow start**: a first cut measured on too few answers (the very first
  requests got 429, say) says little about the limit, so the pace starts at
  :data:`SLOW_START_FLOOR` at least and, until the next 429, grows by
  ``ln 2`` of itself per paced success (≈ doubling every second).

The bucket holds at most :data:`BURST_SECONDS` of the rate, so requests leave
evenly spaced rather than in clumps. Several processes each with their own
pacer against one Sở converge like TCP flows: each cuts on its own 429s and
climbs back, and their sum hovers just under the Sở's limit; the Sở's own burst
allowance absorbs the overshoot.

Pure asyncio and the monotonic clock; ``clock`` and ``sleep`` are injectable so
the logic can be tested without waiting.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

__all__ = ["BURST_SECONDS", "Pacer", "PacingStats", "Ticket", "retry_after_seconds"]

#: The pace's bucket holds this many seconds' worth of requests (at least one).
BURST_SECONDS = 0.1
#: The accepted rate is measured over this many seconds at most…
MEASURE_SECONDS = 2.0
#: …and fewer accepted answers than this make it a guess: slow start follows.
MIN_SAMPLES = 8
#: Slow start: a paced success adds this share of the rate (ln 2 per second of them).
SLOW_START = math.log(2)
#: …starting from at least this rate (requests/s): a first success must come soon.
SLOW_START_FLOOR = 1.0
#: After a cut, the pace climbs back to ``(1 - PLATEAU_MARGIN)`` × the ceiling in this long…
APPROACH_SECONDS = 2.0
PLATEAU_MARGIN = 0.05
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Ticket:
    """A request let through the gate: when, and whether the pace held it back."""

    at: float
    paced: bool


@dataclass(frozen=True, slots=True)
class PacingStats:
    """What the pacer has learnt, for metrics and benchmarks."""

    rate: float | None  # requests/s the client allows itself; None = no limit met yet
    rate_limited: int  # 429 answers received
    cuts: int  # times the rate was cut (one per burst of 429s)
    paused_for: float  # seconds until the gate reopens (0 when open)


class Pacer:
    """The gate and the learnt pace in front of every request of one client."""

    def __init__(
        self,
        *,
        decrease: float = 0.8,
        growth: float = 0.02,
        min_rate: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 < decrease < 1 or growth <= 0 or min_rate <= 0:
            raise ValueError("need 0 < decrease < 1, growth > 0 and min_rate > 0")
        self.decrease = decrease
        self.growth = growth
        self.min_rate = min_rate
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()  # FIFO: requests leave in the order they came
        self.rate: float | None = None
        self._ceiling = math.inf  # the pace at which the Sở last said 429
        self._tokens = 0.0
        self._stamp = clock()
        self._reopens_at = 0.0
        self._cut_at = -float("inf")
        self._accepted: deque[float] = deque()  # instants of recent accepted answers
        self._first_sent: float | None = None
        self._opened_at = clock()  # when the gate last reopened (or the pacer started)
        self._slow_start = False
        self.rate_limited = 0
        self.cuts = 0

    @property
    def stats(self) -> PacingStats:
        paused = max(0.0, self._reopens_at - self._clock())
        return PacingStats(self.rate, self.rate_limited, self.cuts, paused)

    async def admit(self) -> Ticket:
        """Wait until the gate is open and the pace allows one more request."""
        async with self._lock:
            paced = False
            while True:
                now = self._clock()
                if now < self._reopens_at:
                    paced = True
                    await self._sleep(self._reopens_at - now)
                    self._opened_at = max(self._opened_at, self._reopens_at)
                    continue
                if self.rate is None:
                    break
                capacity = max(1.0, self.rate * BURST_SECONDS)
                self._tokens = min(capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1.0 - _EPSILON:  # not a wait too short for the clock
                    self._tokens = max(0.0, self._tokens - 1.0)
                    break
                paced = True
                await self._sleep((1.0 - self._tokens) / self.rate)
            if self._first_sent is None:
                self._first_sent = now
            return Ticket(now, paced)

    def answered(self, ticket: Ticket, status: int | None, retry_after: float | None) -> None:
        """Learn from the answer to ``ticket``'s request (``status`` None: no answer at all)."""
        now = self._clock()
        if status == 429:
            self.rate_limited += 1
            if retry_after is not None:
                self._reopens_at = max(self._reopens_at, now + retry_after)
            if ticket.at > self._cut_at:
                self._cut(now)
        elif status is not None and status < 500:
            self._accepted.append(now)
            while self._accepted and self._accepted[0] < now - MEASURE_SECONDS:
                self._accepted.popleft()
            if self.rate is not None and ticket.paced:
                self.rate += self._gain() / self.rate  # paced successes come ``rate`` a second

    def _cut(self, now: float) -> None:
        # The rate the Sở was granting us, measured while the gate was open: when it says
        # 429 its limit is reached, so that is our share of it — a better ceiling than a
        # pace the sender may never have reached.
        start = max(now - MEASURE_SECONDS, self._opened_at, self._first_sent or now)
        span = now - start
        recent = sum(1 for t in self._accepted if t >= start)
        measured = recent / span if span > 0 and recent >= MIN_SAMPLES else None
        if self.rate is None:
            self._slow_start = measured is None
            base = measured if measured is not None else 0.0
            self._tokens = 0.0
            self._stamp = now
        else:
            base = min(self.rate, measured) if measured is not None else self.rate
            self._slow_start = False
        self._ceiling = base if not self._slow_start else math.inf
        self.rate = max(self.min_rate, base * self.decrease)
        if self._slow_start:
            self.rate = max(self.rate, SLOW_START_FLOOR)
        self._cut_at = now
        self.cuts += 1

    def _gain(self) -> float:
        """Rate gained per second of paced successes (see the module's docstring)."""
        assert self.rate is not None
        if self._slow_start:
            return self.rate * SLOW_START
        plateau = self._ceiling * (1 - PLATEAU_MARGIN)
        if self.rate < plateau:
            approach = self._ceiling * (1 - PLATEAU_MARGIN - self.decrease) / APPROACH_SECONDS
            return max(approach, self.growth * self._ceiling)
        return self.growth * self._ceiling


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The ``Retry-After`` delay in seconds (delta-seconds or an HTTP date, against ``Date``)."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        at = parsedate_to_datetime(value)
        now = parsedate_to_datetime(headers.get("date", ""))
    except (TypeError, ValueError):
        return None
    return max(0.0, (at - now).total_seconds())
