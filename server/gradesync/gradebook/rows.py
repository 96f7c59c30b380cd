"""The data rows of one mapped table → :class:`~gradesync.gradebook.model.GradeRow`.

This is the hot loop of reading (a school workbook has tens of thousands of
rows), so a :class:`RowReader` is built once per sheet with plain column
indexes and the per-cell work is a memoised parse (:mod:`.values`). Only
problems that need the raw cell are reported here (text in a score cell, an
id Excel turned into a number); everything about parsed values is the rules'.

Reading stops at a totals or signature block (a row without an id whose
text says "Tổng", "Người lập", "…, ngày … tháng …", …); blank rows inside the
table are skipped.
"""

from __future__ import annotations

import re
from operator import itemgetter

from gradesync.gradebook.codes import finding, show
from gradesync.gradebook.headers import Column, column_letter
from gradesync.gradebook.model import Finding, GradeRow
from gradesync.gradebook.text import fold, key
from gradesync.gradebook.values import (
    FLOAT_SCORES,
    LEVELS,
    QUALITY_RATINGS,
    RESULTS,
    ScoreProblem,
    is_blank,
    parse_id,
    parse_rating,
    parse_score,
    parse_scores,
    truthy_mark,
)

__all__ = ["FIELD_LABELS", "RowReader"]

FIELD_LABELS = {"tx": "ĐĐGtx", "gk": "ĐĐGgk", "ck": "ĐĐGck", "tb": "ĐTBmhk", "result": "Đánh giá"}

_FOOTER = re.compile(
    r"^(?:tong|cong|nguoi lap|nguoi ghi|giao vien|gvbm|gvcn|hieu truong|xac nhan|ky ten|"
    r"thong ke|so luong|so hs|si so|ti le|ty le|trung binh|luu y|danh sach co)"
    r"|ngay\s*\S*\s*thang"
)
_NOTE_EXEMPT = re.compile(r"mien|khuyet tat")
_TX_KEYS = [f"tx.{i}" for i in range(64)]  # no sheet has more ĐĐGtx columns than that
_float_score = FLOAT_SCORES.__getitem__  # the dict is cleared in place, never replaced


def _text(value: object) -> str:
    """A non-text name cell (a number, a date) as text; ``""`` when blank."""
    return "" if is_blank(value) else " ".join(str(value).split())


def _is_footer(row: list[object]) -> bool:
    for value in row:
        if isinstance(value, str) and value.strip() and _FOOTER.search(fold(value.strip())):
            return True
    return False


class RowReader:
    """Reads the rows of one sheet whose columns are already mapped."""

    def __init__(
        self,
        sheet: str,
        mode: str,
        columns: list[Column],
        tx: list[Column],
        subject_name: str | None,
    ) -> None:
        self.sheet = sheet
        self.mode = mode  # "score" | "comment" | "primary"
        self.subject_name = subject_name or "này"
        by_role = {c.role: c.index for c in columns}
        self.id_col = by_role.get("student_id")
        self.name_col = by_role.get("full_name")
        self.family_col = by_role.get("family_name")
        self.given_col = by_role.get("given_name")
        self.comment_col = by_role.get("comment")
        self.exempt_col = by_role.get("exempt")
        self.note_col = by_role.get("note")
        self.tx_all_col = by_role.get("tx_all")
        self.singles = [
            (r, by_role[r]) for r in ("gk", "ck", "tb", "result", "score") if r in by_role
        ]
        self.ratings = [(c.role.removeprefix("rating."), c.index, c.header) for c in columns
                        if c.role.startswith("rating.")]  # fmt: skip
        self.tx_cols = [c.index for c in tx]
        mapped = [c.index for c in columns] + self.tx_cols
        self.width = max(mapped, default=-1) + 1
        self.mapped = mapped
        self.letters = [column_letter(i) for i in range(self.width)]
        # The common score row, read in one go (see _numbers): every ĐĐGtx,
        # ĐĐGgk and ĐĐGck a number. Only where the generic path would read
        # the same cells the same way: score mode, one ĐĐGtx a column.
        numbers = [("tx", c) for c in self.tx_cols]
        numbers += [(r, c) for r, c in self.singles if r in ("gk", "ck")]
        self.other_singles = [(r, c) for r, c in self.singles if r not in ("gk", "ck")]
        self.numbers = (
            itemgetter(*(c for _, c in numbers))
            if mode == "score"
            and self.tx_all_col is None
            and len(numbers) >= 2
            # gk/ck come first among the singles, so the cells keep their order
            and self.singles[: len(numbers) - len(self.tx_cols)] == numbers[len(self.tx_cols) :]
            else None
        )
        self.number_types = (float,) * len(numbers)
        self.number_keys = [_TX_KEYS[i] for i in range(len(self.tx_cols))]
        self.number_keys += [r for r, _ in numbers[len(self.tx_cols) :]]
        self.number_letters = [self.letters[c] for _, c in numbers]
        self.number_attrs = [(r, i) for i, (r, _) in enumerate(numbers) if r != "tx"]

    # -- the loop ---------------------------------------------------------
    def read(self, rows: list[list[object]], start: int) -> list[GradeRow]:
        out: list[GradeRow] = []
        width, mapped = self.width, self.mapped
        id_col, name_col = self.id_col, self.name_col
        for r in range(start, len(rows)):
            row = rows[r]
            if len(row) < width:
                row = [*row, *([None] * (width - len(row)))]
            ident = row[id_col] if id_col is not None else None
            if ident is None or ident == "" or (ident.__class__ is str and ident.isspace()):
                name = row[name_col] if name_col is not None else None
                if _is_footer(row):
                    break
                if is_blank(name) and all(is_blank(row[i]) for i in mapped):
                    continue
            out.append(self._row(row, r + 1))
        return out

    def _row(self, row: list[object], number: int) -> GradeRow:
        letters = self.letters
        suffix = str(number)
        grade_row = GradeRow(self.sheet, number)
        cells = grade_row.cells
        problems = grade_row.findings

        id_col = self.id_col
        if id_col is not None:
            cell = letters[id_col] + suffix
            cells["student_id"] = cell
            raw = row[id_col]
            if raw.__class__ is str and raw.isdigit():  # the common case; parse_id keeps it as is
                grade_row.student_id = raw
            else:
                ident, problem = parse_id(raw)
                grade_row.student_id = ident
                if problem:
                    digits = "10" if not isinstance(raw, float | int) or raw < 1e10 else "12"
                    problems.append(
                        self._finding(problem, number, cell, value=show(raw), expected=digits)
                    )
        if self.name_col is not None:
            cells["full_name"] = letters[self.name_col] + suffix
            raw = row[self.name_col]
            grade_row.full_name = (
                " ".join(raw.split()) if raw.__class__ is str else _text(raw)  # "" when blank
            )
        else:
            grade_row.full_name = self._split_name(row, cells, letters, suffix)

        singles = self.singles
        if self.numbers is not None and self._numbers(row, grade_row, suffix):
            singles = self.other_singles
        else:
            self._tx(row, grade_row, suffix)
        for role, col in singles:
            cell = letters[col] + suffix
            cells[role] = cell
            raw = row[col]
            if raw is None or raw == "" or (raw.__class__ is str and raw.isspace()):
                continue
            if self.mode == "score" and role != "score":
                value, problem = parse_score(raw)
                if value is not None:
                    setattr(grade_row, role, value)
                    continue
            self._assessment(role, raw, cell, number, grade_row)
        for rating_key, col, header in self.ratings:
            raw = row[col]
            cell = letters[col] + suffix
            cells[f"rating.{rating_key}"] = cell
            value, ok = parse_rating(raw, QUALITY_RATINGS)
            if value:
                grade_row.ratings[rating_key] = value
            elif not ok:
                hint = " H chỉ dùng cho môn học." if key(str(raw)) == "h" else ""
                problems.append(
                    self._finding(
                        "RATING_INVALID",
                        number,
                        cell,
                        field=header,
                        allowed="T, Đ hoặc C",
                        value=show(raw),
                        hint=hint,
                    )
                )
        if self.comment_col is not None:
            raw = row[self.comment_col]
            cells["comment"] = letters[self.comment_col] + suffix
            if not is_blank(raw):
                grade_row.comment = str(raw).strip()
        if self.exempt_col is not None and truthy_mark(row[self.exempt_col]):
            grade_row.exempt = True
            cells["exempt"] = letters[self.exempt_col] + suffix
        if self.note_col is not None:
            note = row[self.note_col]
            if isinstance(note, str) and _NOTE_EXEMPT.search(fold(note)):
                grade_row.exempt = True
                cells["exempt"] = letters[self.note_col] + suffix
        return grade_row

    # -- pieces -----------------------------------------------------------
    def _numbers(self, row: list[object], grade_row: GradeRow, suffix: str) -> bool:
        """Read every ĐĐGtx, ĐĐGgk and ĐĐGck at once when all are known float scores.

        ``False`` (nothing touched) when any is blank, text, a bool, or a number
        :func:`parse_score` has not read yet or found a problem with: then the
        generic path reads the row, cell by cell, and remembers new numbers.
        """
        values = self.numbers(row)  # type: ignore[misc]
        if tuple(map(type, values)) != self.number_types:
            return False
        try:
            # [] not .get: a miss raises instead of giving None, since comparing
            # Decimals with None (``None in``) goes through the numbers ABCs
            scores = tuple(map(_float_score, values))
        except KeyError:
            return False
        grade_row.tx = list(scores[: len(self.tx_cols)])
        for attr, i in self.number_attrs:
            setattr(grade_row, attr, scores[i])
        grade_row.cells.update(
            zip(self.number_keys, [letter + suffix for letter in self.number_letters], strict=True)
        )
        return True

    def _tx(self, row: list[object], grade_row: GradeRow, suffix: str) -> None:
        """The ĐĐGtx cells, one at a time (and the all-in-one ĐĐGtx cell)."""
        letters, cells, problems = self.letters, grade_row.cells, grade_row.findings
        number = grade_row.row
        mode = self.mode
        score_mode = mode == "score"
        tx = grade_row.tx
        for col in self.tx_cols:
            raw = row[col]
            if raw is None or raw == "" or (raw.__class__ is str and raw.isspace()):
                if "tx.empty" not in cells:
                    cells["tx.empty"] = letters[col] + suffix
                continue
            cell = letters[col] + suffix
            if score_mode:
                # A number or numeric text (memoised); anything else goes the long way.
                value, problem = parse_score(raw)
                if value is not None:
                    cells[_TX_KEYS[len(tx)]] = cell
                    tx.append(value)
                    continue
                if raw.__class__ is str and len(raw.split()) > 1:
                    problems.append(self._finding("TX_TOO_MANY_IN_CELL", number, cell, value=raw))
                    continue
            self._assessment("tx", raw, cell, number, grade_row)
        if self.tx_all_col is not None:
            cell = letters[self.tx_all_col] + suffix
            cells["tx"] = cell
            if mode == "comment":
                for token in str(row[self.tx_all_col] or "").split():
                    self._assessment("tx", token, cell, number, grade_row)
            else:
                for value, problem, token in parse_scores(row[self.tx_all_col]):
                    if problem:
                        problems.append(self._score_problem(problem, "tx", token, cell, number))
                    else:
                        grade_row.tx.append(value)  # type: ignore[arg-type]

    def _split_name(
        self, row: list[object], cells: dict[str, str], letters: list[str], n: str
    ) -> str:
        """The name from a family-name and a given-name column."""
        parts = []
        for col in (self.family_col, self.given_col):
            if col is not None and not is_blank(row[col]):
                parts.append(" ".join(str(row[col]).split()))
        if self.family_col is not None:
            cells["full_name"] = letters[self.family_col] + n
        return " ".join(parts)

    def _assessment(self, role: str, raw: object, cell: str, number: int, row: GradeRow) -> None:
        """One non-blank assessment cell, read the way this sheet's mode says."""
        if self.mode == "comment":
            value, ok = parse_rating(raw, RESULTS)
            if not ok:
                row.findings.append(self._rating_problem(role, raw, cell, number))
            elif role == "tx":
                row.cells[_TX_KEYS[len(row.tx_results)]] = cell
                row.tx_results.append(value)  # type: ignore[arg-type]
            elif role == "gk":
                row.gk_result = value
            elif role == "ck":
                row.ck_result = value
            else:
                row.result = value
            return
        if self.mode == "primary" and role == "result":
            value, ok = parse_rating(raw, LEVELS)
            if ok:
                row.level = value
            else:
                hint = " Đ chỉ dùng cho phẩm chất, năng lực." if key(str(raw)) == "d" else ""
                row.findings.append(
                    self._finding(
                        "RATING_INVALID",
                        number,
                        cell,
                        field="Mức đạt được",
                        allowed="T, H hoặc C",
                        value=show(raw),
                        hint=hint,
                    )
                )
            return
        value, problem = parse_score(raw)
        if problem:
            row.findings.append(self._score_problem(problem, role, raw, cell, number))
        elif role == "tx":
            row.cells[_TX_KEYS[len(row.tx)]] = cell
            row.tx.append(value)  # type: ignore[arg-type]
        elif role == "score":
            if value != value.to_integral_value():  # type: ignore[union-attr]
                row.findings.append(
                    self._finding("SCORE_NOT_WHOLE", number, cell, value=show(value))
                )
            else:
                row.score = int(value)  # type: ignore[arg-type]
        else:
            setattr(row, role, value)

    def _score_problem(self, problem: str, role: str, raw: object, cell: str, n: int) -> Finding:
        label = FIELD_LABELS.get(role, "kiểm tra định kỳ")
        if problem == ScoreProblem.RATING:
            reason = f"môn {self.subject_name} chấm điểm số: ô {label} phải là số từ 0 đến 10"
            return self._finding("WRONG_ASSESSMENT_KIND", n, cell, value=show(raw), reason=reason)
        return self._finding("SCORE_NOT_A_NUMBER", n, cell, field=label, value=show(raw))

    def _rating_problem(self, role: str, raw: object, cell: str, n: int) -> Finding:
        label = FIELD_LABELS.get(role, role)
        if parse_score(raw)[0] is not None:
            reason = (
                f"môn {self.subject_name} đánh giá bằng nhận xét: ô {label} chỉ ghi Đ (Đạt) "
                "hoặc CĐ (Chưa đạt), không ghi điểm số"
            )
            return self._finding("WRONG_ASSESSMENT_KIND", n, cell, value=show(raw), reason=reason)
        return self._finding("RESULT_INVALID", n, cell, field=label, value=show(raw))

    def _finding(self, code: str, row: int, cell: str, **fields: object) -> Finding:
        return finding(code, sheet=self.sheet, row=row, cell=cell, **fields)
