"""Queries on ``notification_settings`` and ``notification_outbox``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gradesync.files.models import File
from gradesync.live.notify.models import (
    DeliveryState,
    NotificationDelivery,
    NotificationSettings,
)
from gradesync.schools.models import School
from gradesync.sync.models import ACTIVE_JOB_STATES, PushJob

outbox = NotificationDelivery.__table__  # type: ignore[attr-defined]
jobs = PushJob.__table__  # type: ignore[attr-defined]


def get_settings(session: Session, school_id: str) -> NotificationSettings | None:
    return session.get(NotificationSettings, school_id)


def school_exists(session: Session, school_id: str) -> bool:
    return session.get(School, school_id) is not None


def files_in_sync(session: Session, changed_since: dt.datetime) -> set[str]:
    """Files that may be finishing: those with an active push job, or a job changed
    since ``changed_since`` (a file's last job settles, then the file is finished)."""
    c = jobs.c
    query = select(c.file_id).where(
        c.state.in_(sorted(ACTIVE_JOB_STATES)) | (c.updated_at >= changed_since)
    )
    return set(session.scalars(query.distinct()))


def schools_of(session: Session, file_ids: Sequence[str]) -> dict[str, str]:
    """Each file's school."""
    if not file_ids:
        return {}
    query = select(File.id, File.school_id).where(File.id.in_(file_ids))  # type: ignore[call-overload,attr-defined]
    return {file_id: school_id for file_id, school_id in session.execute(query)}


def file_context(session: Session, file_id: str) -> tuple[str, str] | None:
    """``(filename, school name)`` of a file, for the message."""
    row = session.execute(
        select(File.filename, School.name)  # type: ignore[call-overload]
        .join(School, School.id == File.school_id)
        .where(File.id == file_id)
    ).first()
    return None if row is None else (row[0], row[1])


def enqueue(session: Session, deliveries: Sequence[dict[str, Any]]) -> int:
    """Insert deliveries, skipping any already queued (same dedup key and target)."""
    if not deliveries:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(outbox)
        .values(list(deliveries))
        .on_conflict_do_nothing(index_elements=["dedup_key", "channel", "target"])
    )
    return session.execute(stmt).rowcount or 0


def due(session: Session, now: dt.datetime, limit: int) -> list[Any]:
    c = outbox.c
    return list(
        session.execute(
            select(c.id, c.attempts)
            .where(c.state == DeliveryState.PENDING, c.next_attempt_at <= now)
            .order_by(c.next_attempt_at)
            .limit(limit)
        )
    )


def claim(
    session: Session, delivery_id: int, seen_attempts: int, now: dt.datetime, lease: dt.timedelta
) -> bool:
    """Take a due delivery for sending: its due time becomes the end of a lease.

    The condition on the attempt count we saw makes the claim single: another
    process that read the same row finds the count moved and gets nothing. If
    we die while sending, the lease runs out and someone sends it again.
    """
    c = outbox.c
    result = session.execute(
        update(outbox)
        .where(
            c.id == delivery_id,
            c.state == DeliveryState.PENDING,
            c.attempts == seen_attempts,
            c.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + lease, attempts=c.attempts + 1)
    )
    return result.rowcount == 1


def load(session: Session, delivery_id: int) -> NotificationDelivery | None:
    return session.get(NotificationDelivery, delivery_id)


def finish(
    session: Session,
    delivery_id: int,
    *,
    state: DeliveryState,
    now: dt.datetime,
    next_attempt_at: dt.datetime | None = None,
    error: str | None = None,
) -> None:
    values: dict[str, Any] = {"state": state, "last_error": error}
    if state is DeliveryState.SENT:
        values["sent_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    session.execute(update(outbox).where(outbox.c.id == delivery_id).values(**values))


def next_due(session: Session) -> dt.datetime | None:
    c = outbox.c
    return session.execute(
        select(c.next_attempt_at)
        .where(c.state == DeliveryState.PENDING)
        .order_by(c.next_attempt_at)
        .limit(1)
    ).scalar()
