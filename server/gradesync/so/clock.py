"""The Sở's clock, as seen from here.

The Sở's clock is authoritative for grade-entry windows and may differ from
ours by minutes. We model it as ``sở_time = time.monotonic() + base`` and
estimate ``base``, so a jump of *our* wall clock changes nothing.

Each observation says: the Sở read its clock at some instant between the
moment we sent the request and the moment its answer arrived. A reading ``T``
with resolution ``r`` (1 s for an HTTP ``Date`` header, 1 ms for
``/api/v1/time``) therefore bounds ``base`` to the interval
``[T - received, T + r + lag - sent]`` — the midpoint of the round trip is the
best single guess and half the interval is its uncertainty. ``lag`` allows
for servers that cache their ``Date`` header (uvicorn refreshes it once a
second, so a ``Date`` may be up to a second stale). Intervals from several
observations are intersected, which narrows the estimate well below a
``Date`` header's one-second resolution. Slow round trips say little and are
ignored. When a new observation contradicts the current intersection (the
Sở's clock was stepped), the old ones are dropped.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import NamedTuple

from gradesync.so.schemas import Window


class ClockNotSynced(RuntimeError):
    """No usable observation of the Sở's clock yet (make any call first)."""


class SoTime(NamedTuple):
    """The Sở's current time (UTC-aware) and how far off it may be."""

    now: datetime
    uncertainty: timedelta


@dataclass(frozen=True, slots=True)
class _Bounds:
    low: float  # lowest possible base
    high: float  # highest possible base
    at: float  # monotonic instant of the observation


class SoClock:
    """Estimates the Sở's clock from observations of its answers."""

    def __init__(
        self, *, max_round_trip: float = 1.0, date_lag: float = 1.0, keep: int = 32
    ) -> None:
        self.max_round_trip = max_round_trip
        self.date_lag = date_lag
        self._bounds: deque[_Bounds] = deque(maxlen=keep)
        self._low = float("-inf")
        self._high = float("inf")

    # -- observations ------------------------------------------------------

    def observe_date(self, date_header: str | None, sent: float, received: float) -> None:
        """Feed the ``Date`` header of an answer (ignored if absent or unparsable)."""
        if not date_header:
            return
        try:
            stamp = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return
        if stamp.tzinfo is None:  # RFC 7231 dates are GMT even when written "-0000"
            stamp = stamp.replace(tzinfo=UTC)
        self._observe(stamp.timestamp(), 1.0 + self.date_lag, sent, received)

    def observe_time(self, now: datetime, sent: float, received: float) -> None:
        """Feed the ``now`` of ``GET /api/v1/time`` (millisecond resolution)."""
        self._observe(now.timestamp(), 0.001, sent, received)

    def _observe(self, reading: float, resolution: float, sent: float, received: float) -> None:
        if received - sent > self.max_round_trip:
            return
        new = _Bounds(reading - received, reading + resolution - sent, received)
        low, high = max(self._low, new.low), min(self._high, new.high)
        if low > high:
            # Contradiction: the Sở's clock moved (or an old reading was off).
            # Trust the newest observation and start over from it.
            self._bounds.clear()
        self._bounds.append(new)
        self._recompute()

    def _recompute(self) -> None:
        self._low = max(b.low for b in self._bounds)
        self._high = min(b.high for b in self._bounds)

    # -- readings ----------------------------------------------------------

    @property
    def synced(self) -> bool:
        return bool(self._bounds)

    def so_now(self) -> SoTime:
        """The Sở's time now, with the half-width of what it could be."""
        if not self._bounds:
            raise ClockNotSynced("no observation of the Sở's clock yet")
        base = (self._low + self._high) / 2
        now = datetime.fromtimestamp(time.monotonic() + base, UTC)
        return SoTime(now, timedelta(seconds=(self._high - self._low) / 2))

    def offset(self) -> timedelta:
        """How far the Sở's clock is ahead of ours (negative: behind)."""
        sonow, _ = self.so_now()
        return sonow - datetime.now(UTC)

    def window_open(self, window: Window, guard: timedelta = timedelta(0)) -> bool:
        """Whether ``window`` is surely open by the Sở's clock, ``guard`` inside each edge.

        The uncertainty of the estimate widens the guard: "open" means open
        for every clock value we cannot rule out. The closing guard leaves
        time for a batch started now to finish before the close.
        """
        now, uncertainty = self.so_now()
        margin = guard + uncertainty
        return window.opens_at + margin <= now <= window.closes_at - margin
