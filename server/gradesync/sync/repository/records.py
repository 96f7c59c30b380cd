"""Audit trail, windows and idempotency keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gradesync.sync.models import IdempotencyKey, SyncWindow
from gradesync.sync.repository._tables import (
    audit,
    copy_rows,
    idem,
    insert_for,
    rows,
    windows,
)

# -- audit -----------------------------------------------------------------------


def add_audit(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """Append audit entries (oldest first: ids follow the order), one COPY on PostgreSQL."""
    if not entries:
        return
    if session.get_bind().dialect.name == "postgresql":
        copy_rows(session, audit, entries)
    else:
        session.execute(insert(audit), list(entries))


def audit_of_file(session: Session, file_id: str, limit: int, after: int) -> list[Any]:
    c, r = audit.c, rows.c
    query = (
        select(
            c.id,
            c.at,
            c.job_id,
            c.row_id,
            c.kind,
            c.from_state,
            c.to_state,
            c.cause,
            c.message,
            r.sheet,
            r.row,
            r.student_id,
        )
        .select_from(audit.outerjoin(rows, rows.c.id == c.row_id))
        .where(c.file_id == file_id, c.id > after)
        .order_by(c.id)
        .limit(limit)
    )
    return list(session.execute(query))


# -- windows ---------------------------------------------------------------------


def upsert_windows(session: Session, values: Sequence[dict[str, Any]]) -> None:
    if not values:
        return
    stmt = insert_for(session, windows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "opens_at": stmt.excluded.opens_at,
            "closes_at": stmt.excluded.closes_at,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    session.execute(stmt, list(values))


def windows_of(
    session: Session, school_year: str | None = None, semester: str | None = None
) -> list[SyncWindow]:
    query = select(SyncWindow).order_by(SyncWindow.opens_at)
    if school_year is not None:
        query = query.where(SyncWindow.school_year == school_year)
    if semester is not None:
        query = query.where(SyncWindow.semester == semester)
    return list(session.scalars(query))


# -- idempotency keys ------------------------------------------------------------


def get_idempotency(session: Session, school_id: str, key: str) -> IdempotencyKey | None:
    return session.get(IdempotencyKey, (school_id, key))


def insert_idempotency(session: Session, values: dict[str, Any]) -> bool:
    stmt = insert_for(session, idem).values(**values).on_conflict_do_nothing().returning(idem.c.key)
    return session.execute(stmt).first() is not None
