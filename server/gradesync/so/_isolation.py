"""Finding the bad records of a batch an opaque Sở rejected, in few calls (group testing).

An atomic-opaque Sở answers a batch with 200 (every record stored) or 422 (at
least one record bad, nothing stored). Finding ``k`` bad records among ``n``
is adaptive group testing with an unknown number of defectives. Without
knowing ``k``, a record can only be known good by being in a batch that was
stored, so "store every good record" costs nothing beyond finding the bad
ones: the two goals are the same problem.

The strategy is *nested* (Sobel & Groll's procedure R1): at any time the
records still open are a **suspect** group (known to hold a bad record) and a
**pool** (nothing known). A probe is a subset of the suspect group while there
is one, else a subset of the pool:

- a probe of the suspect group that is stored leaves the rest of the group
  suspect — it is narrowed, never sent whole again;
- a probe of the suspect group that fails becomes the suspect group, and the
  rest goes back to the pool, where it is later tested *together* with the
  other returned remnants (for a single bad record: one call stores them all);
- a suspect group of one record is that bad record, without a call.

The probe size is the one that minimises the expected number of calls left
if records were bad independently with probability ``p``, computed exactly by
dynamic programming over (suspect size, pool size). ``p`` is not known: it is
re-estimated before each probe from what the calls so far proved (see
:meth:`Isolation.rate`), so the search starts as a halving hunt for one bad
record and turns into small groups once several bad records have turned up.

Measured on 100 records with ``k`` bad ones at random places (``python -m
bench push_client``), mean calls including the first, failed one: k=1 ≈ 9.3,
2 ≈ 15.7, 5 ≈ 31.8, 10 ≈ 52, 20 ≈ 81 (plain recursive halving: 10.8, 18.4,
36.0, 58.8, 91.6). No strategy can average below ``log2 C(100, k)`` (6.6,
12.3, 26.2, 44.0, 68.9), and with ``k`` told in advance this one would take
8.9, 15.3, 30.0, 48.4, 74.0.
"""

from __future__ import annotations

import math
from functools import cache

__all__ = ["Isolation"]

#: The bad-record rates the cost tables are computed for; an estimate snaps to the
#: nearest on a log scale. Past ~0.38, testing records one by one is optimal (Ungar).
_RATES: tuple[float, ...] = tuple(round(0.004 * 2 ** (i / 2), 5) for i in range(15))  # …0.51
#: Records assumed good, per record of the batch, before any call proved anything: how
#: strongly the estimate of the rate leans toward "few bad records" (tuned on the
#: bench's model: more favours one bad record, less favours many).
_PRIOR_GOOD = 0.2


class Isolation:
    """The records of one batch the Sở rejected opaquely, until each is stored or found bad.

    ``indices`` are the batch's records (the whole batch failed: it holds a bad
    one). Ask :meth:`next_probe` for the records to send, report the answer with
    :meth:`record`; :attr:`open` is what is still unsettled. Pure and
    synchronous: the caller does the sending.
    """

    def __init__(self, indices: list[int]) -> None:
        self.prior_good = _PRIOR_GOOD * len(indices)
        self.suspect: list[int] = list(indices)
        self.pool: list[int] = []
        self.stored = 0  # records proven good (stored) so far
        self.bad: list[int] = []
        if len(self.suspect) == 1:
            self.bad.append(self.suspect.pop())

    @property
    def open(self) -> list[int]:
        """Records neither stored nor found bad yet."""
        return self.suspect + self.pool

    def rate(self) -> float:
        """The estimated share of bad records among those still open.

        Bad records found (plus one for a suspect group, which holds at least
        one) over the records the calls have said something about, plus
        ``_PRIOR_GOOD`` imagined good ones: right after the first failure of a
        batch of 100 this is 1/120, so the suspect group is halved as if it held
        a single bad record; each bad record found raises it.
        """
        found = len(self.bad) + (1 if self.suspect else 0)
        seen = self.stored + len(self.bad) + len(self.suspect) + self.prior_good
        return min(_RATES[-1], max(_RATES[0], found / seen))

    def next_probe(self, limit: int) -> list[int] | None:
        """The records to send next (at most ``limit``), or None when nothing is open."""
        if not self.suspect and not self.pool:
            return None
        table = _table(_snap(self.rate()), max(1, limit))
        if self.suspect:
            size = table.suspect_probe(len(self.suspect), len(self.pool))
            return self.suspect[:size]
        return self.pool[: table.pool_probe(len(self.pool))]

    def record(self, probe: list[int], stored: bool) -> list[int]:
        """Take the answer to ``probe``; return the records this proved bad."""
        sent = set(probe)
        found: list[int] = []
        if stored:
            self.stored += len(probe)
            self.suspect = [i for i in self.suspect if i not in sent]
            self.pool = [i for i in self.pool if i not in sent]
        elif self.suspect and sent <= set(self.suspect):
            self.pool += [i for i in self.suspect if i not in sent]
            self.suspect = list(probe)
        else:  # a failed probe of the pool (the suspect group is empty then)
            self.pool = [i for i in self.pool if i not in sent]
            self.suspect = list(probe)
        if len(self.suspect) == 1:
            found.append(self.suspect.pop())
            self.bad += found
        return found

    def forget(self, probe: list[int]) -> None:
        """``probe`` was settled some other way (an answer of another mode): drop it.

        A suspect group it touched is no longer known to hold a bad record, so
        what is left of it goes back to the pool.
        """
        sent = set(probe)
        if sent & set(self.suspect):
            self.pool += [i for i in self.suspect if i not in sent]
            self.suspect = []
        self.pool = [i for i in self.pool if i not in sent]


def _snap(rate: float) -> float:
    return min(_RATES, key=lambda r: abs(math.log(r / rate)))


# -- the cost tables -----------------------------------------------------------


class _Table:
    """Optimal expected calls and probe sizes at one rate, for suspect + pool ≤ ``size``.

    ``G(m, n)``: expected calls left with a suspect group of ``m`` and a pool of ``n``.
    ``G(0, 0) = 0``; ``G(1, n) = G(0, n)`` (a suspect group of one is bad, for free);
    probing ``x`` of the pool: ``G(0, n) = 1 + min q^x G(0, n-x) + (1-q^x) G(x, n-x)``;
    probing ``x < m`` of the suspect group, given it holds a bad record:
    ``G(m, n) = 1 + min [q^x (1-q^(m-x)) G(m-x, n) + (1-q^x) G(x, n+m-x)] / (1-q^m)``.
    Tables grow on demand when a chunk is larger than any seen.
    """

    def __init__(self, rate: float, limit: int) -> None:
        self.q = 1.0 - rate
        self.limit = limit
        self.power = [1.0]  # q**i
        self.g: list[list[float]] = []  # g[total][m]: suspect m, pool total - m
        self.best: list[list[int]] = []
        self._grow(8)

    def suspect_probe(self, suspect: int, pool: int) -> int:
        self._grow(suspect + pool)
        return self.best[suspect + pool][suspect]

    def pool_probe(self, pool: int) -> int:
        self._grow(pool)
        return self.best[pool][0]

    def _grow(self, size: int) -> None:
        limit = self.limit
        for total in range(len(self.g), size + 1):
            while len(self.power) <= total:
                self.power.append(self.power[-1] * self.q)
            qs = self.power
            g = [0.0] * (total + 1)
            best = [0] * (total + 1)
            if total:
                g[1] = self.g[total - 1][0]  # G(1, total-1) = G(0, total-1)
            for m in range(2, total + 1):
                lowest, choice = math.inf, 1
                for x in range(1, min(m - 1, limit) + 1):
                    cost = qs[x] * (1 - qs[m - x]) * self.g[total - x][m - x] + (1 - qs[x]) * g[x]
                    if cost < lowest:
                        lowest, choice = cost, x
                g[m], best[m] = 1 + lowest / (1 - qs[m]), choice
            lowest, choice = math.inf, 1
            for x in range(1, min(total, limit) + 1):
                cost = qs[x] * self.g[total - x][0] + (1 - qs[x]) * g[x]
                if cost < lowest:
                    lowest, choice = cost, x
            if total:
                g[0], best[0] = 1 + lowest, choice
            self.g.append(g)
            self.best.append(best)


@cache
def _table(rate: float, limit: int) -> _Table:
    return _Table(rate, limit)
