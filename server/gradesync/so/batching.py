"""Settling every record of a push with as few batch calls as the Sở's mode allows.

The Sở runs in one of three modes and says which only through its answers,
so each answer is handled on its own terms:

- **partial** (200, a result per record): one call settles the batch.
- **atomic** (422 naming the bad records; nothing stored): the named records
  get their errors and the rest is sent once more — two calls.
- **atomic-opaque** (422 without detail): binary splitting. A group known to
  hold a bad record is halved; the left half is sent; if it is stored whole,
  the right half *must* hold the bad record and is split further without
  being sent as a whole. Isolating ``k`` bad records among ``n`` takes about
  ``k · log2(n / k)`` calls plus one per bad record, and a record is never
  sent again once the Sở said it is stored.

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

    async def _settle(self, indices: list[int], known_bad: bool = False) -> bool:
        """Settle ``indices``; True when they were all stored by a single call."""
        if self._stopped(indices):
            return False
        if len(indices) > self._limit.size:
            size = self._limit.size
            chunks = [indices[i : i + size] for i in range(0, len(indices), size)]
            await asyncio.gather(*(self._settle(chunk) for chunk in chunks))
            return False
        if known_bad:
            await self._isolate(indices)
            return False
        self.halt = self.halt or self._may_start()
        if self._stopped(indices):
            return False
        self.calls += 1
        verdict = await self._send(indices)
        match verdict:
            case Accepted(outcomes):
                for index, outcome in zip(indices, outcomes, strict=True):
                    self.outcomes[index] = outcome
                return all(not isinstance(o, RecordError) for o in outcomes)
            case Rejected(errors=None):
                await self._isolate(indices)
            case Rejected(errors=named):
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
            case TooLarge(limit):
                smaller = limit if limit is not None else len(indices) // 2
                if len(indices) == 1 or smaller < 1:
                    # A single record "too large": the Sở's answer makes no sense; retrying
                    # cannot help. Treat it as opaque rejection of that record.
                    only = indices[0]
                    self.outcomes[only] = self._record_error(only, "BATCH_TOO_LARGE", None)
                    return False
                self._limit.size = min(self._limit.size, smaller, len(indices) - 1)
                await self._settle(indices)
            case Halted(halt):
                self.halt = self.halt or halt
                self._stopped(indices)
        return False

    async def _isolate(self, indices: list[int]) -> None:
        """``indices`` hold at least one bad record (the Sở would not say which)."""
        if len(indices) == 1:
            self.outcomes[indices[0]] = self._record_error(indices[0], "VALIDATION_FAILED", None)
            return
        middle = len(indices) // 2
        left, right = indices[:middle], indices[middle:]
        left_clean = await self._settle(left)
        await self._settle(right, known_bad=left_clean)

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
