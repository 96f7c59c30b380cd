"""Settling every record of a push with as few batch calls as the Sở's mode allows.

The Sở runs in one of three modes and says which only through its answers,
so each answer is handled on its own terms:

- **partial** (200, a result per record): one call settles the batch.
- **atomic** (422 naming the bad records; nothing stored): the named records
  get their errors and the rest is sent once more — two calls.
- **atomic-opaque** (422 without detail): adaptive group testing
  (:mod:`gradesync.so._isolation`): the failed batch is narrowed by probes
  sized to minimise the expected calls left, a stored probe proves the rest of
  its group still suspect without resending it, the remnants of failed probes
  are later sent together, and a record is never sent again once the Sở said
  it is stored. For ``k`` bad records among 100 that is about 9 calls for one,
  52 for ten (see the module).

Batches never exceed the Sở's maximum; a 413 lowers the shared limit (to the
``max`` the Sở names, else half) and the batch is split. A gradebook-wide
refusal (404 / 409) applies to every record, and a halt (window closed,
configuration error, retries exhausted) stops sending: records not yet
settled become :class:`NotAttempted`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gradesync.so._isolation import Isolation
from gradesync.so.outcomes import (
    Accepted,
    BatchVerdict,
    GradebookRefused,
    Halt,
    Halted,
    NotAttempted,
    Outcome,
    RecordError,
    Rejected,
    Stored,
    TooLarge,
)

#: ``send(indices)``: post the records at these indices of the push as one batch.
Send = Callable[[list[int]], Awaitable[BatchVerdict]]


@dataclass(slots=True)
class BatchLimit:
    """The largest batch the Sở takes; shared by every push of a client, lowered by 413."""

    size: int = 100


class Settler:
    """Settles the records ``0 .. n-1`` of one push through ``send``.

    ``record_error(index, code, so_message)`` and ``gradebook_error(code)``
    build the Vietnamese :class:`RecordError` (they know the records and the
    gradebook; this module does not). ``may_start()``, asked before each
    call, returns a halt to stop at (for example a window about to close).
    """

    def __init__(
        self,
        n: int,
        send: Send,
        limit: BatchLimit,
        record_error: Callable[[int, str, str | None], RecordError],
        gradebook_error: Callable[[str], RecordError],
        may_start: Callable[[], Halt | None] = lambda: None,
    ) -> None:
        self._send = send
        self._may_start = may_start
        self._limit = limit
        self._record_error = record_error
        self._gradebook_error = gradebook_error
        self.outcomes: list[Outcome | None] = [None] * n
        self.calls = 0
        self.halt: Halt | None = None
        self._refused: RecordError | None = None

    async def run(self) -> list[Outcome]:
        await self._settle(list(range(len(self.outcomes))))
        assert all(o is not None for o in self.outcomes), "every record gets an outcome"
        return self.outcomes  # type: ignore[return-value]

    async def _settle(self, indices: list[int]) -> None:
        """Settle ``indices``: one batch each ``limit`` records, then whatever the answers need."""
        if self._stopped(indices):
            return
        if len(indices) > self._limit.size:
            size = self._limit.size
            chunks = [indices[i : i + size] for i in range(0, len(indices), size)]
            await asyncio.gather(*(self._settle(chunk) for chunk in chunks))
            return
        match await self._call(indices):
            case None:
                pass
            case Rejected(errors=None):
                await self._isolate(indices)
            case TooLarge(limit):
                if self._shrink(indices, limit):
                    await self._settle(indices)
            case verdict:
                await self._apply(indices, verdict)

    async def _isolate(self, indices: list[int]) -> None:
        """``indices`` hold at least one bad record (the Sở would not say which): find them."""
        search = Isolation(indices)
        self._reject(search.bad)
        while (probe := search.next_probe(self._limit.size)) is not None:
            match await self._call(probe):
                case None:
                    self._stopped(search.open)
                    return
                case Rejected(errors=None):
                    self._reject(search.record(probe, stored=False))
                case Accepted(outcomes) if all(isinstance(o, Stored) for o in outcomes):
                    for index, outcome in zip(probe, outcomes, strict=True):
                        self.outcomes[index] = outcome
                    self._reject(search.record(probe, stored=True))
                case TooLarge(limit):
                    # The limit went down (another chunk may have learnt it first): the
                    # next probe is planned within it; nothing was learnt about the records.
                    if not self._shrink(probe, limit):
                        search.forget(probe)
                case verdict:
                    # An answer of another mode or a stop: it settles the probe by itself.
                    search.forget(probe)
                    await self._apply(probe, verdict)

    async def _call(self, indices: list[int]) -> BatchVerdict | None:
        """Send ``indices`` as one batch; None (and their outcome set) if the push stopped."""
        self.halt = self.halt or self._may_start()
        if self._stopped(indices):
            return None
        self.calls += 1
        return await self._send(indices)

    async def _apply(self, indices: list[int], verdict: BatchVerdict) -> None:
        """Settle ``indices`` by an answer that says what became of each, or stops the push."""
        match verdict:
            case Accepted(outcomes):
                for index, outcome in zip(indices, outcomes, strict=True):
                    self.outcomes[index] = outcome
            case Rejected(errors=dict() as named):
                for position, (code, so_message) in named.items():
                    self.outcomes[indices[position]] = self._record_error(
                        indices[position], code, so_message
                    )
                rest = [i for p, i in enumerate(indices) if p not in named]
                if rest:
                    await self._settle(rest)
            case GradebookRefused(code):
                self._refused = self._refused or self._gradebook_error(code)
                self._stopped(indices)
            case Halted(halt):
                self.halt = self.halt or halt
                self._stopped(indices)
            case _:
                raise AssertionError(f"not an answer that settles records: {verdict!r}")

    def _shrink(self, indices: list[int], limit: int | None) -> bool:
        """Lower the batch limit after a 413 on ``indices``; False if that cannot help."""
        if len(indices) == 1:
            # A single record "too large": the Sở's answer makes no sense and retrying
            # cannot help. Treat it as a rejection of that record.
            self.outcomes[indices[0]] = self._record_error(indices[0], "BATCH_TOO_LARGE", None)
            return False
        smaller = limit if limit is not None else len(indices) // 2
        self._limit.size = min(self._limit.size, smaller, len(indices) - 1)
        return True

    def _reject(self, bad: list[int]) -> None:
        """Records an opaque Sở proved bad without saying why."""
        for index in bad:
            self.outcomes[index] = self._record_error(index, "VALIDATION_FAILED", None)

    def _stopped(self, indices: list[int]) -> bool:
        """Give ``indices`` the gradebook error or halt, if one happened; say whether it did."""
        if self._refused is not None:
            for index in indices:
                self.outcomes[index] = self._refused
            return True
        if self.halt is not None:
            for index in indices:
                self.outcomes[index] = NotAttempted(self.halt)
            return True
        return False
