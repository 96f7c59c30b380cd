"""sync engine: push jobs, windows, audit, idempotency keys, ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 16:27:52.281045
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSON everywhere, JSONB on PostgreSQL (as gradesync.core.db.JSONType)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "push_idempotency",
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("school_id", "key"),
    )
    op.create_table(
        "sync_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("row_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=True),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sync_audit", schema=None) as batch_op:
        batch_op.create_index("ix_sync_audit_file", ["file_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_audit_job_id"), ["job_id"], unique=False)

    op.create_table(
        "sync_ledger",
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("semester", sa.String(length=8), nullable=False),
        sa.Column("class_name", sa.String(length=32), nullable=False),
        sa.Column("subject_code", sa.String(length=32), nullable=False),
        sa.Column("student_id", sa.String(length=32), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "school_id", "school_year", "semester", "class_name", "subject_code", "student_id"
        ),
    )
    op.create_table(
        "sync_windows",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("semester", sa.String(length=8), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sync_windows", schema=None) as batch_op:
        batch_op.create_index("ix_sync_windows_term", ["school_year", "semester"], unique=False)

    op.create_table(
        "push_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("semester", sa.String(length=8), nullable=False),
        sa.Column("class_name", sa.String(length=32), nullable=False),
        sa.Column("subject_code", sa.String(length=32), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("gradebook_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("active_key", sa.String(length=255), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fence", sa.Integer(), server_default="0", nullable=False),
        sa.Column("runs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("reconcile", sa.String(length=16), nullable=True),
        sa.Column("mismatches", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_key", name="uq_push_jobs_active_key"),
    )
    with op.batch_alter_table("push_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_jobs_file_id"), ["file_id"], unique=False)
        batch_op.create_index("ix_push_jobs_school_state", ["school_id", "state"], unique=False)
        batch_op.create_index("ix_push_jobs_state_due", ["state", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_push_jobs_state_due")
        batch_op.drop_index("ix_push_jobs_school_state")
        batch_op.drop_index(batch_op.f("ix_push_jobs_file_id"))

    op.drop_table("push_jobs")
    with op.batch_alter_table("sync_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_windows_term")

    op.drop_table("sync_windows")
    op.drop_table("sync_ledger")
    with op.batch_alter_table("sync_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_audit_job_id"))
        batch_op.drop_index("ix_sync_audit_file")

    op.drop_table("sync_audit")
    op.drop_table("push_idempotency")
