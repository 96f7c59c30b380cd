"""The add-in's scripts: ``validate_sheet``, ``send_to_so``, ``refresh_status``.

Each takes the calling book (:class:`~gradesync.addin.book.CallerBook`) and a
:class:`ScriptContext` (who calls, the files service, how to push) and returns
the xlwings answer ``{"actions": […], "gradesync": {…}}``. ``actions`` is what
every xlwings client runs; ``gradesync`` is extra information our task pane
shows (counts, failed rows, the file id) and other clients ignore.

* ``validate_sheet`` reads the book with the one reader (``read_grids``, the
  same mapping and rules as an uploaded file), paints invalid cells red with
  the reasons, clears our earlier marks, writes the status column and a
  summary (a note on the status header; a message box on VBA).
* ``send_to_so`` validates, writes the book's values to an ``.xlsx`` and hands
  it to the upload service (so it has a file id, a status page and a marked-up
  download like any upload), asks for the push through the push endpoint, and
  paints every row from the server's status; the file id is kept in the state
  sheet for the next call.
* ``refresh_status`` repaints every row from the server's status of that file.

Public API: :data:`SCRIPTS`, :class:`ScriptContext`, :class:`PushOutcome`,
:func:`book_to_xlsx`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import openpyxl
from starlette.concurrency import run_in_threadpool

from gradesync.addin.book import CallerBook, SheetPaint
from gradesync.addin.marks import Counts, status_paints, summary_line, validation_paints
from gradesync.auth.service import Principal
from gradesync.core.errors import ApiError
from gradesync.files import repository
from gradesync.files.annotate import SYNC_TEXT
from gradesync.files.service import FileService, not_found
from gradesync.files.upload import ReceivedUpload, clean_filename
from gradesync.gradebook.model import WorkbookReport
from gradesync.gradebook.reader import SheetGrid, read_grids
from gradesync.gradebook.templates import META_SHEET, template_version
from gradesync.gradebook.xlsx import reproducible_bytes

TITLE = "gradesync — Sở GD&ĐT"


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """What asking for a push answered: ``ok`` and a sentence for the teacher."""

    ok: bool
    message: str
    jobs: list[dict[str, Any]]


Pusher = Callable[[str], Awaitable[PushOutcome]]


@dataclass(slots=True)
class ScriptContext:
    principal: Principal
    files: FileService
    push: Pusher


Script = Callable[[CallerBook, ScriptContext], Awaitable[dict[str, Any]]]


# -- validate_sheet ------------------------------------------------------------------


async def validate_sheet(book: CallerBook, ctx: ScriptContext) -> dict[str, Any]:
    report = await run_in_threadpool(_read, book)
    if not report.gradebooks:
        return _finish(book, "validate_sheet", report, [], _no_table(report))
    paints = validation_paints(report)
    counts = _counts(report)
    return _finish(book, "validate_sheet", report, paints, summary_line(counts))


def _read(book: CallerBook) -> WorkbookReport:
    return read_grids(book.grids(), _filename(book))


def _counts(report: WorkbookReport) -> Counts:
    rows = [r for b in report.gradebooks for r in b.rows]
    valid = sum(r.is_valid for r in rows)
    return Counts(len(rows), valid, len(rows) - valid)


def _no_table(report: WorkbookReport) -> str:
    return " ".join(f.message for f in report.findings) or (
        "Không tìm thấy bảng điểm nào trong sổ này (cần dòng tiêu đề có Mã định danh / Họ tên "
        "và các cột điểm)."
    )


# -- send_to_so ------------------------------------------------------------------------


async def send_to_so(book: CallerBook, ctx: ScriptContext) -> dict[str, Any]:
    report = await run_in_threadpool(_read, book)
    if not report.gradebooks:
        return _finish(book, "send_to_so", report, [], _no_table(report))
    counts = _counts(report)
    if counts.valid == 0:
        message = (
            f"Chưa gửi: cả {counts.rows} dòng đều có lỗi. Sửa các ô tô đỏ (lý do ở ghi chú và "
            "cột trạng thái) rồi bấm «Gửi lên Sở» lại."
        )
        return _finish(book, "send_to_so", report, validation_paints(report), message)
    file_id = await run_in_threadpool(_store, book, ctx)
    book.state.file_id = file_id
    outcome = await ctx.push(file_id)
    paints = await run_in_threadpool(_status_paints, ctx, file_id)
    lead = (
        f"Đã lưu sổ điểm (mã tệp {file_id}): {counts.valid} dòng hợp lệ sẽ được gửi, "
        f"{counts.invalid} dòng có lỗi không gửi."
    )
    return _finish(
        book, "send_to_so", report, paints, f"{lead} {outcome.message}", jobs=outcome.jobs
    )


def book_to_xlsx(grids: list[SheetGrid]) -> bytes:
    """The book's values as an ``.xlsx`` (values only: what the reader saw, nothing else)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for grid in grids:
        ws = wb.create_sheet(grid.name)
        for r, row in enumerate(grid.rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None or value == "":
                    continue
                cell = ws.cell(r, c, value)
                if isinstance(value, str):
                    cell.data_type = "s"  # "=…" typed by a teacher stays text
        if grid.hidden:
            ws.sheet_state = "hidden"
    # The same book sent twice must be the same file (sha256), whatever the time.
    return reproducible_bytes(wb)


def _store(book: CallerBook, ctx: ScriptContext) -> str:
    data = book_to_xlsx(book.grids())
    blob = ctx.files.store.new_temp()
    try:
        blob.write(data)
        blob.close()
    except BaseException:
        blob.discard()
        raise
    summary, _created = ctx.files.accept_upload(
        ctx.principal, ReceivedUpload(blob, _filename(book), {})
    )
    return summary.file_id


def _filename(book: CallerBook) -> str:
    name = clean_filename(str(book.book.api["book"].get("name") or "SoDiem"))
    return str(PurePath(name).with_suffix(".xlsx")) if PurePath(name).suffix else f"{name}.xlsx"


# -- refresh_status --------------------------------------------------------------------


async def refresh_status(book: CallerBook, ctx: ScriptContext) -> dict[str, Any]:
    file_id = book.state.file_id
    if not file_id:
        message = "Sổ này chưa được gửi lần nào từ Excel. Bấm «Gửi lên Sở» trước."
        return _finish(book, "refresh_status", None, [], message)
    paints = await run_in_threadpool(_status_paints, ctx, file_id)
    return _finish(book, "refresh_status", None, paints, "Đã cập nhật trạng thái từ máy chủ.")


def _status_paints(ctx: ScriptContext, file_id: str) -> list[SheetPaint]:
    with ctx.files.db.read_session() as session:
        try:
            ctx.files.get_visible(session, ctx.principal, file_id)
        except ApiError as exc:
            if exc.status_code == 404:
                raise not_found(file_id) from exc
            raise
        books = repository.gradebooks_of(session, [file_id])[file_id]
        rows = repository.rows_of(session, file_id)
        header_rows: dict[str, int] = {}
        findings: dict[str, list[dict]] = {}
        for b in books:
            if b.header_row:
                header_rows[b.sheet] = min(b.header_row, header_rows.get(b.sheet, b.header_row))
            findings.setdefault(b.sheet, []).extend(b.findings)
        return status_paints(rows, header_rows, findings)


# -- the common end ----------------------------------------------------------------------


def _finish(
    book: CallerBook,
    script: str,
    report: WorkbookReport | None,
    paints: list[SheetPaint],
    message: str,
    *,
    jobs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    known = {s.name for s in book.book.sheets}
    paints = [p for p in paints if p.sheet in known]  # a sheet renamed since the upload
    for paint in paints:
        if script != "validate_sheet":
            paint.summary = "\n".join(filter(None, [message, paint.summary]))
    book.paint(paints)
    book.save_state()
    if book.is_vba:
        book.book.app.alert(message, title=TITLE, buttons="ok", mode="info", callback="")
    return {
        "actions": book.actions(),
        "gradesync": _info(book, script, report, paints, message, jobs or []),
    }


def _info(
    book: CallerBook,
    script: str,
    report: WorkbookReport | None,
    paints: list[SheetPaint],
    message: str,
    jobs: list[dict[str, Any]],
) -> dict[str, Any]:
    """What the task pane shows: the message, counts, failed rows, where each sheet's
    status column is (the live stream paints rows across it)."""
    problems = []
    fills: dict[str, int] = {"green": 0, "red": 0, "neutral": 0}
    for p in paints:
        for r, colour in p.row_fills.items():
            fills[colour] += 1
            if colour == "red":
                problems.append({"sheet": p.sheet, "row": r, "cell": None, "status": p.status[r]})
        red_rows = sorted({_row_of(ref) for ref, c in p.fills if c == "red"})
        for r in red_rows:
            first = next(ref for ref, c in sorted(p.fills) if c == "red" and _row_of(ref) == r)
            problems.append({"sheet": p.sheet, "row": r, "cell": first, "status": p.status.get(r)})
    layout = {
        p.sheet: {
            "header_row": p.header_row,
            "status_col": book.state.marks[p.sheet].status_col,
            "first_row": p.first_row,
            "last_row": p.last_row,
        }
        for p in paints
    }
    meta = next((g for g in book.book.sheets if g.name == META_SHEET), None)
    info: dict[str, Any] = {
        "script": script,
        "client": book.client,
        "message": message,
        "file_id": book.state.file_id,
        "template_version": template_version(meta.api.get("values") or [[]]) if meta else None,
        "problems": sorted(problems, key=lambda x: (x["sheet"], x["row"])),
        "layout": layout,
        "jobs": jobs,
        "rows_by_colour": fills,
        "sync_text": {str(k): v for k, v in SYNC_TEXT.items()},
    }
    if report is not None:
        c = _counts(report)
        info["counts"] = {"rows": c.rows, "valid": c.valid, "invalid": c.invalid}
    return info


def _row_of(ref: str) -> int:
    return int("".join(ch for ch in ref.split(":")[0] if ch.isdigit()))


SCRIPTS: dict[str, Script] = {
    "validate_sheet": validate_sheet,
    "send_to_so": send_to_so,
    "refresh_status": refresh_status,
}
