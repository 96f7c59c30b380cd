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
* ``batch``: the delivery's rows in one compact
  ``{"type": "rows", "at": …, "rows": […]}`` message, then ``job`` and
  ``file`` messages — a 45-row batch is one message, not 45. Each item is a
  ``row`` message without ``type`` and, when it equals the message's, without
  ``at`` (the rows of one commit share it; an item from an older commit, in a
  merged delivery, keeps its own): ~40 % fewer bytes to write, and to read.

A delivery's texts travel as :class:`SharedFrames`: the same object for every
stream of a feed, with the websocket frames built once (:attr:`SharedFrames.wire`)
so that a server that can write them as they are (:mod:`gradesync.live.transport`)
writes the same bytes to every socket.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, overload

from gradesync.live.events import Event, FileEvent, JobEvent, RowEvent


class StreamFormat(StrEnum):
    ROW = "row"
    BATCH = "batch"


@dataclass(frozen=True, slots=True)
class Encoded:
    """One message, encoded: what it is the state of, and its JSON text."""

    identity: Hashable
    text: str
    #: a ``row`` message's fields without ``type`` and ``at`` (the batch form's item)
    item: str | None = None
    #: the event's ``at`` (row messages)
    at: float = 0.0

    @property
    def is_row(self) -> bool:
        return self.item is not None


#: the ASGI scope extension that writes :class:`SharedFrames` in one go
#: (``scope["extensions"][SHARED_FRAMES]["send"]``; :mod:`gradesync.live.transport`)
SHARED_FRAMES = "gradesync.shared_frames"


class SharedFrames(Sequence[str]):
    """A delivery's message texts, shared by every stream that sends them.

    :attr:`wire` is the texts as unmasked, uncompressed websocket text frames
    (what a server sends), built on first use and then reused for every socket.
    """

    __slots__ = ("_texts", "_wire")

    def __init__(self, texts: Sequence[str]) -> None:
        self._texts = tuple(texts)
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            self._wire = b"".join(text_frame(t.encode()) for t in self._texts)
        return self._wire

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._texts[index]

    def __len__(self) -> int:
        return len(self._texts)

    def __repr__(self) -> str:
        return f"SharedFrames({len(self._texts)} texts)"


def text_frame(data: bytes) -> bytes:
    """One unfragmented, unmasked text frame (RFC 6455 §5.2) carrying ``data``."""
    n = len(data)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    return head + data


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
    return _json(event.to_message())


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def encode(events: Iterable[Event]) -> list[Encoded]:
    """Each event's message, encoded once (feeds do this once for all their streams)."""
    out: list[Encoded] = []
    for e in events:
        if isinstance(e, RowEvent):
            message = e.to_message()
            del message["type"], message["at"]
            item = _json(message)
            # The row message is the item with "type" first and "at" last, as to_message has them.
            text = f'{{"type":"row",{item[1:-1]},"at":{_json(e.at)}}}'
            out.append(Encoded(_identity(e), text, item, e.at))
        else:
            out.append(Encoded(_identity(e), encoded(e)))
    return out


def frames(messages: Iterable[Encoded], fmt: StreamFormat) -> SharedFrames:
    """The message texts a stream sends for these (coalesced) messages, in ``fmt``."""
    if fmt is StreamFormat.ROW:
        return SharedFrames([m.text for m in messages])
    rows: list[Encoded] = []
    others: list[str] = []
    for m in messages:
        if m.is_row:
            rows.append(m)
        else:
            others.append(m.text)
    return SharedFrames(([_rows_message(rows)] if rows else []) + others)


def _rows_message(rows: list[Encoded]) -> str:
    at = rows[-1].at
    items = [
        m.item if m.at == at else f'{m.item[:-1]},"at":{_json(m.at)}}}'  # type: ignore[index]
        for m in rows
    ]
    return f'{{"type":"rows","at":{_json(at)},"rows":[{",".join(items)}]}}'  # type: ignore[arg-type]


def render(events: Iterable[Event], fmt: StreamFormat) -> list[str]:
    """Message texts for a delivery (already coalesced with :func:`latest_states`)."""
    return list(frames(encode(events), fmt))


def only(events: Iterable[Event], *kinds: type[RowEvent | JobEvent | FileEvent]) -> list[Event]:
    return [e for e in events if isinstance(e, kinds)]
