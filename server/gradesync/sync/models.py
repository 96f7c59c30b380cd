"""The sync engine's tables: push jobs, windows, audit, idempotency keys and the ledger.

Rows to send are the backend's ``staged_rows`` (their ``sync_state``,
``attempts``, ``next_attempt_at``, ``job_id``, ``synced_at``); a job is the
unit of scheduling, leasing and reporting for one class × subject gradebook.

Job states (:class:`JobState`)::

    SCHEDULED ──window opens──▶ QUEUED ──claimed──▶ RUNNING ──▶ DONE
        ▲                         ▲                   │   ├──▶ DONE_WITH_ERRORS (some FAILED)
        └──── WINDOW_CLOSED ──────┼───────────────────┘   ├──▶ DEAD (some rows DEAD)
                                  └── transient, retry later   └──▶ BLOCKED (configuration)

``SCHEDULED``, ``QUEUED``, ``RUNNING`` and ``BLOCKED`` are *active*: while a
job is active its ``active_key`` holds its (school, year, semester, class,
subject) and a UNIQUE constraint makes it the only active job for that
gradebook. Finished jobs have ``active_key`` NULL (NULLs are distinct on
SQLite and PostgreSQL), so any number of them may exist.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from gradesync.core.db import JSONType, UTCDateTime, utcnow
from gradesync.files.models import BigId


class JobState(StrEnum):
    SCHEDULED = "SCHEDULED"  # waiting for a window to open (due_at: its opening, if known)
    QUEUED = "QUEUED"  # ready to run at due_at (now, or a retry time)
    RUNNING = "RUNNING"  # claimed by a worker holding a lease
    DONE = "DONE"  # every row SYNCED
    DONE_WITH_ERRORS = "DONE_WITH_ERRORS"  # settled; some rows FAILED (business errors)
    DEAD = "DEAD"  # settled; some rows exhausted their retries (dead letters)
    BLOCKED = "BLOCKED"  # the school's Sở account is refused: its queue is stopped


ACTIVE_JOB_STATES = frozenset(
    {JobState.SCHEDULED, JobState.QUEUED, JobState.RUNNING, JobState.BLOCKED}
)


class WindowSource(StrEnum):
    SO = "so"  # synced from the Sở's /api/v1/windows
    ADMIN = "admin"  # set by an admin through POST /api/windows


def active_key(
    school_id: str, school_year: str, semester: str, class_name: str, subject_code: str
) -> str:
    """The value of ``push_jobs.active_key`` for a gradebook (``|`` never occurs in them)."""
    return "|".join((school_id, school_year, semester, class_name, subject_code))


class PushJob(SQLModel, table=True):
    """Sending one class × subject gradebook of one file to the Sở."""

    __tablename__ = "push_jobs"
    __table_args__ = (
        Index("ix_push_jobs_state_due", "state", "due_at"),
        Index("ix_push_jobs_school_state", "school_id", "state"),
        UniqueConstraint("active_key", name="uq_push_jobs_active_key"),
    )

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    school_id: str = Field(sa_column=Column(String(64), nullable=False))
    school_year: str = Field(sa_column=Column(String(9), nullable=False))
    semester: str = Field(sa_column=Column(String(8), nullable=False))
    class_name: str = Field(sa_column=Column(String(32), nullable=False))
    subject_code: str = Field(sa_column=Column(String(32), nullable=False))
    file_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("files.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    gradebook_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    state: str = Field(sa_column=Column(String(20), nullable=False))
    #: set while active, NULL when finished: the UNIQUE "one active job per gradebook"
    active_key: str | None = Field(default=None, sa_column=Column(String(255)))
    #: when the job may run next (a window's opening, or a retry time), our clock, UTC
    due_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    lease_owner: str | None = Field(default=None, sa_column=Column(String(64)))
    lease_until: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    #: incremented by every claim; a write carrying an older value is from a stale worker
    fence: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    runs: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    #: runs that ended in an unexpected error since the job was (re)queued by a person
    crashes: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    #: the last thing a person should know (Vietnamese): why it waits, why it stopped
    message: str | None = Field(default=None, sa_column=Column(Text))
    last_error: str | None = Field(default=None, sa_column=Column(String(64)))
    #: result of the read-back after the job: None (not yet), "OK" or "MISMATCH"
    reconcile: str | None = Field(default=None, sa_column=Column(String(16)))
    mismatches: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    started_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    finished_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class SyncWindow(SQLModel, table=True):
    """A grade-entry window, times in UTC as the Sở states them (on the Sở's clock)."""

    __tablename__ = "sync_windows"
    __table_args__ = (Index("ix_sync_windows_term", "school_year", "semester"),)

    id: str = Field(sa_column=Column(String(80), primary_key=True))  # "so:<id>" / "admin:<uuid>"
    source: str = Field(sa_column=Column(String(8), nullable=False))
    school_year: str = Field(sa_column=Column(String(9), nullable=False))
    semester: str = Field(sa_column=Column(String(8), nullable=False))
    opens_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    closes_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class AuditEvent(SQLModel, table=True):
    """One state change of a job or a row, with when and why."""

    __tablename__ = "sync_audit"
    __table_args__ = (Index("ix_sync_audit_file", "file_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    file_id: str | None = Field(default=None, sa_column=Column(String(36)))
    job_id: str | None = Field(default=None, sa_column=Column(String(36), index=True))
    row_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    kind: str = Field(sa_column=Column(String(8), nullable=False))  # "job" | "row"
    from_state: str | None = Field(default=None, sa_column=Column(String(20)))
    to_state: str | None = Field(default=None, sa_column=Column(String(20)))
    cause: str = Field(sa_column=Column(String(40), nullable=False))
    message: str | None = Field(default=None, sa_column=Column(Text))


class IdempotencyKey(SQLModel, table=True):
    """The first answer to a push carrying an ``Idempotency-Key`` (per school)."""

    __tablename__ = "push_idempotency"

    school_id: str = Field(sa_column=Column(String(64), primary_key=True))
    key: str = Field(sa_column=Column(String(255), primary_key=True))
    request_hash: str = Field(sa_column=Column(String(64), nullable=False))
    status_code: int = Field(sa_column=Column(Integer, nullable=False))
    response: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class LedgerEntry(SQLModel, table=True):
    """The payload hash last confirmed stored at the Sở, per natural key."""

    __tablename__ = "sync_ledger"

    school_id: str = Field(sa_column=Column(String(64), primary_key=True))
    school_year: str = Field(sa_column=Column(String(9), primary_key=True))
    semester: str = Field(sa_column=Column(String(8), primary_key=True))
    class_name: str = Field(sa_column=Column(String(32), primary_key=True))
    subject_code: str = Field(sa_column=Column(String(32), primary_key=True))
    student_id: str = Field(sa_column=Column(String(32), primary_key=True))
    payload_hash: str = Field(sa_column=Column(String(64), nullable=False))
    job_id: str | None = Field(default=None, sa_column=Column(String(36)))
    synced_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class SharedToken(SQLModel, table=True):
    """A school's current Sở bearer token, shared by the deployment's processes.

    The Sở may revoke a school's older token when it issues a new one: one
    token per school for every process, renewed by one process at a time
    (``renewing_until``: that process's claim on the renewal, like a lease).
    The token is encrypted with the school secrets' key.
    """

    __tablename__ = "so_tokens"

    school_id: str = Field(sa_column=Column(String(64), primary_key=True))
    client_id: str = Field(sa_column=Column(String(255), nullable=False))
    token_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    #: when (our clock, UTC) the token is due for renewal, well before it expires
    renew_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    renewing_until: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
