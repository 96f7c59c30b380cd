"""Reconciliation: after a job, read the gradebook back from the Sở and compare.

Every row we hold as ``SYNCED`` must be at the Sở with exactly the payload
we sent (numbers compared by value: the Sở may store ``9.0`` as ``9``). A row
that is missing or different keeps its state but gets a
``RECONCILE_MISMATCH`` error saying what differs, and its ledger entry is
dropped so the next push sends it again; the job records how many mismatched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gradesync.files.models import SyncState
from gradesync.so import GradebookKey, SchoolCredentials, SoClient
from gradesync.sync import repository
from gradesync.sync.results import row_audit

MISMATCH = "RECONCILE_MISMATCH"

_FIELD_NAMES = {
    "tx": "ĐĐGtx",
    "gk": "ĐĐGgk",
    "ck": "ĐĐGck",
    "tb": "ĐTBmhk",
    "result": "kết quả Đ/CĐ",
    "level": "mức đánh giá",
    "score": "điểm kiểm tra",
    "comment": "nhận xét",
}


@dataclass(frozen=True, slots=True)
class Mismatch:
    row_id: int
    error: dict[str, Any]


def normalise(value: Any) -> Any:
    """Numbers by value (``9.0`` == ``9``), lists and objects element-wise, nulls dropped."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if v is not None}
    return value


def differences(sent: dict[str, Any], held: dict[str, Any]) -> list[str]:
    """Fields whose values differ between what we sent and what the Sở holds."""
    a, b = normalise(sent), normalise(held)
    keys = sorted((set(a) | set(b)) - {"student_id"})
    return [k for k in keys if a.get(k) != b.get(k)]


def compare(
    rows: Sequence[Any],
    held: Sequence[dict[str, Any]],
    payloads: Mapping[int, Any] | None = None,
) -> list[Mismatch]:
    """Rows (``id``, ``sheet``, ``row``, ``student_id``, and ``payload`` unless
    ``payloads`` gives it by row id) against the read-back."""
    by_student = {str(r.get("student_id")): r for r in held}
    out = []
    for row in rows:
        place = f"Trang «{row.sheet}», dòng {row.row}"
        record = by_student.get(row.student_id)
        if record is None:
            message = (
                f"{place}: đối soát cho thấy Sở không có bản ghi của học sinh {row.student_id} "
                "dù đã báo nhận. Dòng này sẽ được gửi lại ở lần gửi tiếp theo."
            )
            out.append(Mismatch(row.id, {"code": MISMATCH, "message": message}))
            continue
        payload = payloads[row.id] if payloads is not None else row.payload
        fields = differences(payload or {}, record)
        if fields:
            names = ", ".join(_FIELD_NAMES.get(f, f) for f in fields)
            message = (
                f"{place}: dữ liệu trên hệ thống của Sở khác với sổ điểm ({names}) — có thể đã "
                "bị sửa trên hệ thống của Sở sau khi gửi. Kiểm tra lại rồi gửi lại nếu sổ điểm "
                "đúng."
            )
            out.append(Mismatch(row.id, {"code": MISMATCH, "message": message, "fields": fields}))
    return out


async def read_back_and_compare(
    client: SoClient, creds: SchoolCredentials, key: GradebookKey, rows: Sequence[Any]
) -> list[Mismatch]:
    """Read the gradebook from the Sở and compare; raises ``SoCallFailed`` if it cannot."""
    if not rows:
        return []
    return compare(rows, await client.read_back(creds, key))


def flag_mismatches(
    session: Session,
    job_id: str,
    rows: Sequence[Any],
    mismatches: Sequence[Mismatch],
    now: dt.datetime,
) -> None:
    """Record a comparison of ``rows`` (the job's SYNCED rows) inside the caller's transaction.

    Mismatched rows get the flag (and lose their ledger entry, so the next push
    sends them again); rows that now agree lose an earlier flag.
    """
    flagged = {m.row_id: m for m in mismatches}
    errors: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        if row.id in flagged:
            errors[row.id] = [flagged[row.id].error]
        elif any(e.get("code") == MISMATCH for e in row.sync_errors or []):
            errors[row.id] = []
    repository.add_row_errors(session, errors)
    repository.forget_synced(session, list(flagged))
    by_id = {r.id: r for r in rows}
    repository.add_audit(
        session,
        [
            row_audit(
                by_id[m.row_id],
                job_id,
                SyncState.SYNCED,
                SyncState.SYNCED,
                MISMATCH,
                m.error["message"],
                now,
            )
            for m in mismatches
        ],
    )
