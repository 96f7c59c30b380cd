"""Names against ids across the sheets of one workbook: rows pasted one row off.

A class's workbook often holds a gradebook per subject, each copied from the
class list. When a teacher pastes the names (or the ids) one row off, every
id still looks valid, so the per-sheet rules see nothing wrong, yet each
grade would be sent to the student on the neighbouring row. The workbook
itself proves it: a student id is national and never changes, so it must
carry the same name on every sheet.

:func:`check_names` compares, for every id found on several sheets, the
names those sheets give it (normalised: NFC, case, runs of spaces; split
name columns are already joined by the reader). A row is flagged when its
name is not the one most sheets give that id; on a tie (two sheets that
disagree) no sheet is the majority and both are flagged, since nothing in
the workbook says which is right.

Two findings, on the row's name cell:

* ``NAME_ID_MISMATCH`` (error) — the name is a different student's: another
  id's name in this workbook, or a name not close to the other sheets' one.
  A grade keyed by this id would go to the wrong student, so the row is held.
* ``NAME_SPELLING_DIFFERS`` (warning) — the two names are spellings of one
  name: equal once diacritics, case and spaces are dropped, or at most two
  letters apart, and neither is another student's name in the workbook. The Sở
  keys grades by id, so the grade reaches the right student; only the name
  needs tidying, which must not block the row.

When at least half of a sheet's comparable rows (and at least two) carry the
name of the id on the row just above or just below, the sheet also gets one
``ROWS_SHIFTED`` error saying the block is shifted, and which way.

Cost: one dict for the workbook (id → first raw name) and one string
comparison per row; everything else runs only when some id has two names.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from gradesync.gradebook.codes import finding
from gradesync.gradebook.model import Gradebook, GradeRow
from gradesync.gradebook.text import key, nfc

__all__ = ["check_names"]

_SPELLING_DISTANCE = 2  # letters; Vietnamese names run 8–20 letters without spaces


def _norm(name: str) -> str:
    """The comparison form: NFC, case-folded, single spaces."""
    return " ".join(nfc(name).casefold().split())


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (``limit + 1``) once it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _spelling_of(a: str, b: str) -> bool:
    """Are two different names plausibly one name typed differently?"""
    ka, kb = key(a), key(b)
    return _distance(ka, kb, _SPELLING_DISTANCE) <= _SPELLING_DISTANCE


@dataclass(slots=True)
class _Entry:
    """One sheet's row for an id (its first, if the id is duplicated there)."""

    book: int  # index of the gradebook
    position: int  # among the sheet's rows with an id
    row: GradeRow
    norm: str


def check_names(books: list[Gradebook]) -> None:
    """Flag rows whose name for an id disagrees with the workbook's other sheets."""
    if len(books) < 2:
        return  # nothing to compare with
    if _disputed(books):
        _Disputes(books).report()


def _disputed(books: list[Gradebook]) -> bool:
    """Does some id carry two names? The fast path: one dict, one comparison a row."""
    first: dict[str, str] = {}
    for book in books:
        for row in book.rows:
            ident, name = row.student_id, row.full_name
            if ident is None or not name:
                continue
            seen = first.setdefault(ident, name)
            if seen is not name and seen != name and _norm(seen) != _norm(name):
                return True
    return False


class _Disputes:
    """The slow path, run only when some id carries two names."""

    def __init__(self, books: list[Gradebook]) -> None:
        self.books = books
        # per sheet: its rows with an id and a name, first row per id …
        self.sheets: list[list[_Entry]] = []
        # … and every row with an id, in order (a neighbour may have lost its name)
        self.id_rows: list[list[GradeRow]] = []
        # id → its entries over all sheets
        self.by_id: dict[str, list[_Entry]] = {}
        norms: dict[str, str] = {}  # raw name → _norm(name): names repeat on every sheet
        for index, book in enumerate(books):
            entries: list[_Entry] = []
            id_rows = [row for row in book.rows if row.student_id is not None]
            ids: set[str] = set()
            for position, row in enumerate(id_rows):
                ident = row.student_id
                if not row.full_name or ident in ids:
                    continue
                ids.add(ident)  # type: ignore[arg-type]
                norm = norms.get(row.full_name)
                if norm is None:
                    norm = norms[row.full_name] = _norm(row.full_name)
                entry = _Entry(index, position, row, norm)
                entries.append(entry)
                self.by_id.setdefault(ident, []).append(entry)  # type: ignore[arg-type]
            self.sheets.append(entries)
            self.id_rows.append(id_rows)
        self.owners: dict[str, set[str]] = {}  # normalised name → the ids it is given
        # id with several names → the name most sheets give it (``None`` on a tie)
        self.majority: dict[str, str | None] = {}
        for ident, found in self.by_id.items():
            names = {entry.norm for entry in found}
            for norm in names:
                self.owners.setdefault(norm, set()).add(ident)
            if len(names) > 1:
                counts = Counter(e.norm for e in found).most_common(2)
                tie = counts[0][1] == counts[1][1]
                self.majority[ident] = None if tie else counts[0][0]

    def _other(self, entry: _Entry) -> _Entry:
        """The other sheets' entry to quote: the most common name unlike this row's."""
        others = [e for e in self.by_id[entry.row.student_id] if e.norm != entry.norm]  # type: ignore[index]
        counts = Counter(e.norm for e in others)
        best = max(counts.values())
        return next(e for e in others if counts[e.norm] == best)

    def report(self) -> None:
        for index, entries in enumerate(self.sheets):
            flagged: list[tuple[_Entry, _Entry]] = []
            shifts = Counter()
            comparable = 0
            for entry in entries:
                ident = entry.row.student_id
                assert ident is not None
                if len(self.by_id[ident]) < 2:
                    continue  # on this sheet only
                comparable += 1
                if ident not in self.majority or self.majority[ident] == entry.norm:
                    continue
                other = self._other(entry)
                neighbour, direction = self._shift(entry)
                if direction:
                    shifts[direction] += 1
                flagged.append((entry, other))
                self._flag(entry, other, neighbour)
            if not flagged:
                continue
            direction, count = shifts.most_common(1)[0] if shifts else (0, 0)
            if count >= 2 and 2 * count >= comparable:
                rows = [e.row.row for e, _ in flagged]
                book = self.books[index]
                book.findings.append(
                    finding(
                        "ROWS_SHIFTED",
                        sheet=book.sheet,
                        count=count,
                        total=comparable,
                        first=min(rows),
                        last=max(rows),
                        where="ngay dưới" if direction > 0 else "ngay trên",
                        other=self.books[flagged[0][1].book].sheet,
                    )
                )

    def _shift(self, entry: _Entry) -> tuple[GradeRow | None, int]:
        """The row whose student the name belongs to by the other sheets, and where it is:
        +1 the next row (of those with an id), −1 the previous one; ``(None, 0)`` else."""
        id_rows = self.id_rows[entry.book]
        for step in (1, -1):
            j = entry.position + step
            if 0 <= j < len(id_rows):
                neighbour = id_rows[j]
                found = self.by_id.get(neighbour.student_id)  # type: ignore[arg-type]
                if found and any(e.norm == entry.norm for e in found if e.book != entry.book):
                    return neighbour, step
        return None, 0

    def _flag(self, entry: _Entry, other: _Entry, neighbour: GradeRow | None) -> None:
        row, book = entry.row, self.books[entry.book]
        ident = row.student_id
        someone_else = self.owners.get(entry.norm, set()) - {ident}
        fields = {
            "id": ident,
            "id_cell": row.cells.get("student_id", "?"),
            "name": row.full_name,
            "other": self.books[other.book].sheet,
            "other_name": other.row.full_name,
        }
        cell = row.cells.get("full_name")
        # a typo only if neither name is another student's (else the ids are crossed)
        crossed = someone_else or self.owners.get(other.norm, set()) - {ident}
        if neighbour is None and not crossed and _spelling_of(row.full_name, other.row.full_name):
            row.findings.append(
                finding("NAME_SPELLING_DIFFERS", sheet=book.sheet, row=row.row, cell=cell, **fields)
            )
            return
        note = ""
        if neighbour is not None:
            whose = f"mã {neighbour.student_id} ở dòng {neighbour.row}"
            note = f" ('{row.full_name}' là tên của {whose})"
        elif someone_else:
            note = f" ('{row.full_name}' là tên của mã {min(someone_else)})"
        row.findings.append(
            finding(
                "NAME_ID_MISMATCH", sheet=book.sheet, row=row.row, cell=cell, note=note, **fields
            )
        )
