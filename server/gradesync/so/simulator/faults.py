"""Seeded fault choice and the token-bucket rate limiter.

Exactly one random number is drawn per request on a fault path, whatever the
rates are, so the same requests in the same order meet the same faults for a
given seed (and changing one rate does not shift the draws of later requests).
"""

from __future__ import annotations

import math
import random
import time

from gradesync.so.simulator.config import Faults, RateLimit


class FaultPicker:
    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)

    def reseed(self, seed: int | None) -> None:
        self._rng = random.Random(seed)

    def pick(self, faults: Faults) -> str | None:
        """One of ``FAULT_KINDS`` with its configured probability, or ``None``."""
        draw = self._rng.random()
        edge = 0.0
        for kind, rate in faults.rates().items():
            edge += rate
            if draw < edge:
                return kind
        return None


class TokenBucket:
    """``requests_per_second`` sustained, ``burst`` at once; refilled on the monotonic clock."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._tokens = float(limit.burst)
        self._stamp = time.monotonic()

    def take(self) -> int | None:
        """``None`` if the request may pass, else the whole seconds to wait (``Retry-After``)."""
        now = time.monotonic()
        rate = self.limit.requests_per_second
        self._tokens = min(self.limit.burst, self._tokens + (now - self._stamp) * rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return max(1, math.ceil((1 - self._tokens) / rate))
