"""Turning a delivery of events into websocket messages, coalesced.

A delivery is everything waiting when the stream is ready to send: one sync
batch (45 rows), or more when the client is slower than the sync. Within
it, only the *last* state of each row, job and file counts is kept (events
carry states, not deltas, so an earlier state adds nothing), in the order of
those last states.

Coalescing happens at two levels, with the same rule: over events
(:func:`latest_states`, before encoding) and over already encoded messages
(:func:`latest`), so a feed can merge several rendered deliveries for a
stream that fell behind without encoding anything again.

Two forms (chosen per connection with ``?format=``):

* ``row`` (default, ``contracts/api.md``): one ``{"type": "row", …}`` message
  per changed row, then ``job`` and ``file`` messages;
* ``batch``: the delivery's rows in one ``{"type": "rows", "rows": […]}``
  message (each item is exactly a ``row`` message), then ``job`` and
  ``file`` messages — a 45-row batch is one message, not 45.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gradesync.live.events import Event, FileEvent, JobEvent, RowEvent


class StreamFormat(StrEnum):
    ROW = "row"
    BATCH = "batch"


@dataclass(frozen=True, slots=True)
class Encoded:
    """One message, encoded: what it is the state of, and its JSON text."""

    identity: Hashable
    text: str
    #: a ``row`` message (the batch form groups these)
    is_row: bool = False


def latest_states(events: Iterable[Event]) -> list[Event]:
    """The last event per row / job / file, ordered by where that last event came."""
    return _last_by(events, _identity)


def latest(messages: Iterable[Encoded]) -> list[Encoded]:
    """The same coalescing over encoded messages (e.g. several deliveries merged)."""
    return _last_by(messages, lambda m: m.identity)


def _last_by(items: Iterable[Any], identity: Any) -> list[Any]:
    last: dict[Hashable, tuple[int, Any]] = {}
    n = 0
    for n, item in enumerate(items, 1):
        last[identity(item)] = (n, item)
    pairs: Iterable[tuple[int, Any]] = last.values()
    if len(last) < n:  # some were superseded: order by where each last state came
        pairs = sorted(pairs, key=lambda pair: pair[0])
    return [item for _, item in pairs]


def _identity(event: Event) -> tuple[Any, ...]:
    if isinstance(event, RowEvent):
        return ("row", event.file_id, event.sheet, event.row)
    if isinstance(event, JobEvent):
        return ("job", event.job_id)
    return ("file", event.file_id)


def encoded(event: Event) -> str:
    """The event's message as JSON text."""
    return json.dumps(event.to_message(), ensure_ascii=False, separators=(",", ":"))


def encode(events: Iterable[Event]) -> list[Encoded]:
    """Each event's message, encoded once (feeds do this once for all their streams)."""
    return [Encoded(_identity(e), encoded(e), isinstance(e, RowEvent)) for e in events]


def frames(messages: Iterable[Encoded], fmt: StreamFormat) -> list[str]:
    """The message texts a stream sends for these (coalesced) messages, in ``fmt``."""
    if fmt is StreamFormat.ROW:
        return [m.text for m in messages]
    rows: list[str] = []
    others: list[str] = []
    for m in messages:
        (rows if m.is_row else others).append(m.text)
    return ([f'{{"type":"rows","rows":[{",".join(rows)}]}}'] if rows else []) + others


def render(events: Iterable[Event], fmt: StreamFormat) -> list[str]:
    """Message texts for a delivery (already coalesced with :func:`latest_states`)."""
    return frames(encode(events), fmt)


def only(events: Iterable[Event], *kinds: type[RowEvent | JobEvent | FileEvent]) -> list[Event]:
    return [e for e in events if isinstance(e, kinds)]
