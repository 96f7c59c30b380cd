"""Row queries: sendable and pending rows, state changes, and the ledger of what the Sở holds."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import String, and_, bindparam, cast, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from gradesync.core.db import JSONType, UTCDateTime
from gradesync.files.models import SyncState, Validation
from gradesync.sync.repository._tables import (
    ROW_PENDING,
    ROW_SENDABLE,
    insert_for,
    ledger,
    rows,
)

# -- rows ------------------------------------------------------------------------


def _in_ledger() -> Any:
    """The row's payload is what the ledger says the Sở holds."""
    c, lg = rows.c, ledger.c
    return (
        select(lg.student_id)
        .where(
            lg.school_id == c.school_id,
            lg.school_year == c.school_year,
            lg.semester == c.semester,
            lg.class_name == c.class_name,
            lg.subject_code == c.subject_code,
            lg.student_id == c.student_id,
            lg.payload_hash == c.payload_hash,
        )
        .exists()
    )


def sendable_rows(session: Session, gradebook_id: int) -> list[int]:
    """Valid, current rows of a gradebook that a press (re)sends.

    Never-sent and DEAD rows; SYNCED rows only when the ledger no longer
    vouches for them (reconciliation found the Sở holding otherwise). Never
    FAILED rows: the Sở rejected exactly this payload (see ``ROW_SENDABLE``).
    """
    c = rows.c
    query = select(c.id).where(
        c.gradebook_id == gradebook_id,
        c.validation == Validation.VALID,
        c.payload.is_not(None),
        c.superseded_at.is_(None),
        or_(
            c.sync_state.in_(ROW_SENDABLE),
            and_(c.sync_state == SyncState.SYNCED, ~_in_ledger()),
        ),
    )
    return list(session.scalars(query))


def rejected_count(session: Session, gradebook_id: int) -> int:
    """How many current rows of a gradebook the Sở rejected (FAILED): a press leaves them."""
    c = rows.c
    query = select(func.count()).where(
        c.gradebook_id == gradebook_id,
        c.sync_state == SyncState.FAILED,
        c.superseded_at.is_(None),
    )
    return int(session.execute(query).scalar_one())


def row_brief(session: Session, row_ids: Sequence[int]) -> list[Any]:
    """What events need of rows: id, file, school, sheet, row, student, state, errors."""
    if not row_ids:
        return []
    c = rows.c
    query = select(
        c.id, c.file_id, c.school_id, c.sheet, c.row, c.student_id, c.sync_state, c.sync_errors
    ).where(c.id.in_(row_ids))
    return list(session.execute(query))


def _sendable_columns(payload: bool = True) -> list[Any]:
    """What sending and settling a row needs (one list for both queries below)."""
    c = rows.c
    return [c.id, c.file_id, c.sheet, c.row, c.student_id, c.sync_state, c.sync_errors,
            *([c.payload] if payload else []), c.payload_hash, c.attempts, c.next_attempt_at,
            c.superseded_at]  # fmt: skip


def job_rows(
    session: Session, job_id: str, states: Iterable[str] | None, *, payload: bool = True
) -> list[Any]:
    """A job's rows in ``states`` (None: all), with everything needed to send and settle
    them (``payload=False``: all but the payload, the bulky part)."""
    c = rows.c
    query = select(*_sendable_columns(payload)).where(c.job_id == job_id)
    query = query.order_by(c.sheet, c.row)
    if states is not None:
        query = query.where(c.sync_state.in_(list(states)))
    return list(session.execute(query))


def pending_rows_of(session: Session, job_ids: Sequence[str]) -> list[Any]:
    """The pending rows of several jobs (``job_rows`` columns plus ``job_id``, ``school_id``)."""
    if not job_ids:
        return []
    c = rows.c
    query = (
        select(*_sendable_columns(), c.job_id, c.school_id)
        .where(c.job_id.in_(list(job_ids)), c.sync_state.in_(ROW_PENDING))
        .order_by(c.job_id, c.sheet, c.row)
    )
    return list(session.execute(query))


def payloads_of(session: Session, row_ids: Sequence[int]) -> dict[int, Any]:
    """The payloads of rows, by id."""
    if not row_ids:
        return {}
    query = select(rows.c.id, rows.c.payload).where(rows.c.id.in_(list(row_ids)))
    return {row_id: payload for row_id, payload in session.execute(query)}


def job_row_counts(session: Session, job_id: str) -> dict[str, int]:
    c = rows.c
    query = select(c.sync_state, func.count()).where(c.job_id == job_id).group_by(c.sync_state)
    return {state: n for state, n in session.execute(query)}


def unchanged_rows(session: Session, job_id: str | Sequence[str]) -> list[int]:
    """Pending rows of a job (or jobs) whose payload the Sở already holds (per the ledger)."""
    job_ids = [job_id] if isinstance(job_id, str) else list(job_id)
    c, lg = rows.c, ledger.c
    query = (
        select(c.id)
        .select_from(
            rows.join(
                ledger,
                and_(
                    lg.school_id == c.school_id,
                    lg.school_year == c.school_year,
                    lg.semester == c.semester,
                    lg.class_name == c.class_name,
                    lg.subject_code == c.subject_code,
                    lg.student_id == c.student_id,
                ),
            )
        )
        .where(
            c.job_id.in_(job_ids),
            c.sync_state.in_(ROW_PENDING),
            lg.payload_hash == c.payload_hash,
        )
    )
    return list(session.scalars(query))


def set_rows(session: Session, updates: Sequence[dict[str, Any]]) -> None:
    """Per-row state changes. Keys: id, sync_state, sync_errors, attempts, next_attempt_at,
    synced_at, job_id, updated_at.

    Rows getting identical values share one ``UPDATE … WHERE id IN (…)``: a
    batch the Sở stored whole is one statement, not one per row.
    """
    groups: dict[tuple[Any, ...], tuple[dict[str, Any], list[int]]] = {}
    for u in updates:
        values = {k: v for k, v in u.items() if k != "id"}
        # Only the errors (a list) need encoding to be hashable; the rest are keys as is.
        key = tuple(
            (k, json.dumps(v, sort_keys=True) if isinstance(v, list | dict) else v)
            for k, v in sorted(values.items())
        )
        groups.setdefault(key, (values, []))[1].append(u["id"])
    for values, ids in groups.values():
        session.execute(update(rows).where(rows.c.id.in_(ids)).values(**values))


def set_rows_state(
    session: Session, row_ids: Sequence[int], state: str, now: dt.datetime, **values: Any
) -> None:
    """One state (and optional common values) for many rows."""
    if row_ids:
        session.execute(
            update(rows)
            .where(rows.c.id.in_(row_ids))
            .values(sync_state=state, updated_at=now, **values)
        )


def add_row_errors(session: Session, errors: dict[int, list[dict[str, Any]]]) -> None:
    """Replace the ``sync_errors`` of rows (reconciliation flags)."""
    if errors:
        stmt = (
            update(rows)
            .where(rows.c.id == bindparam("_id"))
            .values(sync_errors=bindparam("_errors", type_=JSONType))
        )
        session.execute(stmt, [{"_id": k, "_errors": v} for k, v in errors.items()])


def rows_by_id(session: Session, row_ids: Sequence[int]) -> list[Any]:
    if not row_ids:
        return []
    c = rows.c
    query = select(
        c.id,
        c.school_id,
        c.school_year,
        c.semester,
        c.class_name,
        c.subject_code,
        c.student_id,
        c.payload_hash,
    ).where(c.id.in_(row_ids))
    return list(session.execute(query))


# -- ledger ----------------------------------------------------------------------


def record_synced(session: Session, job: Any, synced: Sequence[Any], now: dt.datetime) -> None:
    """Upsert the ledger: these rows' payloads (``student_id``, ``payload_hash``; rows of
    ``job``'s gradebook) are what the Sở now holds.

    On PostgreSQL one statement unnests the students and hashes (an executemany
    would be one upsert per row); elsewhere an executemany.
    """
    if not synced:
        return
    book = {k: getattr(job, k) for k in _BOOK}
    if session.get_bind().dialect.name == "postgresql":
        params = {
            **book,
            "student_ids": [r.student_id for r in synced],
            "hashes": [r.payload_hash for r in synced],
            "job_id": job.id,
            "synced_at": now,
        }
        session.execute(_ledger_upsert_unnested(), params)
        return
    entries = [
        {**book, "student_id": r.student_id, "payload_hash": r.payload_hash, "job_id": job.id,
         "synced_at": now}
        for r in synced
    ]  # fmt: skip
    session.execute(_ledger_upsert(insert_for(session, ledger)), entries)


#: The gradebook's part of a ledger key (with ``student_id``, the whole key).
_BOOK = ("school_id", "school_year", "semester", "class_name", "subject_code")


def _ledger_upsert(stmt: Any) -> Any:
    return stmt.on_conflict_do_update(
        index_elements=[*_BOOK, "student_id"],
        set_={
            "payload_hash": stmt.excluded.payload_hash,
            "job_id": stmt.excluded.job_id,
            "synced_at": stmt.excluded.synced_at,
        },
    )


@functools.cache
def _ledger_upsert_unnested() -> Any:
    """``INSERT … SELECT :book…, unnest(:student_ids, :hashes), :job_id, :synced_at
    ON CONFLICT … DO UPDATE`` (PostgreSQL), built once."""
    pairs = (
        func.unnest(
            cast(bindparam("student_ids"), ARRAY(String)), cast(bindparam("hashes"), ARRAY(String))
        )
        .table_valued("student_id", "payload_hash")
        .render_derived()
    )
    source = select(
        *(cast(bindparam(k), String) for k in _BOOK),
        pairs.c.student_id,
        pairs.c.payload_hash,
        cast(bindparam("job_id"), String),
        bindparam("synced_at", type_=UTCDateTime),
    )
    columns = [*_BOOK, "student_id", "payload_hash", "job_id", "synced_at"]
    return _ledger_upsert(pg_insert(ledger).from_select(columns, source))


def forget_synced(session: Session, row_ids: Sequence[int]) -> None:
    """Drop ledger entries of rows the Sở turned out not to hold (reconciliation)."""
    for r in rows_by_id(session, row_ids):
        session.execute(
            ledger.delete().where(
                ledger.c.school_id == r.school_id,
                ledger.c.school_year == r.school_year,
                ledger.c.semester == r.semester,
                ledger.c.class_name == r.class_name,
                ledger.c.subject_code == r.subject_code,
                ledger.c.student_id == r.student_id,
            )
        )
