"""The calling workbook: xlwings' book JSON in, sheet grids out, our marks back as actions.

An xlwings client (the Office.js task pane or ribbon, or VBA's
``RunRemotePython``) POSTs the whole workbook as JSON; ``xw.Book(json=…)``
(xlwings' remote engine) wraps it, and everything we do to that book is
recorded as *actions* the client runs when the answer comes back.

This module owns the two ends of that trip:

* :meth:`CallerBook.grids` — the sheets as :class:`~gradesync.gradebook.reader.SheetGrid`
  values for the one reader (``read_grids``), without our own status column
  and state sheet (they are ours, not the teacher's data);
* :meth:`CallerBook.paint` — :class:`SheetPaint` marks turned into actions
  the *calling client* can run. VBA clients cannot run notes, sheet
  visibility or ``setRangeColor(None)`` (their ``HexToRgb`` fails on null),
  so for them fills are cleared and the state sheet hidden by macros of our
  own VBA module (``runMacro``), and every reason also stands in the status
  column, which all clients get.

What we painted last time is remembered in a state sheet (:data:`STATE_SHEET`)
with the file id of the last ``send_to_so``, so stale marks are cleared
exactly — never the teacher's own colours or notes elsewhere.

Public API: :class:`CallerBook`, :class:`SheetPaint`, :class:`AddinState`,
:class:`AddinError`, :data:`STATE_SHEET`, :data:`FILLS`, :data:`VBA_MACROS`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from openpyxl.utils import column_index_from_string, get_column_letter

import gradesync.addin  # noqa: F401  (xlwings' environment before its first import)
from gradesync.gradebook.markup import STATUS_HEADER
from gradesync.gradebook.reader import SheetGrid

Colour = Literal["green", "red", "neutral"]

#: Fill colours, the same as the marked-up copy's (``gradebook.markup``): Excel's
#: "Good" / "Bad" / a light grey for "sent, no answer yet".
FILLS: dict[str, str] = {"green": "#C6EFCE", "red": "#FFC7CE", "neutral": "#F2F2F2"}

STATE_SHEET = "_GuiSo"
"""Hidden sheet holding the file id and what we painted (never read as a gradebook)."""
_STATE_MARKER = "gradesync-addin"
_STATE_VERSION = "1"
_CHUNK = 30_000  # an Excel cell holds at most 32,767 characters

#: Macros of ``addin/vba/GradeSync.bas`` the scripts call on VBA clients (``runMacro``).
VBA_MACROS = {"clear_fill": "GradeSync_ClearFill", "hide_sheet": "GradeSync_HideSheet"}

OFFICE_JS = "Office.js"
VBA = "VBA"
_CLIENTS = (OFFICE_JS, VBA)


class AddinError(Exception):
    """A request the add-in cannot serve; ``message`` is for the teacher (Vietnamese)."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


@dataclass(slots=True)
class SheetPaint:
    """What one sheet should show after a script.

    ``fills`` are ``(A1 cell or range, colour)``; ``row_fills`` colour a whole
    row of the table (column A to the one before the status column), under
    ``fills``; ``notes`` map a cell to its
    messages (Office.js only; every message also belongs in ``status``);
    ``status`` maps a 1-based row to its status-column text. ``first_row``
    and ``last_row`` bound the data rows (the status column is rewritten over
    that span so old texts disappear). ``summary`` goes in a note on the
    status header.
    """

    sheet: str
    header_row: int
    first_row: int
    last_row: int
    fills: list[tuple[str, Colour]] = field(default_factory=list)
    row_fills: dict[int, Colour] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    status: dict[int, str] = field(default_factory=dict)
    summary: str | None = None


@dataclass(slots=True)
class SheetMarks:
    """What we painted on one sheet (kept in the state sheet)."""

    fills: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status_col: int | None = None  # 1-based
    status_rows: tuple[int, int] | None = None  # first, last row holding our texts


@dataclass(slots=True)
class AddinState:
    """The state sheet's contents: the last file id and our marks per sheet."""

    file_id: str | None = None
    marks: dict[str, SheetMarks] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "file_id": self.file_id,
                "marks": {
                    name: {
                        "fills": m.fills,
                        "notes": m.notes,
                        "status_col": m.status_col,
                        "status_rows": list(m.status_rows) if m.status_rows else None,
                    }
                    for name, m in self.marks.items()
                },
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> AddinState:
        data = json.loads(text)
        marks = {
            name: SheetMarks(
                fills=list(m.get("fills") or []),
                notes=list(m.get("notes") or []),
                status_col=m.get("status_col"),
                status_rows=tuple(m["status_rows"]) if m.get("status_rows") else None,
            )
            for name, m in (data.get("marks") or {}).items()
        }
        return cls(file_id=data.get("file_id"), marks=marks)


class CallerBook:
    """One script call's workbook (``xw.Book(json=payload)``) and what we do to it."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        client = payload.get("client") if isinstance(payload, Mapping) else None
        if client not in _CLIENTS:
            raise AddinError(
                422,
                "UNSUPPORTED_CLIENT",
                "Yêu cầu không đến từ add-in Excel (Office.js) hay macro VBA của xlwings. "
                "Hãy bấm nút trên thẻ «Sở GD&ĐT» hoặc chạy macro GradeSync trong Excel.",
            )
        if not isinstance(payload.get("sheets"), list) or not payload["sheets"]:
            raise AddinError(
                422, "EMPTY_WORKBOOK", "Excel không gửi trang tính nào; hãy mở sổ điểm rồi thử lại."
            )
        import xlwings as xw
        from xlwings import XlwingsError

        try:
            self.book = xw.Book(json=dict(payload))
        except XlwingsError as exc:
            if "version is different" in str(exc):
                raise AddinError(
                    422,
                    "XLWINGS_VERSION_MISMATCH",
                    f"Add-in xlwings trong Excel là phiên bản {payload.get('version')}, máy chủ "
                    f"dùng {xw.__version__}. Hãy cài xlwings.xlam phiên bản {xw.__version__} "
                    "(xem hướng dẫn «The Excel add-in» của gradesync) rồi thử lại.",
                ) from exc
            raise
        self.client: str = client
        self._state_seen = self._read_state()
        self.state = AddinState(self._state_seen.file_id, dict(self._state_seen.marks))

    # -- what the client can run -------------------------------------------------

    @property
    def is_vba(self) -> bool:
        return self.client == VBA

    @property
    def notes_supported(self) -> bool:
        """Office.js with ExcelApi 1.18 sends ``notes``; VBA can run no note action."""
        if self.is_vba:
            return False
        sheets = self.book.api["sheets"]
        return all(s.get("notes_supported") is not False and "notes" in s for s in sheets)

    # -- reading -----------------------------------------------------------------

    def grids(self) -> list[SheetGrid]:
        """Every sheet's values from A1, as the file reader sees them.

        Our state sheet is left out and our status column blanked: both are
        ours, and the reader would report the column as unknown.
        """
        out = []
        for sheet in self.book.sheets:
            if sheet.name == STATE_SHEET:
                continue
            rows = self._values(sheet)
            col = self.status_col_of(sheet.name, rows)
            if col is not None:
                for row in rows:
                    if len(row) >= col:
                        row[col - 1] = None
            hidden = sheet.api.get("visibility", "Visible") != "Visible"
            out.append(SheetGrid(sheet.name, rows, hidden=hidden))
        return out

    def _values(self, sheet: Any) -> list[list[object]]:
        raw = sheet.api.get("values") or [[]]
        height, width = len(raw), max((len(r) for r in raw), default=0)
        if width == 0:
            return []
        # xlwings' own conversion: ISO strings → datetime, "" → None, as any xlwings script sees
        values = sheet.range((1, 1), (height, width)).options(ndim=2).value
        return [list(r) for r in values]

    def status_col_of(self, sheet_name: str, rows: list[list[object]] | None = None) -> int | None:
        """Our status column on a sheet: where we wrote it last, or a header saying it is ours."""
        marks = self.state.marks.get(sheet_name)
        if marks and marks.status_col:
            return marks.status_col
        if rows is None:
            rows = self._values(self.book.sheets[sheet_name])
        for row in rows[:60]:
            for c, value in enumerate(row, start=1):
                if value == STATUS_HEADER:
                    return c
        return None

    def has_note(self, sheet_name: str, cell: str) -> bool:
        sheet = self.book.sheets[sheet_name]
        return any(_key(n.get("address")) == _key(cell) for n in sheet.api.get("notes") or [])

    # -- painting ----------------------------------------------------------------

    def paint(self, paints: Iterable[SheetPaint]) -> None:
        """Clear what we painted before on these sheets, then paint ``paints``."""
        for paint in paints:
            sheet = self.book.sheets[paint.sheet]
            rows = self._values(sheet)
            old = self.state.marks.get(paint.sheet, SheetMarks())
            status_col = old.status_col or self.status_col_of(paint.sheet, rows)
            if status_col is None:
                status_col = _table_width(rows, paint.header_row, paint.last_row) + 1
            self._clear(sheet, old, keep_status_col=status_col)
            new = SheetMarks(status_col=status_col)
            last = get_column_letter(max(status_col - 1, 1))
            whole = [(f"A{r}:{last}{r}", c) for r, c in sorted(paint.row_fills.items())]
            for ref, colour in [*whole, *_merge_fills(paint.fills)]:
                self._fill(sheet, ref, FILLS[colour])
                new.fills.append(ref)
            if self.notes_supported:
                for cell, messages in paint.notes.items():
                    if self.has_note(paint.sheet, cell) and cell not in old.notes:
                        continue  # the teacher's own note: the reason is in the status column
                    sheet.range(cell).add_note("\n".join(messages))
                    new.notes.append(cell)
            self._write_status(sheet, paint, status_col, old, new)
            self.state.marks[paint.sheet] = new

    def _clear(self, sheet: Any, old: SheetMarks, *, keep_status_col: int) -> None:
        for ref in old.fills:
            self._fill(sheet, ref, None)
        if self.notes_supported:
            for cell in old.notes:
                if self.has_note(sheet.name, cell):
                    note = sheet.range(cell).note
                    if note is not None:
                        note.delete()
                    sheet.api["notes"] = [
                        n for n in sheet.api.get("notes") or [] if _key(n["address"]) != _key(cell)
                    ]
        if old.status_col and old.status_col != keep_status_col and old.status_rows:
            top, bottom = old.status_rows
            sheet.range((top, old.status_col), (bottom, old.status_col)).value = [
                [""] for _ in range(bottom - top + 1)
            ]

    def _fill(self, sheet: Any, ref: str, colour: str | None) -> None:
        if colour is None and self.is_vba:
            # VBA's setRangeColor cannot take null; our macro sets "no fill".
            self.book.app.macro(VBA_MACROS["clear_fill"])(sheet.name, ref)
        else:
            sheet.range(ref).color = colour

    def _write_status(
        self, sheet: Any, paint: SheetPaint, col: int, old: SheetMarks, new: SheetMarks
    ) -> None:
        top = paint.header_row
        bottom = max(paint.last_row, paint.header_row)
        if old.status_col == col and old.status_rows:
            bottom = max(bottom, old.status_rows[1])
        column = [[paint.status.get(r, "")] for r in range(top + 1, bottom + 1)]
        sheet.range((top, col)).value = [[STATUS_HEADER]]
        if column:
            sheet.range((top + 1, col), (bottom, col)).value = column
        new.status_rows = (top, bottom)
        header = sheet.range((top, col)).address.replace("$", "")
        free = not self.has_note(paint.sheet, header) or header in old.notes
        if paint.summary and self.notes_supported and free:
            sheet.range(header).add_note(paint.summary)
            new.notes.append(header)

    # -- state ---------------------------------------------------------------------

    def _read_state(self) -> AddinState:
        names = [s.name for s in self.book.sheets]
        if STATE_SHEET not in names:
            return AddinState()
        rows = self._values(self.book.sheets[STATE_SHEET])
        if not rows or not rows[0] or rows[0][0] != _STATE_MARKER:
            return AddinState()
        text = "".join(str(v) for v in (rows[1][1:] if len(rows) > 1 else []) if v)
        try:
            return AddinState.from_json(text) if text else AddinState()
        except (ValueError, TypeError, KeyError):
            return AddinState()  # edited by hand: start afresh, clearing nothing

    def save_state(self) -> None:
        """Write :attr:`state` to the (hidden) state sheet, creating it the first time."""
        text = self.state.to_json()
        chunks = [text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)] or [""]
        names = [s.name for s in self.book.sheets]
        if STATE_SHEET in names:
            sheet = self.book.sheets[STATE_SHEET]
            old_width = max((len(r) for r in sheet.api.get("values") or [[]]), default=0)
        else:
            sheet = self.book.sheets.add(STATE_SHEET, after=self.book.sheets[-1])
            old_width = 0
            if self.is_vba:
                self.book.app.macro(VBA_MACROS["hide_sheet"])(STATE_SHEET)
            else:
                sheet.visible = False
        width = max(len(chunks) + 1, old_width, 2)
        first = [_STATE_MARKER, _STATE_VERSION] + [""] * (width - 2)
        second = ["marks", *chunks] + [""] * (width - 1 - len(chunks))
        sheet.range((1, 1), (2, width)).value = [first, second]

    def actions(self) -> list[dict[str, Any]]:
        """The actions recorded so far, for the client to run."""
        return list(self.book.json()["actions"])


def _key(address: str | None) -> str:
    return (address or "").replace("$", "").upper()


def _table_width(rows: list[list[object]], header_row: int, last_row: int) -> int:
    """The table's last used column, from the row above the header to the last data row."""
    last = 1
    for row in rows[max(header_row - 2, 0) : last_row]:
        for c, value in enumerate(row, start=1):
            if value is not None and value != "" and c > last:
                last = c
    return last


_CELL = re.compile(r"^([A-Z]+)(\d+)$")


def _merge_fills(fills: list[tuple[str, Colour]]) -> list[tuple[str, Colour]]:
    """Adjacent single cells of one colour on one row become one range (fewer actions)."""
    out: list[tuple[str, Colour]] = []
    run: tuple[int, int, int, Colour] | None = None  # row, first col, last col, colour

    def flush() -> None:
        if run is not None:
            r, c0, c1, colour = run
            a, b = f"{get_column_letter(c0)}{r}", f"{get_column_letter(c1)}{r}"
            out.append((a if c0 == c1 else f"{a}:{b}", colour))

    for ref, colour in sorted(fills, key=_fill_order):
        m = _CELL.match(ref)
        if m is None:  # already a range
            flush()
            run = None
            out.append((ref, colour))
            continue
        r, c = int(m.group(2)), column_index_from_string(m.group(1))
        if run is not None and run[0] == r and run[2] + 1 == c and run[3] == colour:
            run = (r, run[1], c, colour)
            continue
        if run is not None and run[0] == r and run[1] <= c <= run[2]:
            continue  # the same cell twice
        flush()
        run = (r, c, c, colour)
    flush()
    return out


def _fill_order(item: tuple[str, Colour]) -> tuple[int, int, str]:
    m = _CELL.match(item[0])
    if m is None:
        return (0, 0, item[0])
    return (int(m.group(2)), column_index_from_string(m.group(1)), "")
