"""The marked-up copy of an uploaded workbook, coloured by each row's *current* sync state.

Green: synced. Red, with the reasons as cell comments: invalid (validation
findings), failed (the Sở's business error) or dead (retries exhausted).
Neutral: not sent yet or on its way. Painting is the gradebook core's
:func:`gradesync.gradebook.markup.write_marked_up`; this module only decides
the marks.
"""

from __future__ import annotations

import io
from typing import Any

from gradesync.files.models import SyncState, Validation
from gradesync.gradebook.markup import Colour, RowMark, write_marked_up

SYNC_TEXT: dict[str, str] = {
    SyncState.NOT_SENT: "Chưa gửi",
    SyncState.SCHEDULED: "Đã hẹn gửi khi Sở mở cổng",
    SyncState.QUEUED: "Đang chờ gửi",
    SyncState.SENDING: "Đang gửi",
    SyncState.RETRYING: "Đang thử gửi lại",
    SyncState.SYNCED: "Đã lên Sở",
    SyncState.FAILED: "Sở từ chối",
    SyncState.DEAD: "Gửi không được (đã thử nhiều lần)",
}


def mark_for(row: Any) -> RowMark:
    """One staged row (``sheet``, ``row``, ``validation``, ``sync_state``, ``findings``,
    ``sync_errors``) as a :class:`RowMark`."""
    if row.validation == Validation.INVALID:
        reasons = [
            (f.get("cell"), f["message"]) for f in row.findings if f.get("severity") == "error"
        ]
        return RowMark(row.sheet, row.row, "Lỗi dữ liệu, chưa gửi", "red", reasons)
    state = row.sync_state
    colour: Colour = "neutral"
    reasons: list[tuple[str | None, str]] = []
    if state == SyncState.SYNCED:
        colour = "green"
    elif state in (SyncState.FAILED, SyncState.DEAD):
        colour = "red"
        reasons = [
            (e.get("cell"), f"{e.get('code', '')}: {e.get('message', '')}".strip(": "))
            for e in row.sync_errors
        ]
    return RowMark(row.sheet, row.row, SYNC_TEXT.get(state, state), colour, reasons)


def render_annotated(
    source: bytes,
    filename: str,
    rows: list[Any],
    *,
    header_rows: dict[str, int],
    sheet_notes: dict[str, list[str]],
) -> bytes:
    """The marked-up ``.xlsx`` bytes."""
    out = io.BytesIO()
    write_marked_up(
        source,
        filename,
        [mark_for(r) for r in rows],
        out,
        header_rows=header_rows,
        sheet_notes=sheet_notes,
    )
    return out.getvalue()
