"""The marked-up copy: a teacher's workbook back, each data row coloured, with reasons.

The backend serves it as ``annotated.xlsx`` (rows coloured by their sync state)
and ``gradesync check --mark-up`` writes it from the validation findings alone.
Either way the caller says, per row, a status text, a colour and the reasons;
this module only paints:

* each marked row is filled green, red or neutral (light grey) across the table;
* each reason becomes a cell comment on the offending cell (on the row's first
  cell when the reason names no cell);
* a status column, with a header, is appended right of the table (or reused
  when the workbook is already a marked-up copy of ours, so re-uploading one
  does not grow a new column each time).

The output is always ``.xlsx``. ``.xlsx``/``.xlsm`` inputs are loaded with
openpyxl so the teacher's layout (widths, merges, fonts, validation) survives;
macros are never kept. ``.xls``/``.ods`` inputs (and any xlsx openpyxl cannot
load) are rebuilt from python-calamine's values: same sheets, same cells, same
merges, plain formatting.

Public API: :class:`RowMark`, :func:`write_marked_up`, :func:`marks_from_report`,
:func:`write_report_marked_up`, :data:`STATUS_HEADER`.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import openpyxl
import python_calamine
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.worksheet.worksheet import Worksheet

from gradesync.gradebook.model import Finding, WorkbookReport

Colour = Literal["green", "red", "neutral"]

STATUS_HEADER = "Trạng thái (gradesync)"
"""Header of the appended status column; a column with this header is reused."""

COMMENT_AUTHOR = "gradesync"

# Excel's built-in "Good" / "Bad" / "Neutral"-like pairs: readable when printed.
_FILLS: dict[str, PatternFill] = {
    "green": PatternFill(fill_type="solid", start_color="FFC6EFCE", end_color="FFC6EFCE"),
    "red": PatternFill(fill_type="solid", start_color="FFFFC7CE", end_color="FFFFC7CE"),
    "neutral": PatternFill(fill_type="solid", start_color="FFF2F2F2", end_color="FFF2F2F2"),
}
_FONTS: dict[str, Font] = {
    "green": Font(color="FF006100"),
    "red": Font(color="FF9C0006", bold=True),
    "neutral": Font(color="FF595959"),
}

# A text starting with one of these becomes a formula (or a CSV injection) when
# a spreadsheet program re-parses it; OWASP adds tab and carriage return.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_OPENPYXL_SUFFIXES = {".xlsx", ".xlsm", ".xltx", ".xltm"}


@dataclass(frozen=True, slots=True)
class RowMark:
    """How to mark one data row.

    ``row`` is the 1-based sheet row; ``reasons`` are ``(A1 cell or None,
    message)`` pairs shown as comments. The status text goes in the status
    column as is.
    """

    sheet: str
    row: int
    status: str
    colour: Colour
    reasons: Sequence[tuple[str | None, str]] = ()


def write_marked_up(
    source: bytes | Path,
    filename: str,
    marks: Iterable[RowMark],
    out: Path | IO[bytes],
    *,
    header_rows: Mapping[str, int] | None = None,
    sheet_notes: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Write ``source`` (named ``filename``) to ``out`` as xlsx, with ``marks`` painted.

    ``header_rows`` gives, per sheet, the row that gets the status column's
    header (default: the row above the sheet's first marked row).
    ``sheet_notes`` are messages about a whole sheet, shown as a comment on
    that header. Values are never changed, with one deliberate exception:

    * **Formulas are replaced by their cached values.** openpyxl cannot write
      a formula together with its cached value, so a kept formula would show
      as blank in any viewer that does not recalculate (and our own reader
      would see "not entered"); and a copy our server hands out should carry
      no live formula it did not write (``WEBSERVICE``, links to other
      files). The number the teacher saw is what stays.
    * Text that looks like a formula (``=HYPERLINK(…)``, ``+…``, ``-…``,
      ``@…``) is written as text with Excel's quote prefix, never live.

    Raises ``ValueError`` when a mark names a sheet the workbook does not have.
    """
    data = source.read_bytes() if isinstance(source, Path) else source
    workbook = _load(data, filename)
    by_sheet: dict[str, list[RowMark]] = defaultdict(list)
    for mark in marks:
        by_sheet[mark.sheet].append(mark)
    notes = dict(sheet_notes or {})
    missing = (set(by_sheet) | set(notes)) - set(workbook.sheetnames)
    if missing:
        raise ValueError(f"marks name sheets not in {filename!r}: {sorted(missing)}")
    for name in workbook.sheetnames:
        if by_sheet.get(name) or notes.get(name):
            header = (header_rows or {}).get(name)
            _paint_sheet(workbook[name], by_sheet.get(name, []), header, notes.get(name, ()))
    workbook.save(out)


def marks_from_report(report: WorkbookReport, *, valid_colour: Colour = "green") -> list[RowMark]:
    """Marks from validation alone: invalid rows red, the others ``valid_colour``.

    The status text is self-contained (it repeats the reasons), so the copy
    still says what is wrong where comments are not shown (printouts, CSV).
    """
    marks = []
    for book in report.gradebooks:
        for row in book.rows:
            errors = [f for f in row.findings if f.is_error]
            warnings = [f for f in row.findings if not f.is_error]
            if errors:
                status = f"Không hợp lệ ({len(errors)} lỗi): " + "; ".join(map(_located, errors))
                colour: Colour = "red"
            elif warnings:
                status = f"Hợp lệ, {len(warnings)} cảnh báo: " + "; ".join(map(_located, warnings))
                colour = valid_colour
            else:
                status, colour = "Hợp lệ", valid_colour
            reasons = [(f.cell, _labelled(f)) for f in row.findings]
            marks.append(RowMark(row.sheet, row.row, status, colour, reasons))
    return marks


def write_report_marked_up(
    source: bytes | Path, filename: str, report: WorkbookReport, out: Path | IO[bytes]
) -> None:
    """The marked-up copy of a validated workbook: :func:`marks_from_report` painted."""
    header_rows = {b.sheet: b.header_row for b in report.gradebooks if b.header_row}
    notes: dict[str, list[str]] = defaultdict(list)
    for book in report.gradebooks:
        notes[book.sheet].extend(_labelled(f) for f in book.findings)
    write_marked_up(
        source,
        filename,
        marks_from_report(report),
        out,
        header_rows=header_rows,
        sheet_notes={k: v for k, v in notes.items() if v},
    )


def _labelled(finding: Finding) -> str:
    kind = "Lỗi" if finding.is_error else "Cảnh báo"
    return f"{kind} [{finding.code}]: {finding.message}"


def _located(finding: Finding) -> str:
    return f"{finding.cell}: {finding.message}" if finding.cell else finding.message


# --- loading -----------------------------------------------------------------


def _load(data: bytes, filename: str) -> openpyxl.Workbook:
    if Path(filename).suffix.lower() in _OPENPYXL_SUFFIXES:
        try:
            workbook = openpyxl.load_workbook(
                io.BytesIO(data), data_only=True, keep_vba=False, keep_links=False
            )
        except Exception:  # any openpyxl failure: calamine reads more kinds of file
            return _rebuild(data)
        workbook.template = False  # an .xltx comes back as a workbook, like everything else
        _neutralise_formula_text(workbook)
        return workbook
    return _rebuild(data)


def _neutralise_formula_text(workbook: openpyxl.Workbook) -> None:
    """Loaded text cells stay text on save; the quote prefix keeps them text in Excel too."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(_FORMULA_PREFIXES):
                    _put(cell, cell.value)


def _rebuild(data: bytes) -> openpyxl.Workbook:
    """A plain xlsx with the same sheets, cell values and merges as ``data``."""
    source = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for meta in source.sheets_metadata:
        sheet = source.get_sheet_by_name(meta.name)
        target = workbook.create_sheet(meta.name)
        if meta.visible != python_calamine.SheetVisibleEnum.Visible:
            target.sheet_state = "hidden"
        for r, values in enumerate(sheet.to_python(skip_empty_area=False), start=1):
            for c, value in enumerate(values, start=1):
                if value != "" and value is not None:
                    _put(target.cell(r, c), value)
        for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or ():  # None for .ods
            target.merge_cells(
                start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1
            )
    return workbook


def _put(cell: Cell, value: object) -> None:
    """Set a value; text is always text (openpyxl would make ``"=…"`` a live formula)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(_FORMULA_PREFIXES):
            cell.quotePrefix = True


# --- painting ----------------------------------------------------------------


def _paint_sheet(
    sheet: Worksheet, marks: list[RowMark], header_row: int | None, notes: Sequence[str]
) -> None:
    rows = sorted({m.row for m in marks})
    ours = _find_status_header(sheet, rows[0] if rows else sheet.max_row)
    if ours is not None:  # a marked-up copy of ours, uploaded again
        header_row, status_col = ours
    else:
        if header_row is None:
            header_row = max(rows[0] - 1, 1) if rows else 1
        status_col = _table_width(sheet, header_row, max([header_row, *rows])) + 1
        while isinstance(sheet.cell(header_row, status_col), MergedCell):
            status_col += 1  # never write into someone's merged block
    _put(sheet.cell(header_row, status_col), STATUS_HEADER)
    sheet.cell(header_row, status_col).font = Font(bold=True)
    sheet.column_dimensions[get_column_letter(status_col)].width = 45
    if notes:
        _comment(_writable(sheet, sheet.cell(header_row, status_col)), notes)

    for mark in marks:
        fill = _FILLS[mark.colour]
        for col in range(1, status_col + 1):
            sheet.cell(mark.row, col).fill = fill
        status = _writable(sheet, sheet.cell(mark.row, status_col))
        _put(status, mark.status)
        status.font = _FONTS[mark.colour]
        by_cell: dict[str, list[str]] = defaultdict(list)
        for cell_ref, message in mark.reasons:
            by_cell[_cell_for(sheet, mark.row, cell_ref)].append(message)
        for ref, messages in by_cell.items():
            _comment(_writable(sheet, sheet[ref]), messages)


def _find_status_header(sheet: Worksheet, above: int) -> tuple[int, int] | None:
    """Row and column of our status header, when an earlier copy put one above ``above``."""
    for row in sheet.iter_rows(max_row=above):
        for cell in row:
            if cell.value == STATUS_HEADER:
                return cell.row, cell.column
    return None


def _table_width(sheet: Worksheet, header_row: int, last_row: int) -> int:
    """The last column of the table: used cells from the row above the header
    (a two-row header's group row) to the last marked row, and merged header
    cells. Every row counts, not only the marked ones, so the status column
    does not move with which rows are marked, and an empty column under a
    header is still part of the table."""
    last = _last_used_column(sheet, range(max(header_row - 1, 1), last_row + 1))
    for merged in sheet.merged_cells.ranges:
        if merged.min_row <= header_row <= merged.max_row:
            last = max(last, merged.max_col)
    return last


def _last_used_column(sheet: Worksheet, rows: range) -> int:
    last = 1
    # One iter_rows over the range: ``sheet[r]`` would recompute the sheet's
    # width for every row (quadratic on a 2,000-row sheet).
    for row in sheet.iter_rows(min_row=rows.start, max_row=rows.stop - 1):
        for cell in reversed(row):
            if cell.value is not None and cell.value != "":
                last = max(last, cell.column)
                break
    return last


def _cell_for(sheet: Worksheet, row: int, ref: str | None) -> str:
    """The reason's cell, or the row's first non-empty cell (column A if none)."""
    if ref:
        letters, _ = coordinate_from_string(ref)
        column_index_from_string(letters)  # validates the reference
        return ref.upper()
    for (cell,) in sheet.iter_cols(min_row=row, max_row=row):
        if cell.value is not None and cell.value != "":
            return cell.coordinate
    return f"A{row}"


def _writable(sheet: Worksheet, cell: Cell | MergedCell) -> Cell:
    """A merged cell's covered part cannot hold a value or comment: use its anchor."""
    if isinstance(cell, MergedCell):
        for merged in sheet.merged_cells.ranges:
            if cell.coordinate in merged:
                return sheet.cell(merged.min_row, merged.min_col)
    return cell  # type: ignore[return-value]


def _comment(cell: Cell, messages: Sequence[str]) -> None:
    """Our comment replaces an earlier one of ours and is added to a teacher's own."""
    text = "\n".join(messages)
    old = cell.comment
    if old is not None and old.author != COMMENT_AUTHOR:
        text = f"{old.text}\n— {COMMENT_AUTHOR} —\n{text}"
    lines = sum(1 + len(line) // 40 for line in text.splitlines())
    comment = Comment(text, COMMENT_AUTHOR, width=320, height=min(20 * lines + 20, 400))
    cell.comment = comment
