"""A validated row → the record the Sở's API takes (contracts/so-api.md, "Writing grades").

Score subjects: ``{"student_id", "tx": [...], "gk", "ck", "tb"}`` where ``tb``
is *our* recomputed ĐTBmhk (never the sheet's); comment subjects:
``{"student_id", "result"}``; primary: ``{"student_id", "level", "score"?}``.
``"comment"`` rides along when the teacher wrote one. Numbers are JSON-safe:
an ``int`` when whole, else a ``float`` with one decimal. Blank assessments
are left out, not sent as ``null`` or ``0``.
"""

from __future__ import annotations

from decimal import Decimal

from gradesync.gradebook.catalog import Catalog, load_catalog
from gradesync.gradebook.model import Gradebook, GradeRow
from gradesync.gradebook.rules import semester_average, sheet_mode

__all__ = ["json_number", "to_record"]


def json_number(value: Decimal) -> int | float:
    """``Decimal("8")`` → ``8``, ``Decimal("7.50")`` → ``7.5``."""
    if value == value.to_integral_value():
        return int(value)
    return float(value.quantize(Decimal("0.1")))


def to_record(row: GradeRow, gradebook: Gradebook, catalog: Catalog | None = None) -> dict:
    catalog = catalog or load_catalog()
    mode = sheet_mode(gradebook, catalog.get(gradebook.subject_code))
    record: dict[str, object] = {"student_id": row.student_id}
    if mode == "primary":
        if row.level is not None:
            record["level"] = row.level
        if row.score is not None:
            record["score"] = row.score
    elif mode == "comment":
        if row.result is not None:
            record["result"] = row.result
    else:
        record["tx"] = [json_number(v) for v in row.tx]
        if row.gk is not None:
            record["gk"] = json_number(row.gk)
        if row.ck is not None:
            record["ck"] = json_number(row.ck)
        if row.tx and row.gk is not None and row.ck is not None:
            record["tb"] = json_number(semester_average(row.tx, row.gk, row.ck))
    if row.comment:
        record["comment"] = row.comment
    return record
