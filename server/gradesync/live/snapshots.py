"""What a live stream sends on connect (and again after lost events): reads of the truth.

The file snapshot *is* ``GET /grades/status/{file_id}`` (the files service's
own query), so the two never disagree. School and province snapshots are
counts; they exclude rows superseded by a newer upload of the same gradebook,
which no longer stand for anything the school still has to send.

Snapshots are read once and shared by every stream that asks at about the
same time (:mod:`gradesync.live.shared_reads`), so they are read without a
caller's principal and come as :class:`Snapshot` — the message already
encoded, and the school it belongs to, which each stream checks against its
own principal.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gradesync.auth.models import Role
from gradesync.auth.service import Principal
from gradesync.files.models import File, StagedRow
from gradesync.files.repository import Counts, count_rows
from gradesync.files.service import FileService
from gradesync.schools.models import School
from gradesync.sync.models import ACTIVE_JOB_STATES, PushJob

staged_rows = StagedRow.__table__  # type: ignore[attr-defined]
files = File.__table__  # type: ignore[attr-defined]
push_jobs = PushJob.__table__  # type: ignore[attr-defined]

#: Most files listed in a school snapshot (newest first).
SCHOOL_SNAPSHOT_FILES = 500
#: Most active jobs listed in a school snapshot (oldest first).
SCHOOL_SNAPSHOT_JOBS = 2000


#: Reads shared by many streams are done as this principal; each stream checks
#: its own principal against :attr:`Snapshot.school_id` before sending.
_READER = Principal(token_id=0, role=Role.ADMIN, school_id=None, name="live streams")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A snapshot message, encoded once for every stream that sends it."""

    #: whose data it is (``None``: the province's)
    school_id: str | None
    text: str


def encode(message: dict[str, Any], school_id: str | None) -> Snapshot:
    """A message as starlette's ``send_json`` would write it."""
    return Snapshot(school_id, json.dumps(message, ensure_ascii=False, separators=(",", ":")))


def file_snapshot(service: FileService, session: Session, file_id: str) -> Snapshot | None:
    """``{"type": "snapshot", …per-row status…}``, or ``None`` when there is no such file."""
    file = session.get(File, file_id)
    if file is None:
        return None
    status = service.row_status(session, _READER, file_id, sync=None, validation=None)
    # pydantic's own JSON (fast), with the message type put first.
    return Snapshot(file.school_id, '{"type":"snapshot",' + status.model_dump_json()[1:])


def row_errors(
    service: FileService, session: Session, file_id: str
) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """Every row's errors as in the status endpoint, by ``(sheet, row)``.

    For events that crossed processes without their errors (too large for one
    NOTIFY): rare, so reading the file's status whole is fine.
    """
    status = service.row_status(session, _READER, file_id, sync=None, validation=None)
    return {(r.sheet, r.row): [e.model_dump(mode="json") for e in r.errors] for r in status.rows}


def school_snapshot(session: Session, school_id: str) -> dict[str, Any]:
    """The school's files (newest first) with their counts, the school's totals, and its
    active push jobs (oldest first; each as a ``job`` message's fields, without ``at``)."""
    query = (
        select(files.c.id, files.c.filename, files.c.status, files.c.created_at)
        .where(files.c.school_id == school_id)
        .order_by(files.c.created_at.desc(), files.c.id)
        .limit(SCHOOL_SNAPSHOT_FILES)
    )
    listed = list(session.execute(query))
    counts = count_rows(session, [f.id for f in listed])
    return {
        "type": "snapshot",
        "school_id": school_id,
        "counts": school_counts(session, [school_id])[school_id],
        "files": [
            {
                "file_id": f.id,
                "filename": f.filename,
                "status": f.status,
                "created_at": f.created_at.isoformat(),
                "counts": _counts_dict(counts[f.id]),
            }
            for f in listed
        ],
        "jobs": active_jobs(session, school_id),
    }


def active_jobs(session: Session, school_id: str) -> list[dict[str, Any]]:
    """The school's jobs not settled yet (scheduled, queued, running, blocked)."""
    c = push_jobs.c
    query = (
        select(c.id, c.file_id, c.state, c.class_name, c.subject_code, c.message)
        .where(c.school_id == school_id, c.state.in_(sorted(ACTIVE_JOB_STATES)))
        .order_by(c.created_at, c.id)
        .limit(SCHOOL_SNAPSHOT_JOBS)
    )
    return [
        {
            "job_id": j.id,
            "file_id": j.file_id,
            "state": j.state,
            "class_name": j.class_name,
            "subject_code": j.subject_code,
            "detail": j.message,
        }
        for j in session.execute(query)
    ]


def province_snapshot(session: Session) -> dict[str, Any]:
    """Every school with its totals (schools with no file yet count zero)."""
    schools = list(session.execute(select(School.id, School.name).order_by(School.id)))  # type: ignore[call-overload]
    totals = school_counts(session, [s.id for s in schools])
    return {
        "type": "snapshot",
        "schools": [{"school_id": s.id, "name": s.name, "counts": totals[s.id]} for s in schools],
    }


def school_counts(session: Session, school_ids: list[str]) -> dict[str, dict[str, int]]:
    """Rows by state per school, over rows not superseded (one grouped query)."""
    out = {sid: Counts() for sid in school_ids}
    if school_ids:
        c = staged_rows.c
        query = (
            select(c.school_id, c.validation, c.sync_state, func.count())
            .where(c.school_id.in_(school_ids), c.superseded_at.is_(None))
            .group_by(c.school_id, c.validation, c.sync_state)
        )
        for school_id, validation, sync_state, n in session.execute(query):
            out[school_id].add(validation, sync_state, n)
    return {sid: _counts_dict(c) for sid, c in out.items()}


def _counts_dict(counts: Counts) -> dict[str, int]:
    return dataclasses.asdict(counts)
