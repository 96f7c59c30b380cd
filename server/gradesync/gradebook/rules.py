"""The rules of Circular 22/2021 (secondary) and Circular 27/2020 (primary).

:func:`validate` checks a :class:`~gradesync.gradebook.model.Gradebook` and
appends findings to it (sheet findings to the book, row findings to each
row); the reader calls it once per gradebook. It works on parsed values, so a
gradebook built any other way (a template, the add-in) is checked the same.
Problems the reader already reported for a cell are not reported again.

Averages are computed in :class:`~decimal.Decimal` and rounded half-up to one
decimal place (:func:`semester_average`, :func:`year_average`); the sheet's
own average is never trusted, only compared.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from gradesync.gradebook.catalog import Catalog, Subject
from gradesync.gradebook.codes import finding, show
from gradesync.gradebook.model import Gradebook, GradeRow, Level, SubjectKind
from gradesync.gradebook.rows import FIELD_LABELS

__all__ = ["round_half_up", "semester_average", "sheet_mode", "validate", "year_average"]

TENTH = Decimal("0.1")
ZERO, TEN = Decimal(0), Decimal(10)
# 20–100 typed for 2.0–10.0 (a lost decimal mark); 11–19 is more likely a slip
# of the finger than 1.1–1.9, so it stays "out of range".
TENFOLD_MIN, TENFOLD_MAX = Decimal(20), Decimal(100)
_NONE: frozenset[str | None] = frozenset()
_VALID_SCORES = frozenset(Decimal(n) / 10 for n in range(101))  # 0, 0.1, … 10
#: a valid score → its tenths (8.3 → 83): averages of valid scores in exact integers
_TENTHS = {Decimal(n) / 10: n for n in range(101)}
_tenths = _TENTHS.__getitem__
_PARSE_CODES = frozenset(
    {
        "SCORE_NOT_A_NUMBER",
        "WRONG_ASSESSMENT_KIND",
        "TX_TOO_MANY_IN_CELL",
        "RESULT_INVALID",
        "RATING_INVALID",
        "SCORE_NOT_WHOLE",
    }
)


def round_half_up(value: Decimal) -> Decimal:
    """One decimal place, halves away from zero (8.25 → 8.3), as schools round."""
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def semester_average(tx: list[Decimal], gk: Decimal, ck: Decimal) -> Decimal:
    """ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (số ĐĐGtx + 5), rounded half-up."""
    return round_half_up((sum(tx, ZERO) + 2 * gk + 3 * ck) / (len(tx) + 5))


def year_average(hk1: Decimal, hk2: Decimal) -> Decimal:
    """ĐTBmcn = (ĐTBmhkI + 2·ĐTBmhkII) / 3, rounded half-up."""
    return round_half_up((hk1 + 2 * hk2) / 3)


def sheet_mode(book: Gradebook, subject: Subject | None) -> str:
    """``primary`` (T/H/C, Circular 27), ``comment`` (Đ/CĐ) or ``score`` (Circular 22)."""
    if book.level is Level.PRIMARY:
        return "primary"
    if subject is not None:
        return subject.kind.value
    if any(r.level is not None or r.score is not None for r in book.rows):
        return "primary"
    if any(r.result is not None for r in book.rows) and not any(r.gk or r.ck for r in book.rows):
        return SubjectKind.COMMENT.value
    return SubjectKind.SCORE.value


def _letters(cell: str | None) -> str:
    return cell.rstrip("0123456789") if cell else ""


class _Checker:
    def __init__(self, book: Gradebook, catalog: Catalog) -> None:
        self.book = book
        self.subject = catalog.get(book.subject_code)
        self.mode = sheet_mode(book, self.subject)
        cols = book.columns
        self.known_columns = bool(cols)
        self.has = lambda role: not cols or role in cols
        self.has_tx = not cols or "tx_all" in cols or "tx.0" in cols
        self.tx_letters = {_letters(c) for r, c in cols.items() if r.startswith("tx")}
        grade = book.grade
        self.required = (
            self.subject.tx_required(grade) if self.subject and grade and grade > 5 else None
        )

    # -- sheet --------------------------------------------------------------
    def columns(self) -> None:
        if not self.known_columns:
            return
        need: list[tuple[str, str, str]] = [("student_id", "mã học sinh", "Mã định danh Bộ GD&ĐT")]
        if self.mode == "score":
            need += [("gk", "ĐĐGgk", "ĐĐGgk"), ("ck", "ĐĐGck", "ĐĐGck")]
            if not self.has_tx:
                self.book.findings.append(self._column("ĐĐGtx", "TX1"))
        elif self.mode == "comment":
            need.append(("result", "Đánh giá (Đ/CĐ)", "Đánh giá"))
        else:
            need.append(("result", "Mức đạt được (T/H/C)", "Mức đạt được"))
            if self._has_test():
                need.append(("score", "điểm kiểm tra định kỳ", "Điểm KTĐK"))
        for role, field_name, header in need:
            if role not in self.book.columns:
                self.book.findings.append(self._column(field_name, header))

    def _column(self, field_name: str, header: str):
        return finding("COLUMN_MISSING", sheet=self.book.sheet, field=field_name, header=header)

    def _has_test(self) -> bool:
        book = self.book
        return bool(
            self.subject
            and book.grade
            and book.semester
            and self.subject.has_test(book.grade, book.semester)
        )

    # -- rows ---------------------------------------------------------------
    def row(self, row: GradeRow) -> None:
        # Cells the reader already reported as unreadable: not "missing" as well.
        flagged = (
            {f.cell for f in row.findings if f.code in _PARSE_CODES} if row.findings else _NONE
        )
        self._identity(row)
        if row.exempt:
            row.findings.append(self._f("EXEMPT_STUDENT", row, row.cells.get("exempt")))
        if self.mode == "score":
            self._scores(row, flagged)
        elif self.mode == "comment":
            self._results(row, flagged)
        else:
            self._primary(row, flagged)

    def _identity(self, row: GradeRow) -> None:
        if row.findings and any(f.code.startswith("ID_") for f in row.findings):
            return  # the reader saw what Excel did to the id and said so
        cell = row.cells.get("student_id")
        ident = row.student_id
        if ident is None:
            if self.known_columns and "student_id" not in self.book.columns:
                return  # COLUMN_MISSING already says it, once for the sheet
            note = f" (học sinh {row.full_name})" if row.full_name else ""
            row.findings.append(self._f("ID_MISSING", row, cell, name_note=note))
        elif not (ident.isascii() and ident.isdigit() and len(ident) in (10, 12)):
            row.findings.append(self._f("ID_MALFORMED", row, cell, value=ident))

    def _check_score(self, row: GradeRow, role: str, value: Decimal, cell: str | None) -> bool:
        if value in _VALID_SCORES:  # the common case: one set lookup
            return True
        label = FIELD_LABELS[role]
        if value < ZERO or value > TEN:
            if TENFOLD_MIN <= value <= TENFOLD_MAX and value == value.to_integral_value():
                meant = show(value / 10)
                row.findings.append(
                    self._f(
                        "SCORE_LOOKS_LIKE_TENFOLD",
                        row,
                        cell,
                        field=label,
                        value=show(value),
                        meant=meant,
                    )
                )
            else:
                row.findings.append(
                    self._f("SCORE_OUT_OF_RANGE", row, cell, field=label, value=show(value))
                )
            return False
        if value != value.quantize(TENTH):
            row.findings.append(
                self._f("SCORE_TOO_MANY_DECIMALS", row, cell, field=label, value=show(value))
            )
            return False
        return True

    def _scores(self, row: GradeRow, flagged: set[str | None]) -> None:
        if not flagged and self._valid_scores(row):
            return
        cells = row.cells
        ok = True
        for i, value in enumerate(row.tx):
            if value not in _VALID_SCORES:
                ok &= self._check_score(row, "tx", value, cells.get(f"tx.{i}") or cells.get("tx"))
        for role in ("gk", "ck"):
            value = row.gk if role == "gk" else row.ck
            cell = cells.get(role)
            if value is not None:
                if value not in _VALID_SCORES:
                    ok &= self._check_score(row, role, value, cell)
            elif cell not in flagged and self.has(role) and not row.exempt:
                row.findings.append(self._f("SCORE_MISSING", row, cell, field=FIELD_LABELS[role]))
                ok = False
            else:
                ok = False
        tx_bad = bool(flagged) and any(_letters(c) in self.tx_letters for c in flagged if c)
        self._tx_count(row, len(row.tx), tx_bad)
        if ok and row.tb is not None and row.tx and not tx_bad:
            ours = semester_average(row.tx, row.gk, row.ck)  # type: ignore[arg-type]
            if round_half_up(row.tb) != ours:
                row.findings.append(
                    self._f(
                        "AVERAGE_MISMATCH",
                        row,
                        cells.get("tb"),
                        sheet_value=show(row.tb),
                        ours=show(ours),
                    )
                )

    def _valid_scores(self, row: GradeRow) -> bool:
        """The common row, checked in integer tenths: ĐĐGgk, ĐĐGck and every ĐĐGtx present
        and valid, and nothing flagged by the reader. ``False`` (nothing reported) for any
        other row, which :meth:`_scores` then checks in full, reporting the same way.

        The average is exact: ``(2·num + den) // (2·den)`` is num/den rounded half-up
        to a whole number of tenths, which is what :func:`semester_average` computes.
        """
        if row.gk is None or row.ck is None:
            return False
        try:
            tx = list(map(_tenths, row.tx))
            num = sum(tx) + 2 * _tenths(row.gk) + 3 * _tenths(row.ck)
        except KeyError:  # out of range, too many decimals: the full check says which
            return False
        count = len(tx)
        if count != self.required:
            self._tx_count(row, count, False)
        tb = row.tb
        if tb is not None and tx:
            den = count + 5
            ours = (2 * num + den) // (2 * den)
            sheet = _TENTHS.get(tb)
            if sheet is None:
                sheet = int(round_half_up(tb) * 10)  # 8.25, 11, -1: rare; compared all the same
            if sheet != ours:
                row.findings.append(
                    self._f(
                        "AVERAGE_MISMATCH",
                        row,
                        row.cells.get("tb"),
                        sheet_value=show(tb),
                        ours=show(semester_average(row.tx, row.gk, row.ck)),
                    )
                )
        return True

    def _tx_count(self, row: GradeRow, count: int, unreadable: bool) -> None:
        if self.required is None or not self.has_tx or unreadable or count == self.required:
            return
        cells = row.cells
        fields = {"subject": self.subject.name if self.subject else "", "grade": self.book.grade,
                  "required": self.required, "count": count}  # fmt: skip
        if count < self.required and not row.exempt:
            cell = cells.get("tx.empty") or cells.get("tx")
            at = f" (ô {cell})" if cell else ""
            row.findings.append(self._f("TX_MISSING", row, cell, at=at, **fields))
        elif count > self.required:
            cell = cells.get(f"tx.{count - 1}") or cells.get("tx")
            at = f" (đến ô {cell})" if cell else ""
            row.findings.append(self._f("TX_EXTRA", row, cell, at=at, **fields))

    def _results(self, row: GradeRow, flagged: set[str | None]) -> None:
        cells = row.cells
        tx_bad = any(_letters(c) in self.tx_letters for c in flagged if c)
        if self.tx_letters:
            self._tx_count(row, len(row.tx_results), tx_bad)
        for role, value in (("gk", row.gk_result), ("ck", row.ck_result), ("result", row.result)):
            cell = cells.get(role)
            if role != "result" and (not self.known_columns or role not in self.book.columns):
                continue
            if value is None and cell not in flagged and self.has(role) and not row.exempt:
                row.findings.append(self._f("RESULT_MISSING", row, cell))

    def _primary(self, row: GradeRow, flagged: set[str | None]) -> None:
        cells = row.cells
        cell = cells.get("result")
        if row.level is None and cell not in flagged and self.has("result") and not row.exempt:
            row.findings.append(self._f("RATING_MISSING", row, cell))
        cell = cells.get("score")
        if row.score is not None:
            if not 0 <= row.score <= 10:
                row.findings.append(
                    self._f(
                        "SCORE_OUT_OF_RANGE", row, cell, field="kiểm tra định kỳ", value=row.score
                    )
                )
        elif self._has_test() and cell not in flagged and self.has("score") and not row.exempt:
            row.findings.append(self._f("SCORE_MISSING", row, cell, field="kiểm tra định kỳ"))

    def duplicates(self) -> None:
        seen: dict[str, list[GradeRow]] = defaultdict(list)
        for row in self.book.rows:
            if row.student_id is not None:
                seen[row.student_id].append(row)
        for ident, rows in seen.items():
            if len(rows) > 1:
                numbers = ", ".join(str(r.row) for r in rows)
                for row in rows:
                    row.findings.append(
                        self._f(
                            "DUPLICATE_STUDENT",
                            row,
                            row.cells.get("student_id"),
                            value=ident,
                            rows=numbers,
                        )
                    )

    def _f(self, code: str, row: GradeRow, cell: str | None, **fields: object):
        return finding(code, sheet=self.book.sheet, row=row.row, cell=cell, **fields)


def validate(gradebook: Gradebook, catalog: Catalog) -> None:
    """Check ``gradebook`` by Circular 22/27 and append the findings (call once)."""
    checker = _Checker(gradebook, catalog)
    checker.columns()
    for row in gradebook.rows:
        checker.row(row)
    checker.duplicates()
