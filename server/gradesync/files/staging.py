"""Staging: a parsed workbook into ``gradebooks`` and ``staged_rows``, in bulk.

The hot path of an upload. Rows are built as plain dicts and inserted with
one Core ``executemany`` (never ORM ``add_all`` per row), inside the caller's
transaction, so a file is either wholly staged or not visible at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy.orm import Session

from gradesync.files import repository
from gradesync.files.models import FileStatus, SyncState, Validation
from gradesync.gradebook.catalog import load_catalog
from gradesync.gradebook.model import Finding, Gradebook, WorkbookReport
from gradesync.gradebook.records import to_record


def finding_dict(finding: Finding) -> dict[str, Any]:
    """A finding as stored and returned (JSON)."""
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "message": finding.message,
        "sheet": finding.sheet,
        "row": finding.row,
        "cell": finding.cell,
    }


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def payload_hash(payload: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a Sở record (unchanged hash → no need to resend)."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def file_status(report: WorkbookReport) -> FileStatus:
    return FileStatus.PARSED_WITH_ERRORS if report.has_errors else FileStatus.PARSED_OK


def common_value(values: list[str | None]) -> str | None:
    """The one value all gradebooks share, else ``None`` (a file may span semesters)."""
    distinct = {v for v in values if v}
    return distinct.pop() if len(distinct) == 1 else None


def gradebook_values(file_id: str, position: int, book: Gradebook) -> dict[str, Any]:
    valid = sum(1 for r in book.rows if r.is_valid)
    return {
        "file_id": file_id,
        "position": position,
        "sheet": book.sheet,
        "class_name": book.class_name,
        "subject_code": book.subject_code,
        "school_year": book.school_year,
        "semester": book.semester,
        "level": book.level.value if book.level else None,
        "grade": book.grade,
        "header_row": book.header_row,
        "rows": len(book.rows),
        "valid": valid,
        "invalid": len(book.rows) - valid,
        "findings": [finding_dict(f) for f in book.findings],
    }


def row_values(
    *, file_id: str, school_id: str, gradebook_id: int, book: Gradebook, now: dt.datetime
) -> list[dict[str, Any]]:
    """The ``staged_rows`` dicts of one gradebook (every column given: one executemany shape)."""
    catalog = load_catalog()  # once per gradebook, not per row
    out = []
    for row in book.rows:
        valid = row.is_valid
        payload = to_record(row, book, catalog) if valid else None
        out.append(
            {
                "file_id": file_id,
                "gradebook_id": gradebook_id,
                "school_id": school_id,
                "school_year": book.school_year,
                "semester": book.semester,
                "class_name": book.class_name,
                "subject_code": book.subject_code,
                "student_id": row.student_id,
                "sheet": row.sheet,
                "row": row.row,
                "validation": Validation.VALID if valid else Validation.INVALID,
                "findings": [
                    {
                        "code": f.code,
                        "severity": f.severity.value,
                        "cell": f.cell,
                        "message": f.message,
                    }
                    for f in row.findings
                ],
                "payload": payload,
                "payload_hash": payload_hash(payload) if payload is not None else None,
                "sync_state": SyncState.NOT_SENT,
                "sync_errors": [],
                "attempts": 0,
                "next_attempt_at": None,
                "job_id": None,
                "synced_at": None,
                "superseded_at": None,
                "updated_at": now,
            }
        )
    return out


def stage_report(
    session: Session, *, file_id: str, school_id: str, report: WorkbookReport, now: dt.datetime
) -> None:
    """Insert a parsed report's gradebooks and rows; supersede older rows with the same key.

    Three statements whatever the number of gradebooks: one multi-row insert
    of the gradebooks (their ids returned), one executemany of every row, one
    supersede. The caller owns the transaction (and the ``files`` row, which
    must exist).
    """
    books = [gradebook_values(file_id, p, book) for p, book in enumerate(report.gradebooks)]
    ids = repository.insert_gradebooks(session, books)
    rows: list[dict[str, Any]] = []
    for book, values, gradebook_id in zip(report.gradebooks, books, ids, strict=True):
        values["id"] = gradebook_id
        rows += row_values(
            file_id=file_id, school_id=school_id, gradebook_id=gradebook_id, book=book, now=now
        )
    repository.insert_staged_rows(session, rows)
    repository.supersede_older_rows(
        session, file_id=file_id, school_id=school_id, books=books, now=now
    )
