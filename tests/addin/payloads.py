"""xlwings book JSON exactly as the two clients build it, from sheet grids.

Built from the clients' source in the pinned xlwings (0.37.8):

* **Office.js** (xlwings-server ``custom-scripts/index.js``, ``getBookData``):
  ``client: "Office.js"``; ``book`` with ``name``, ``active_sheet_index``,
  ``selection``, ``calculation``; ``names``; per sheet ``name``,
  ``visibility``, ``show_gridlines``, ``print_area``, ``notes`` (addresses
  only), ``notes_supported`` (ExcelApi 1.18), ``used_range_*``, ``values``
  from A1 to the used range's last cell with ``""`` for empty cells and
  date-formatted numbers as ISO strings (``convertDateValues``),
  ``pictures``, ``shapes``, ``charts``, ``tables``, ``pivot_tables``.
* **VBA** (``addin/Remote.bas``, ``RunRemotePython``): ``client: "VBA"``,
  ``version`` (must equal the server's), ``book`` with ``name``,
  ``active_sheet_index``, ``selection``; ``names``; per sheet ``name``,
  ``pictures``, ``tables``, ``values`` (``UsedRange`` from A1; empty cells
  are VBA ``Empty`` → JSON ``null``; dates ``yyyy-mm-ddTHH:mm:ss.000Z``) —
  no visibility, no notes.

``make_payloads.py`` writes the committed fixtures in ``payloads/`` with these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter

XLWINGS_VERSION = "0.37.8"


@dataclass
class Sheet:
    name: str
    rows: list[list[Any]]
    hidden: bool = False
    notes: list[str] = field(default_factory=list)  # cells that already carry a note


def _iso(value: dt.date) -> str:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _used(rows: list[list[Any]]) -> tuple[int, int]:
    height = width = 0
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row, start=1):
            if v is not None and v != "":
                height, width = max(height, r), max(width, c)
    return height, width


def _matrix(rows: list[list[Any]], empty: Any) -> list[list[Any]]:
    height, width = _used(rows)
    if height == 0:
        return [[]] if empty is None else [[""]]
    out = []
    for r in range(height):
        row = rows[r] if r < len(rows) else []
        cells = []
        for c in range(width):
            v = row[c] if c < len(row) else None
            if v is None or v == "":
                cells.append(empty)
            elif isinstance(v, dt.date):
                cells.append(_iso(v))
            elif isinstance(v, bool | str):
                cells.append(v)
            else:
                cells.append(float(v) if not isinstance(v, int) else v)
        out.append(cells)
    return out


def officejs(book_name: str, sheets: Sequence[Sheet], selection: str | None = "A1") -> dict:
    payload_sheets = []
    for s in sheets:
        height, width = _used(s.rows)
        address = f"A1:{get_column_letter(width)}{height}" if height else None
        payload_sheets.append(
            {
                "name": s.name,
                "visibility": "Hidden" if s.hidden else "Visible",
                "show_gridlines": True,
                "print_area": None,
                "notes": [{"address": a} for a in s.notes],
                "notes_supported": True,
                "used_range_address": address,
                "used_range_row_count": height or None,
                "used_range_column_count": width or None,
                "values": _matrix(s.rows, ""),
                "pictures": [],
                "shapes": [],
                "charts": [],
                "tables": [],
                "pivot_tables": [],
            }
        )
    return {
        "client": "Office.js",
        "version": XLWINGS_VERSION,
        "book": {
            "name": book_name,
            "active_sheet_index": 0,
            "selection": selection,
            "calculation": "Automatic",
        },
        "names": [],
        "sheets": payload_sheets,
    }


def vba(book_name: str, sheets: Sequence[Sheet], selection: str | None = "A1") -> dict:
    return {
        "client": "VBA",
        "version": XLWINGS_VERSION,
        "book": {"name": book_name, "active_sheet_index": 0, "selection": selection},
        "names": [],
        "sheets": [
            {"name": s.name, "pictures": [], "tables": [], "values": _matrix(s.rows, None)}
            for s in sheets
        ],
    }
