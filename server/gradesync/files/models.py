"""The ``files``, ``gradebooks`` and ``staged_rows`` tables and their state enums.

``staged_rows`` is the hand-over to the sync engine: one row per student ×
gradebook, with ``payload`` being exactly the Sở record that will be sent
(:func:`gradesync.gradebook.records.to_record`) and ``payload_hash`` its
canonical sha256, so an unchanged record need not be sent again. The natural
key (school, year, semester, class, subject, student) is denormalised onto
the row and indexed: that is how the Sở upserts, and how a newer upload
supersedes an older one.
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
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from gradesync.core.db import JSONType, UTCDateTime, utcnow

#: Autoincrementing 64-bit ids (an INTEGER rowid alias on SQLite).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class FileStatus(StrEnum):
    PARSING = "PARSING"  # stored; being read in the background
    PARSED_OK = "PARSED_OK"  # every row valid
    PARSED_WITH_ERRORS = "PARSED_WITH_ERRORS"  # staged, some findings are errors
    REJECTED = "REJECTED"  # not a grade workbook (background parse only)


class Validation(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"


class SyncState(StrEnum):
    """Where a staged row is on its way to the Sở (owned by the sync engine)."""

    NOT_SENT = "NOT_SENT"
    SCHEDULED = "SCHEDULED"
    QUEUED = "QUEUED"
    SENDING = "SENDING"
    RETRYING = "RETRYING"
    SYNCED = "SYNCED"
    FAILED = "FAILED"  # the Sở rejected it for a business reason
    DEAD = "DEAD"  # transient failures exhausted the retries


#: States that count as "pending" in a file's counts (valid rows not yet settled).
PENDING_STATES = frozenset(
    {
        SyncState.NOT_SENT,
        SyncState.SCHEDULED,
        SyncState.QUEUED,
        SyncState.SENDING,
        SyncState.RETRYING,
    }
)


class File(SQLModel, table=True):
    __tablename__ = "files"
    __table_args__ = (UniqueConstraint("school_id", "sha256", name="uq_files_school_sha256"),)

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    school_id: str = Field(
        sa_column=Column(String(64), ForeignKey("schools.id"), nullable=False, index=True)
    )
    filename: str = Field(sa_column=Column(String(255), nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    storage_key: str = Field(sa_column=Column(String(255), nullable=False))
    status: str = Field(sa_column=Column(String(24), nullable=False, index=True))
    school_year: str | None = Field(default=None, sa_column=Column(String(9)))
    semester: str | None = Field(default=None, sa_column=Column(String(8)))
    #: the uploader's form fields, kept so a re-parse (after a restart) reads the same way
    hints: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    #: file-level findings: [{"code", "severity", "message", "sheet", "row", "cell"}]
    findings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    parsed_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class GradebookRecord(SQLModel, table=True):
    """One gradebook (class × subject × semester) found in a file."""

    __tablename__ = "gradebooks"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    file_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("files.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    position: int = Field(sa_column=Column(Integer, nullable=False))  # order in the workbook
    sheet: str = Field(sa_column=Column(String(255), nullable=False))
    class_name: str | None = Field(default=None, sa_column=Column(String(32)))
    subject_code: str | None = Field(default=None, sa_column=Column(String(32)))
    school_year: str | None = Field(default=None, sa_column=Column(String(9)))
    semester: str | None = Field(default=None, sa_column=Column(String(8)))
    level: str | None = Field(default=None, sa_column=Column(String(24)))
    grade: int | None = Field(default=None, sa_column=Column(Integer))
    header_row: int | None = Field(default=None, sa_column=Column(Integer))  # 1-based
    rows: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    valid: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    invalid: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    findings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )


class StagedRow(SQLModel, table=True):
    """One student's record in one gradebook of one file, and its sync state."""

    __tablename__ = "staged_rows"
    __table_args__ = (
        # per-file status and counts
        Index("ix_staged_rows_file_state", "file_id", "validation", "sync_state"),
        Index("ix_staged_rows_file_order", "file_id", "gradebook_id", "row"),
        # how the Sở upserts, and how a newer upload supersedes an older one
        Index(
            "ix_staged_rows_natural_key",
            "school_id",
            "school_year",
            "semester",
            "class_name",
            "subject_code",
            "student_id",
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    file_id: str = Field(
        sa_column=Column(String(36), ForeignKey("files.id", ondelete="CASCADE"), nullable=False)
    )
    gradebook_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("gradebooks.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    school_id: str = Field(sa_column=Column(String(64), nullable=False))
    school_year: str | None = Field(default=None, sa_column=Column(String(9)))
    semester: str | None = Field(default=None, sa_column=Column(String(8)))
    class_name: str | None = Field(default=None, sa_column=Column(String(32)))
    subject_code: str | None = Field(default=None, sa_column=Column(String(32)))
    student_id: str | None = Field(default=None, sa_column=Column(String(32)))
    sheet: str = Field(sa_column=Column(String(255), nullable=False))
    row: int = Field(sa_column=Column(Integer, nullable=False))
    validation: str = Field(sa_column=Column(String(8), nullable=False))
    #: [{"code", "severity", "cell", "message"}]
    findings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    #: exactly the Sở record that will be sent; None for invalid rows (never sent)
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    payload_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    sync_state: str = Field(
        default=SyncState.NOT_SENT,
        sa_column=Column(String(16), nullable=False, server_default=SyncState.NOT_SENT.value),
    )
    #: [{"code", "message", "cell"?}] from the Sở or the transport
    sync_errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    next_attempt_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    job_id: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    synced_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    superseded_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
