"""A stand-in for Excel that runs xlwings actions on a payload, for assertions.

Real Excel cannot run here; this applies each action the way the clients'
handlers do (ranges by ``sheet_position``/``start_row``/``start_column``/
counts, ``addSheet`` inserting at a position, ``runMacro`` calling the macros
of ``addin/vba/GradeSync.bas``) to a model of the book: values, fills, notes,
visibility. :meth:`Excel.payload` turns it back into the client's next
payload, so tests can run script after script like a teacher does.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import column_index_from_string, get_column_letter

from tests.addin.payloads import Sheet, officejs, vba


@dataclass
class ModelSheet:
    name: str
    values: dict[tuple[int, int], Any] = field(default_factory=dict)  # (row, col) 1-based
    fills: dict[tuple[int, int], str] = field(default_factory=dict)
    notes: dict[tuple[int, int], str] = field(default_factory=dict)
    hidden: bool = False

    def fill(self, a1: str) -> str | None:
        return self.fills.get(_rc(a1))

    def note(self, a1: str) -> str | None:
        return self.notes.get(_rc(a1))

    def value(self, a1: str) -> Any:
        return self.values.get(_rc(a1))

    def red_cells(self) -> set[str]:
        return {f"{get_column_letter(c)}{r}" for (r, c), v in self.fills.items() if v == "#FFC7CE"}

    def filled_cells(self, colour: str) -> set[str]:
        return {f"{get_column_letter(c)}{r}" for (r, c), v in self.fills.items() if v == colour}


def _rc(a1: str) -> tuple[int, int]:
    m = re.fullmatch(r"\$?([A-Z]+)\$?(\d+)", a1.upper())
    assert m, a1
    return int(m.group(2)), column_index_from_string(m.group(1))


def _cells(a1: str) -> list[tuple[int, int]]:
    first, _, last = a1.partition(":")
    (r0, c0), (r1, c1) = _rc(first), _rc(last or first)
    return [(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]


class Excel:
    """The book of a payload, with every action applied so far."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.client = payload["client"]
        self.book_name = payload["book"]["name"]
        self.sheets: list[ModelSheet] = []
        self.alerts: list[str] = []
        self.macros: list[list[Any]] = []
        for s in payload["sheets"]:
            sheet = ModelSheet(s["name"], hidden=s.get("visibility", "Visible") != "Visible")
            for r, row in enumerate(s.get("values") or [], start=1):
                for c, v in enumerate(row, start=1):
                    if v is not None and v != "":
                        sheet.values[(r, c)] = v
            for n in s.get("notes") or []:
                sheet.notes[_rc(n["address"])] = "(ghi chú của giáo viên)"
            self.sheets.append(sheet)

    def __getitem__(self, name: str) -> ModelSheet:
        return next(s for s in self.sheets if s.name == name)

    def run(self, actions: list[dict[str, Any]]) -> None:
        for action in actions:
            getattr(self, "_" + action["func"])(action)

    # -- handlers (names as the clients') ---------------------------------------------

    def _range(self, a: dict[str, Any]) -> tuple[ModelSheet, list[tuple[int, int]]]:
        sheet = self.sheets[a["sheet_position"]]
        r0, c0 = a["start_row"] + 1, a["start_column"] + 1
        return sheet, [
            (r, c)
            for r in range(r0, r0 + a["row_count"])
            for c in range(c0, c0 + a["column_count"])
        ]

    def _setValues(self, a: dict[str, Any]) -> None:
        sheet, cells = self._range(a)
        flat = [v for row in a["values"] for v in row]
        for cell, v in zip(cells, flat, strict=True):
            if v is None or v == "":
                sheet.values.pop(cell, None)
            else:
                sheet.values[cell] = v

    def _setRangeColor(self, a: dict[str, Any]) -> None:
        sheet, cells = self._range(a)
        for cell in cells:
            if a["args"][0] is None:
                assert self.client != "VBA", "VBA's HexToRgb fails on null"
                sheet.fills.pop(cell, None)
            else:
                sheet.fills[cell] = a["args"][0].upper()

    def _addNote(self, a: dict[str, Any]) -> None:
        sheet = self.sheets[a["sheet_position"]]
        cell = _rc(a["args"][0])
        assert cell not in sheet.notes, f"a note already exists on {a['args'][0]}"
        sheet.notes[cell] = a["args"][1]

    def _deleteNote(self, a: dict[str, Any]) -> None:
        self.sheets[a["sheet_position"]].notes.pop(_rc(a["args"][0]), None)

    def _addSheet(self, a: dict[str, Any]) -> None:
        self.sheets.insert(a["args"][0], ModelSheet(a["args"][1]))

    def _setSheetVisibility(self, a: dict[str, Any]) -> None:
        self.sheets[a["sheet_position"]].hidden = a["args"][0] != "Visible"

    def _alert(self, a: dict[str, Any]) -> None:
        self.alerts.append(a["args"][0])

    def _runMacro(self, a: dict[str, Any]) -> None:
        name, *args = a["args"]
        self.macros.append(a["args"])
        if name == "GradeSync_ClearFill":
            sheet_name, ref = args
            for cell in _cells(ref):
                self[sheet_name].fills.pop(cell, None)
        elif name == "GradeSync_HideSheet":
            self[args[0]].hidden = True
        else:
            raise AssertionError(f"unknown macro {name}")

    # -- the next call ------------------------------------------------------------------

    def payload(self) -> dict[str, Any]:
        sheets = []
        for s in self.sheets:
            height = max((r for r, _ in s.values), default=0)
            width = max((c for _, c in s.values), default=0)
            rows = [
                [s.values.get((r, c)) for c in range(1, width + 1)] for r in range(1, height + 1)
            ]
            notes = [f"{get_column_letter(c)}{r}" for (r, c) in s.notes]
            sheets.append(Sheet(s.name, copy.deepcopy(rows), hidden=s.hidden, notes=notes))
        make = officejs if self.client == "Office.js" else vba
        return make(self.book_name, sheets)
