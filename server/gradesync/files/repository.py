"""Every query on ``files``, ``gradebooks`` and ``staged_rows``.

Scoping lives here: the ``*_visible`` functions take the caller's principal
and simply find nothing for another school's file, so endpoints answer 404.
:func:`count_rows` is the one home of the per-file counts; the sync engine
reuses it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from gradesync.auth.service import Principal
from gradesync.files.models import (
    PENDING_STATES,
    File,
    FileStatus,
    GradebookRecord,
    StagedRow,
    SyncState,
    Validation,
)

staged_rows = StagedRow.__table__  # type: ignore[attr-defined]
gradebooks = GradebookRecord.__table__  # type: ignore[attr-defined]


@dataclass(slots=True)
class Counts:
    """A file's rows by validation and sync state (valid rows only are ever sent)."""

    rows: int = 0
    valid: int = 0
    invalid: int = 0
    pending: int = 0
    synced: int = 0
    failed: int = 0
    dead: int = 0

    def add(self, validation: str, sync_state: str, n: int) -> None:
        self.rows += n
        if validation == Validation.INVALID:
            self.invalid += n
            return
        self.valid += n
        if sync_state == SyncState.SYNCED:
            self.synced += n
        elif sync_state == SyncState.FAILED:
            self.failed += n
        elif sync_state == SyncState.DEAD:
            self.dead += n
        elif sync_state in PENDING_STATES:
            self.pending += n


# -- files ---------------------------------------------------------------------


def get_file_visible(session: Session, principal: Principal, file_id: str) -> File | None:
    """The file if it exists *and* the principal may see it; else ``None`` (→ 404)."""
    file = session.get(File, file_id)
    if file is None or not principal.can_access(file.school_id):
        return None
    return file


def list_files_visible(
    session: Session, principal: Principal, *, limit: int, offset: int
) -> list[File]:
    query = select(File).order_by(File.created_at.desc(), File.id)  # type: ignore[attr-defined]
    if not principal.is_admin:
        query = query.where(File.school_id == principal.school_id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def find_by_sha(session: Session, school_id: str, sha256: str) -> File | None:
    return session.scalars(
        select(File).where(File.school_id == school_id, File.sha256 == sha256)
    ).first()


def files_in_status(session: Session, status: FileStatus) -> list[str]:
    return list(session.scalars(select(File.id).where(File.status == status)))


def delete_file(session: Session, file_id: str) -> None:
    """Delete a file with its gradebooks and rows (explicitly: SQLite FKs may be off elsewhere)."""
    session.execute(delete(staged_rows).where(staged_rows.c.file_id == file_id))
    session.execute(delete(gradebooks).where(gradebooks.c.file_id == file_id))
    session.execute(delete(File.__table__).where(File.__table__.c.id == file_id))  # type: ignore[attr-defined]


def claim_parsing(session: Session, file_id: str, status: FileStatus, **values: Any) -> bool:
    """Move a ``PARSING`` file to ``status``; ``False`` if someone else already did.

    Run first in the staging transaction: on PostgreSQL the row lock makes a
    second parser wait and then find nothing to claim.
    """
    table = File.__table__  # type: ignore[attr-defined]
    result = session.execute(
        update(table)
        .where(table.c.id == file_id, table.c.status == FileStatus.PARSING)
        .values(status=status, **values)
    )
    return result.rowcount == 1


# -- gradebooks and rows ---------------------------------------------------------


def gradebooks_of(session: Session, file_ids: Sequence[str]) -> dict[str, list[GradebookRecord]]:
    out: dict[str, list[GradebookRecord]] = {fid: [] for fid in file_ids}
    if not file_ids:
        return out
    query = (
        select(GradebookRecord)
        .where(GradebookRecord.file_id.in_(file_ids))  # type: ignore[attr-defined]
        .order_by(GradebookRecord.file_id, GradebookRecord.position)
    )
    for book in session.scalars(query):
        out[book.file_id].append(book)
    return out


def insert_gradebooks(session: Session, values: list[dict[str, Any]]) -> list[int]:
    """Insert a file's gradebooks in one statement; their ids, in the order given.

    One multi-row ``INSERT … RETURNING`` (SQLite ≥ 3.35 and PostgreSQL): the
    ids come back with each row's ``position``, unique within a file, so no
    order of the returned rows is assumed.
    """
    if not values:
        return []
    returned = session.execute(
        insert(gradebooks).values(values).returning(gradebooks.c.position, gradebooks.c.id)
    )
    ids = {position: int(gid) for position, gid in returned}
    return [ids[v["position"]] for v in values]


def insert_staged_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk insert (Core executemany), inside the caller's transaction."""
    if rows:
        session.execute(insert(staged_rows), rows)


def supersede_older_rows(
    session: Session,
    *,
    file_id: str,
    school_id: str,
    books: list[dict[str, Any]],
    now: dt.datetime,
) -> None:
    """Mark rows of *other* files superseded where this file has a row with the same natural key.

    ``books`` are the file's gradebooks as inserted (``id``, ``school_year``,
    ``semester``, ``class_name``, ``subject_code``); one without a class or
    a subject supersedes nothing. Gradebooks with a year and a semester — every
    one, normally — are handled by one ``UPDATE … FROM`` joining the file's
    new rows to older rows on the natural-key index; one with a ``NULL`` year
    or semester (where ``IS NULL``, not ``=``, must match) gets its own
    statement.
    """
    keyed = [b for b in books if b.get("class_name") and b.get("subject_code")]
    joined = [b["id"] for b in keyed if b["school_year"] is not None and b["semester"] is not None]
    c = staged_rows.c
    if joined:
        new = staged_rows.alias("new")
        n = new.c
        session.execute(
            update(staged_rows)
            .where(
                n.gradebook_id.in_(joined),
                # the school on both sides: each side can be probed on the whole
                # natural-key index, whichever the planner drives from (without
                # it, un-analysed PostgreSQL scanned the index once per row)
                n.school_id == school_id,
                c.school_id == school_id,
                c.school_year == n.school_year,
                c.semester == n.semester,
                c.class_name == n.class_name,
                c.subject_code == n.subject_code,
                c.student_id == n.student_id,
                c.file_id != file_id,
                c.superseded_at.is_(None),
            )
            .values(superseded_at=now, updated_at=now)
        )
    for book in keyed:
        if book["school_year"] is not None and book["semester"] is not None:
            continue
        new_ids = select(c.student_id).where(
            c.gradebook_id == book["id"], c.student_id.is_not(None)
        )
        session.execute(
            update(staged_rows)
            .where(
                c.school_id == school_id,
                c.school_year == book["school_year"],  # None compiles to IS NULL
                c.semester == book["semester"],
                c.class_name == book["class_name"],
                c.subject_code == book["subject_code"],
                c.student_id.in_(new_ids),
                c.file_id != file_id,
                c.superseded_at.is_(None),
            )
            .values(superseded_at=now, updated_at=now)
        )


def count_rows(session: Session, file_ids: Iterable[str]) -> dict[str, Counts]:
    """Counts per file from one grouped query over ``(file_id, validation, sync_state)``."""
    ids = list(file_ids)
    out = {fid: Counts() for fid in ids}
    if not ids:
        return out
    query = (
        select(
            staged_rows.c.file_id,
            staged_rows.c.validation,
            staged_rows.c.sync_state,
            func.count(),
        )
        .where(staged_rows.c.file_id.in_(ids))
        .group_by(staged_rows.c.file_id, staged_rows.c.validation, staged_rows.c.sync_state)
    )
    for file_id, validation, sync_state, n in session.execute(query):
        out[file_id].add(validation, sync_state, n)
    return out


def rows_of(
    session: Session,
    file_id: str,
    *,
    sync: SyncState | None = None,
    validation: Validation | None = None,
) -> list[Any]:
    """A file's staged rows in sheet order (Core rows: attribute access, no ORM overhead)."""
    c = staged_rows.c
    query = (
        select(
            c.sheet,
            c.row,
            c.student_id,
            c.validation,
            c.sync_state,
            c.findings,
            c.sync_errors,
            c.gradebook_id,
        )
        .where(c.file_id == file_id)
        .order_by(c.gradebook_id, c.row)
    )
    if sync is not None:
        query = query.where(c.sync_state == sync)
    if validation is not None:
        query = query.where(c.validation == validation)
    return list(session.execute(query))
