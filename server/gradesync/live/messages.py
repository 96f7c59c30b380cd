"""Turning a delivery of events into websocket messages, coalesced.

A delivery is everything a subscription held when the stream was ready to
send: one sync batch (45 rows), or more when the client is slower than the
sync. Within it, only the *last* state of each row, job and file counts is
kept (events carry states, not deltas, so an earlier state adds nothing),
in the order of those last states.

Two forms (chosen per connection with ``?format=``):

* ``row`` (default, ``contracts/api.md``): one ``{"type": "row", …}`` message
  per changed row, then ``job`` and ``file`` messages;
* ``batch``: the delivery's rows in one ``{"type": "rows", "rows": […]}``
  message (each item is exactly a ``row`` message), then ``job`` and
  ``file`` messages — a 45-row batch is one message, not 45.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from gradesync.live.events import Event, FileEvent, JobEvent, RowEvent


class StreamFormat(StrEnum):
    ROW = "row"
    BATCH = "batch"


def latest_states(events: Iterable[Event]) -> list[Event]:
    """The last event per row / job / file, ordered by where that last event came."""
    last: dict[tuple[Any, ...], tuple[int, Event]] = {}
    for i, event in enumerate(events):
        last[_identity(event)] = (i, event)
    return [event for _, event in sorted(last.values(), key=lambda pair: pair[0])]


def _identity(event: Event) -> tuple[Any, ...]:
    if isinstance(event, RowEvent):
        return ("row", event.file_id, event.sheet, event.row)
    if isinstance(event, JobEvent):
        return ("job", event.job_id)
    return ("file", event.file_id)


def encoded(event: Event) -> str:
    """The event's message as JSON text (feeds render a delivery once for all their streams)."""
    return json.dumps(event.to_message(), ensure_ascii=False, separators=(",", ":"))


def render(events: Iterable[Event], fmt: StreamFormat) -> list[str]:
    """Message texts for a delivery (already coalesced with :func:`latest_states`)."""
    if fmt is StreamFormat.ROW:
        return [encoded(e) for e in events]
    rows: list[str] = []
    others: list[str] = []
    for event in events:
        (rows if isinstance(event, RowEvent) else others).append(encoded(event))
    return ([f'{{"type":"rows","rows":[{",".join(rows)}]}}'] if rows else []) + others


def only(events: Iterable[Event], *kinds: type[RowEvent | JobEvent | FileEvent]) -> list[Event]:
    return [e for e in events if isinstance(e, kinds)]
