"""The gradebook model: what a teacher's workbook means, independent of its layout.

A *gradebook* is one class × subject × semester. One workbook may hold many
(a sheet per subject, or a class's whole set). Every row remembers where it
came from (sheet and 1-based row number, and the A1 cell of each value) so that
findings, status colours and the marked-up copy point at what the teacher sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Severity(StrEnum):
    """An error blocks the row from being sent to the Sở; a warning does not."""

    ERROR = "error"
    WARNING = "warning"


class Level(StrEnum):
    PRIMARY = "primary"  # grades 1–5, Circular 27/2020
    LOWER_SECONDARY = "lower_secondary"  # grades 6–9, Circular 22/2021
    UPPER_SECONDARY = "upper_secondary"  # grades 10–12, Circular 22/2021


class SubjectKind(StrEnum):
    """How a subject is assessed, as the Sở's roster names it."""

    SCORE = "score"  # secondary: ĐĐGtx, ĐĐGgk, ĐĐGck on the 10-point scale
    COMMENT = "comment"  # secondary: Đ / CĐ


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong (or suspicious) in a workbook, where the teacher can see it.

    ``code`` is stable and upper-case (listed in the README); ``message`` is
    Vietnamese and says what is wrong and how to fix it. ``row`` and ``cell``
    are ``None`` for findings about a whole sheet or file.
    """

    code: str
    severity: Severity
    message: str
    sheet: str | None = None
    row: int | None = None
    cell: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


@dataclass(slots=True)
class GradeRow:
    """One student's record in one gradebook.

    Values are parsed (``Decimal`` scores, upper-case ratings); a value the
    reader could not parse is left ``None`` and the reader's finding says why.
    ``cells`` maps a field name to the A1 cell it was read from: ``"student_id"``,
    ``"full_name"``, ``"tx.0"`` … ``"tx.4"`` (or ``"tx"`` when all ĐĐGtx share one
    cell), ``"gk"``, ``"ck"``, ``"tb"``, ``"result"``, ``"level"``, ``"score"``,
    ``"comment"``, ``"rating.<key>"``.
    """

    sheet: str
    row: int
    student_id: str | None = None
    full_name: str = ""
    # Secondary, score subjects (Circular 22)
    tx: list[Decimal] = field(default_factory=list)  # ĐĐGtx, in column order
    gk: Decimal | None = None  # ĐĐGgk
    ck: Decimal | None = None  # ĐĐGck
    tb: Decimal | None = None  # ĐTBmhk as written in the sheet (never trusted)
    # Secondary, comment subjects
    result: str | None = None  # "Đ" / "CĐ"
    # …and their per-assessment ratings, when the sheet has them (Đ / CĐ)
    tx_results: list[str] = field(default_factory=list)
    gk_result: str | None = None
    ck_result: str | None = None
    # Primary (Circular 27)
    level: str | None = None  # "T" / "H" / "C" for subjects and activities
    score: int | None = None  # periodic test score, a whole number
    ratings: dict[str, str] = field(default_factory=dict)  # qualities/competencies: "T"/"Đ"/"C"
    comment: str | None = None  # nhận xét
    exempt: bool = False  # miễn: assessed differently, never hard-rejected
    cells: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        """A row with no error finding may be sent; warnings do not block."""
        return not any(f.is_error for f in self.findings)


@dataclass(slots=True)
class Gradebook:
    """One class × subject × semester, read from one sheet (or one block of a sheet)."""

    sheet: str
    school_year: str | None  # "2025-2026"
    semester: str | None  # "HK1" / "HK2"; primary "GK1" / "CK1" / "GK2" / "CN"
    class_name: str | None  # free-form: "6A1", "12.6", "1A"
    subject_code: str | None  # the Sở's code, e.g. "TOAN"
    level: Level | None = None
    grade: int | None = None  # the leading number of the class name
    header_row: int | None = None  # 1-based row of the (last) header row
    # role -> A1 cell of its header ("student_id", "gk", "tx.0", …); empty when
    # the gradebook was not read from a sheet (then the rules skip column checks)
    columns: dict[str, str] = field(default_factory=dict)
    rows: list[GradeRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # about the sheet, not a row

    @property
    def has_errors(self) -> bool:
        """Does a sheet-level error (unknown class, missing column, …) block the whole book?"""
        return any(f.is_error for f in self.findings)

    @property
    def valid_rows(self) -> list[GradeRow]:
        return [r for r in self.rows if r.is_valid]

    @property
    def invalid_rows(self) -> list[GradeRow]:
        return [r for r in self.rows if not r.is_valid]


@dataclass(slots=True)
class WorkbookReport:
    """Everything read from one workbook: its gradebooks and every finding."""

    filename: str
    gradebooks: list[Gradebook] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # about the file (unreadable, …)

    def all_findings(self) -> list[Finding]:
        """File, sheet and row findings, in sheet and row order."""
        out = list(self.findings)
        for book in self.gradebooks:
            out.extend(book.findings)
            for row in book.rows:
                out.extend(row.findings)
        return out

    @property
    def has_errors(self) -> bool:
        return any(f.is_error for f in self.all_findings())


@dataclass(frozen=True, slots=True)
class Hints:
    """What the uploader says where the workbook does not (form fields, CLI flags)."""

    school_year: str | None = None
    semester: str | None = None
    class_name: str | None = None
    subject_code: str | None = None
