"""The live streams' websocket protocol and message forms (:mod:`gradesync.live.transport`,
:mod:`gradesync.live.messages`): shared frames, compact batches, large messages only compressed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)
from websockets.frames import Frame, Opcode
from websockets.sync.client import connect

from gradesync.live.events import FileEvent, RowEvent
from gradesync.live.messages import StreamFormat, encode, frames, text_frame
from gradesync.live.transport import COMPRESS_MIN_BYTES
from tests.live.conftest import SCHOOL_A, SHEET, Live, recv, rows_of, upload_class


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_a_shared_text_frame_is_what_websockets_writes(size: int) -> None:
    data = ("é" * size).encode()[:size]
    assert text_frame(data) == Frame(Opcode.TEXT, data).serialize(mask=False)


def row(i: int, sync: str, at: float) -> RowEvent:
    error = {"code": "X", "message": 'có "ngoặc" và "at": trong lời'}
    return RowEvent("f1", "s1", "Toán", i, f"79{i:08d}", sync, (error,) if i == 2 else (), at)


def test_a_row_message_is_the_events_message_and_a_batch_item_is_it_without_type_and_at() -> None:
    events = [row(1, "SYNCED", 100.5), row(2, "FAILED", 100.5), FileEvent("f1", "s1", {}, at=100.5)]
    messages = encode(events)
    assert [json.loads(m.text) for m in messages] == [e.to_message() for e in events]
    rows_message, file_message = (json.loads(t) for t in frames(messages, StreamFormat.BATCH))
    assert rows_message["at"] == 100.5
    items = [{k: v for k, v in e.to_message().items() if k not in ("type", "at")} for e in events]
    assert rows_message["rows"] == items[:2]
    assert file_message == events[2].to_message()


def test_in_a_merged_batch_a_row_from_another_commit_keeps_its_own_at() -> None:
    older, newer = encode([row(1, "SENDING", 100.0)]), encode([row(2, "SYNCED", 101.0)])
    (text,) = frames(older + newer, StreamFormat.BATCH)
    message = json.loads(text)
    assert message["at"] == 101.0
    assert [r.get("at") for r in message["rows"]] == [100.0, None]


class _Recorded(PerMessageDeflate):
    """The client's deflate, noting for each message whether it came compressed."""

    compressed: list[bool]

    def decode(self, frame: Frame, *, max_size: int | None = None) -> Frame:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self.compressed.append(frame.rsv1)
        return super().decode(frame, max_size=max_size)


class _RecordingFactory(ClientPerMessageDeflateFactory):
    def __init__(self, compressed: list[bool]) -> None:
        super().__init__()
        self.compressed = compressed

    def process_response_params(self, params: Any, accepted: Any) -> PerMessageDeflate:
        ext = super().process_response_params(params, accepted)
        assert isinstance(ext, PerMessageDeflate)
        ext.__class__ = _Recorded
        ext.compressed = self.compressed  # type: ignore[attr-defined]
        return ext


def test_only_the_large_snapshot_is_compressed_and_small_changes_go_plain(
    make_live: Callable[..., Live],
) -> None:
    """A browser offers permessage-deflate: the snapshot comes compressed (slow
    school links), the changes that follow uncompressed (no per-socket deflate)."""
    live = make_live()
    big = upload_class(live.backend, n=200, class_name="6A2")
    compressed: list[bool] = []
    url = f"{live.ws_base}/ws/files/{big}?token={live.backend.tokens['teacher_a']}&format=batch"
    with connect(url, compression=None, extensions=[_RecordingFactory(compressed)]) as ws:
        snapshot_text = ws.recv(timeout=10)
        assert len(snapshot_text.encode()) >= COMPRESS_MIN_BYTES
        live.drive(dict.fromkeys(rows_of(45), "SYNCED"), file_id=big)
        batch, file_message = recv(ws), recv(ws)
    assert json.loads(snapshot_text)["type"] == "snapshot"
    assert batch["type"] == "rows" and len(batch["rows"]) == 45
    assert file_message["type"] == "file"
    assert compressed == [True, False, False]


@pytest.mark.parametrize("uvicorn_ws", [False, True], ids=["shared-frames", "uvicorn-ws"])
@pytest.mark.parametrize("fmt", ["row", "batch"])
def test_both_protocols_send_the_same_messages_with_or_without_deflate(
    make_live: Callable[..., Live], fmt: str, uvicorn_ws: bool
) -> None:
    """One shared write (ours) or message by message through ASGI (uvicorn's
    protocol): the client reads the same messages, whether it offered deflate or not."""
    live = make_live(uvicorn_ws=uvicorn_ws)
    token = live.backend.tokens["teacher_a"]
    url = f"{live.ws_base}/ws/files/{live.file_id}?token={token}&format={fmt}"
    got = []
    for compression in ("deflate", None):
        messages = []
        with connect(url, compression=compression) as ws:
            ids = {r["row"]: r["student_id"] for r in recv(ws)["rows"]}
            for state in ("SENDING", "SYNCED"):  # one delivery each
                live.drive(dict.fromkeys(rows_of(5), state))
                messages += [recv(ws) for _ in range(6 if fmt == "row" else 2)]
        got.append(messages)
    assert got[0][0]["at"] != got[1][0]["at"]  # two runs, really
    for messages in got:
        for m in messages:
            m.pop("at")
        counts = [m.pop("counts") for m in messages if m["type"] == "file"]
        assert [c["synced"] for c in counts] == [0, 5]
    assert got[0] == got[1]
    rows = [
        {"sheet": SHEET, "row": r, "student_id": ids[r], "sync": state, "errors": []}
        for state in ("SENDING", "SYNCED")
        for _, r in rows_of(5)
    ]
    file = {"type": "file", "file_id": live.file_id, "school_id": SCHOOL_A, "attention": None}
    if fmt == "row":
        expected = [{"type": "row", **r} for r in rows[:5]] + [file]
        expected += [{"type": "row", **r} for r in rows[5:]] + [file]
    else:
        first, second = {"type": "rows", "rows": rows[:5]}, {"type": "rows", "rows": rows[5:]}
        expected = [first, file, second, file]
    assert got[0] == expected
