"""What each sheet should show: validation findings or server row status → :class:`SheetPaint`.

Two sources, one look:

* :func:`validation_paints` — a :class:`~gradesync.gradebook.model.WorkbookReport`
  read from the calling book: each cell with an error red, the reason in a
  note; warnings as notes only; the status column says "Hợp lệ" or lists the
  reasons (the same texts as the marked-up copy, ``gradebook.markup``);
* :func:`status_paints` — the server's staged rows (what
  ``GET /grades/status/{id}`` and the annotated download read): synced rows
  green, failed or dead rows red with the Sở's reason, rows on their way
  grey, and invalid rows exactly as validation paints them (they were never
  sent, so nothing about them changes).

Public API: :func:`validation_paints`, :func:`status_paints`,
:func:`summary_line`, :func:`labelled`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from gradesync.addin.book import SheetPaint
from gradesync.files.annotate import SYNC_TEXT
from gradesync.files.models import SyncState, Validation
from gradesync.gradebook.markup import marks_from_report
from gradesync.gradebook.model import WorkbookReport

_VN = ZoneInfo("Asia/Ho_Chi_Minh")
_PENDING = {SyncState.SCHEDULED, SyncState.QUEUED, SyncState.SENDING, SyncState.RETRYING}


@dataclass(frozen=True, slots=True)
class Counts:
    rows: int
    valid: int
    invalid: int


def labelled(code: str, severity: str, message: str) -> str:
    """A reason as it appears in notes: ``Lỗi [CODE]: …`` / ``Cảnh báo [CODE]: …``."""
    kind = "Lỗi" if severity == "error" else "Cảnh báo"
    return f"{kind} [{code}]: {message}"


def summary_line(counts: Counts, when: dt.datetime | None = None) -> str:
    when = (when or dt.datetime.now(dt.UTC)).astimezone(_VN)
    return (
        f"Kiểm tra lúc {when:%H:%M %d/%m/%Y}: {counts.rows} học sinh, "
        f"{counts.valid} hợp lệ, {counts.invalid} có lỗi."
    )


def validation_paints(report: WorkbookReport) -> list[SheetPaint]:
    """One :class:`SheetPaint` per gradebook of ``report`` (several per sheet are merged)."""
    status = {(m.sheet, m.row): m.status for m in marks_from_report(report)}
    paints: dict[str, SheetPaint] = {}
    for book in report.gradebooks:
        rows = [r.row for r in book.rows]
        header = book.header_row or (min(rows) - 1 if rows else 1)
        paint = paints.get(book.sheet)
        if paint is None:
            paint = paints[book.sheet] = SheetPaint(
                book.sheet, header, header + 1, max(rows, default=header)
            )
        else:
            paint.header_row = min(paint.header_row, header)
            paint.last_row = max([paint.last_row, *rows])
        for row in book.rows:
            paint.status[row.row] = status[(book.sheet, row.row)]
            fallback = row.cells.get("student_id") or f"A{row.row}"
            for f in row.findings:
                cell = (f.cell or fallback).upper()
                paint.notes.setdefault(cell, []).append(labelled(f.code, f.severity, f.message))
                if f.is_error:
                    paint.fills.append((cell, "red"))
        counts = Counts(len(book.rows), len(book.valid_rows), len(book.invalid_rows))
        lines = [summary_line(counts)]
        lines += [labelled(f.code, f.severity, f.message) for f in book.findings]
        paint.summary = "\n".join(filter(None, [paint.summary, *lines]))
    return list(paints.values())


def status_paints(
    rows: Iterable[Any], header_rows: dict[str, int], sheet_findings: dict[str, list[dict]]
) -> list[SheetPaint]:
    """Paints from staged rows (``sheet``, ``row``, ``validation``, ``sync_state``,
    ``findings``, ``sync_errors``) and each sheet's header row and findings."""
    paints: dict[str, SheetPaint] = {}
    for r in rows:
        paint = paints.get(r.sheet)
        if paint is None:
            header = header_rows.get(r.sheet, max(r.row - 1, 1))
            paint = paints[r.sheet] = SheetPaint(r.sheet, header, header + 1, r.row)
        paint.last_row = max(paint.last_row, r.row)
        fallback = f"A{r.row}"
        cells = [f for f in r.findings if f.get("cell")]
        if cells:
            fallback = cells[0]["cell"].upper()
        if r.validation == Validation.INVALID:
            _paint_invalid(paint, r, fallback)
            continue
        state = SyncState(r.sync_state)
        text = SYNC_TEXT.get(state, str(state))
        for f in r.findings:  # warnings of a valid row stay visible
            cell = (f.get("cell") or fallback).upper()
            paint.notes.setdefault(cell, []).append(
                labelled(f["code"], f.get("severity", "warning"), f["message"])
            )
        if state == SyncState.SYNCED:
            paint.row_fills[r.row] = "green"
        elif state in (SyncState.FAILED, SyncState.DEAD):
            paint.row_fills[r.row] = "red"
            reasons = []
            for e in r.sync_errors or [{"code": "SO_ERROR", "message": text}]:
                message = f"Sở [{e.get('code', 'SO_ERROR')}]: {e.get('message', '')}"
                paint.notes.setdefault((e.get("cell") or fallback).upper(), []).append(message)
                reasons.append(message)
            text = f"{text}: " + "; ".join(reasons)
        elif state in _PENDING:
            paint.row_fills[r.row] = "neutral"
        paint.status[r.row] = text
    for sheet, paint in paints.items():
        findings = sheet_findings.get(sheet) or []
        if findings:
            paint.summary = "\n".join(
                labelled(f["code"], f.get("severity", "error"), f["message"]) for f in findings
            )
    return list(paints.values())


def _paint_invalid(paint: SheetPaint, r: Any, fallback: str) -> None:
    errors = [f for f in r.findings if f.get("severity") == "error"]
    for f in r.findings:
        cell = (f.get("cell") or fallback).upper()
        paint.notes.setdefault(cell, []).append(
            labelled(f["code"], f.get("severity", "error"), f["message"])
        )
        if f.get("severity") == "error":
            paint.fills.append((cell, "red"))
    located = [f"{f['cell']}: {f['message']}" if f.get("cell") else f["message"] for f in errors]
    paint.status[r.row] = f"Không hợp lệ ({len(errors)} lỗi): " + "; ".join(located)
