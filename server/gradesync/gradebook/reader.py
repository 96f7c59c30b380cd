"""Read a teacher's workbook into validated gradebooks.

Two doors, one pipeline: :func:`read_workbook` opens ``.xlsx``/``.xlsm``/
``.xls``/``.ods`` bytes with python-calamine (cached formula values, no
formatting), :func:`read_grids` takes sheet values from elsewhere (the Excel
add-in's xlwings payload). Each sheet with a grade table becomes a
:class:`~gradesync.gradebook.model.Gradebook`: its header is found and mapped
(:mod:`.headers`), its class/subject/semester/year discovered
(:mod:`.metadata`), its rows parsed (:mod:`.values`) and then checked by
:func:`gradesync.gradebook.rules.validate`; then the sheets are compared
with each other (:func:`gradesync.gradebook.names.check_names`: one name per
student id, which catches rows pasted one row off). Nothing escapes as an exception:
an unreadable file is a report with one ``FILE_UNREADABLE`` finding.
"""

from __future__ import annotations

import gc
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from gradesync.gradebook.catalog import Catalog, load_catalog
from gradesync.gradebook.codes import finding
from gradesync.gradebook.headers import Column, HeaderMap, find_header
from gradesync.gradebook.metadata import (
    Found,
    is_metadata_sheet,
    name_found,
    read_metadata_sheet,
    resolve,
    title_found,
)
from gradesync.gradebook.model import (
    Gradebook,
    Hints,
    Level,
    SubjectKind,
    WorkbookReport,
)
from gradesync.gradebook.names import check_names
from gradesync.gradebook.rows import RowReader
from gradesync.gradebook.rules import validate

__all__ = ["SheetGrid", "load_grids", "read_grids", "read_workbook"]


@dataclass(slots=True)
class SheetGrid:
    """One sheet's values, row by row from A1 (``rows[0][0]`` is A1)."""

    name: str
    rows: list[list[object]]
    hidden: bool = False


def load_grids(source: bytes | Path) -> list[SheetGrid]:
    """Every worksheet of a workbook file as a :class:`SheetGrid` (raises on unreadable files)."""
    if isinstance(source, bytes | bytearray | memoryview):
        book = CalamineWorkbook.from_filelike(io.BytesIO(bytes(source)))
    else:
        book = CalamineWorkbook.from_path(str(source))
    grids = []
    for meta in book.sheets_metadata:
        if meta.typ is not SheetTypeEnum.WorkSheet:
            continue  # chart and macro sheets hold no cells
        sheet = book.get_sheet_by_name(meta.name)
        rows = sheet.to_python(skip_empty_area=False)
        grids.append(
            SheetGrid(meta.name, rows, hidden=meta.visible is not SheetVisibleEnum.Visible)
        )
    return grids


_ZIP = b"PK\x03\x04"  # .xlsx, .xlsm, .ods
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected Office file


def _unreadable_reason(source: bytes | Path) -> str:
    """Why calamine could not open it, told by the file's first bytes (its errors are terse)."""
    try:
        head = bytes(source[:8]) if not isinstance(source, Path) else source.open("rb").read(8)
    except OSError:
        return "không đọc được tệp"
    if head.startswith(_ZIP):
        return "tệp bị hỏng hoặc không đầy đủ (có thể tải lên bị gián đoạn)"
    if head.startswith(_OLE):
        return "tệp được đặt mật khẩu hoặc bị hỏng"
    return "đây không phải là tệp Excel (.xlsx, .xlsm, .xls) hay .ods"


def read_workbook(
    source: bytes | Path,
    filename: str,
    hints: Hints | None = None,
    catalog: Catalog | None = None,
) -> WorkbookReport:
    """Read, map and validate a workbook file; never raises for a bad file."""
    try:
        grids = load_grids(source)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # calamine raises CalamineError, pyo3 panics, OSError, …
        report = WorkbookReport(filename)
        report.findings.append(
            finding("FILE_UNREADABLE", filename=filename, reason=_unreadable_reason(source))
        )
        return report
    return read_grids(grids, filename, hints, catalog)


_gc_lock = threading.Lock()
_gc_readers = 0  # reads in progress, over all threads
_gc_paused = False  # whether the first of them turned the collector off


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Keep Python's cycle collector off while gradebooks are built.

    A school workbook becomes ~100,000 small containers (rows, their lists,
    findings), none of them in a cycle. Left on, the collector runs full
    collections over that growing heap several times per read — a third of
    the time of mapping and validating. Reference counting still frees
    everything; the collector is back on when the last concurrent read ends
    (and only if it was on when the first began), so uploads parsed in
    parallel threads never leave it off.
    """
    global _gc_readers, _gc_paused
    with _gc_lock:
        if _gc_readers == 0:
            _gc_paused = gc.isenabled()
            gc.disable()
        _gc_readers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_readers -= 1
            if _gc_readers == 0 and _gc_paused:
                gc.enable()


def read_grids(
    grids: list[SheetGrid],
    filename: str,
    hints: Hints | None = None,
    catalog: Catalog | None = None,
) -> WorkbookReport:
    """Map and validate sheets already read (calamine, xlwings, tests)."""
    with _cycle_collector_paused():
        return _read_grids(grids, filename, hints, catalog or load_catalog())


def _read_grids(
    grids: list[SheetGrid], filename: str, hints: Hints | None, catalog: Catalog
) -> WorkbookReport:
    report = WorkbookReport(filename)
    common, per_sheet = Found(), {}
    for grid in grids:
        if is_metadata_sheet(grid.name):
            found, sheets = read_metadata_sheet(grid.rows)
            common, per_sheet = found.merged_over(common), {**per_sheet, **sheets}
    from_file = name_found(filename, catalog)
    for grid in grids:
        if is_metadata_sheet(grid.name):
            continue
        header = find_header(grid.rows)
        if header is None:
            continue  # a lookup list, a cover page, a chart's data: not a grade table
        sources = [
            per_sheet.get(grid.name, Found()).merged_over(common),
            title_found(grid.rows[: header.top], catalog),
            name_found(grid.name, catalog),
            from_file,
        ]
        book = _read_sheet(grid, header, sources, hints, catalog)
        validate(book, catalog)
        report.gradebooks.append(book)
    check_names(report.gradebooks)  # an id carries one name on every sheet
    if not report.gradebooks:
        report.findings.append(finding("NO_GRADE_TABLE", filename=filename))
    return report


def _mode(level: Level | None, kind: SubjectKind | None, header: HeaderMap) -> str:
    """How the sheet's cells are read: ``primary`` (T/H/C), ``comment`` (Đ/CĐ) or ``score``."""
    if level is Level.PRIMARY:
        return "primary"
    if kind is not None:
        return kind.value
    roles = header.roles
    if roles & {"tx", "tx_all", "gk", "ck", "tb"}:
        return "score"
    if "score" in roles or any(r.startswith("rating.") for r in roles):
        return "primary"
    return "comment"


# Which roles each mode reads; any other mapped column is reported, not read.
_MODE_ROLES = {
    "score": {"tx", "tx_all", "gk", "ck", "tb"},
    "comment": {"tx", "tx_all", "gk", "ck", "result"},
    "primary": {"result", "score"},
}
_COMMON_ROLES = {
    "student_id",
    "full_name",
    "family_name",
    "given_name",
    "comment",
    "exempt",
    "note",
}


def _read_sheet(
    grid: SheetGrid,
    header: HeaderMap,
    sources: list[Found],
    hints: Hints | None,
    catalog: Catalog,
) -> Gradebook:
    meta = resolve(sources, hints, catalog, grid.name)
    subject = meta.subject
    book = Gradebook(
        sheet=grid.name,
        school_year=meta.school_year,
        semester=meta.semester,
        class_name=meta.class_name,
        subject_code=subject.code if subject else None,
        level=meta.level,
        grade=meta.grade,
        header_row=header.bottom + 1,
    )
    book.findings.extend(meta.findings)
    mode = _mode(meta.level, subject.kind if subject else None, header)
    wanted = _MODE_ROLES[mode] | _COMMON_ROLES
    used: list[Column] = []
    for column in header.columns:
        if column.role in wanted or (mode == "primary" and column.role.startswith("rating.")):
            used.append(column)
            book.columns[column.role] = column.cell
        else:
            header.unmapped.append(column)
    tx = header.tx if "tx" in wanted else []
    if not tx:
        header.unmapped.extend(header.tx)
    for i, column in enumerate(tx):
        book.columns[f"tx.{i}"] = column.cell
    for column in sorted(header.unmapped, key=lambda c: c.index):
        book.findings.append(
            finding("COLUMN_UNMAPPED", sheet=grid.name, cell=column.cell, header=column.header)
        )
    for first, again in header.duplicates:
        book.findings.append(
            finding(
                "COLUMN_DUPLICATE",
                sheet=grid.name,
                cell=again.cell,
                field=again.header,
                first=first.cell,
            )
        )
    reader = RowReader(grid.name, mode, used, tx, subject.name if subject else None)
    book.rows = reader.read(grid.rows, header.bottom + 1)
    return book
