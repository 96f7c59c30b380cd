"""initial schema: schools, tokens, files, gradebooks, staged rows

Revision ID: 0001
Revises:
Create Date: 2026-12-04 16:18:12.362118
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSON everywhere, JSONB on PostgreSQL (as gradesync.core.db.JSONType)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schools",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("so_client_id", sa.String(length=255), nullable=False),
        sa.Column("so_client_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_school_id"), ["school_id"], unique=False)

    op.create_table(
        "files",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=True),
        sa.Column("semester", sa.String(length=8), nullable=True),
        sa.Column("hints", JSON, nullable=False),
        sa.Column("findings", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parsed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("school_id", "sha256", name="uq_files_school_sha256"),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_files_status"), ["status"], unique=False)

    op.create_table(
        "gradebooks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sheet", sa.String(length=255), nullable=False),
        sa.Column("class_name", sa.String(length=32), nullable=True),
        sa.Column("subject_code", sa.String(length=32), nullable=True),
        sa.Column("school_year", sa.String(length=9), nullable=True),
        sa.Column("semester", sa.String(length=8), nullable=True),
        sa.Column("level", sa.String(length=24), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("header_row", sa.Integer(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("findings", JSON, nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gradebooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gradebooks_file_id"), ["file_id"], unique=False)

    op.create_table(
        "staged_rows",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("gradebook_id", sa.BigInteger(), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=True),
        sa.Column("semester", sa.String(length=8), nullable=True),
        sa.Column("class_name", sa.String(length=32), nullable=True),
        sa.Column("subject_code", sa.String(length=32), nullable=True),
        sa.Column("student_id", sa.String(length=32), nullable=True),
        sa.Column("sheet", sa.String(length=255), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("validation", sa.String(length=8), nullable=False),
        sa.Column("findings", JSON, nullable=False),
        sa.Column("payload", JSON, nullable=True),
        sa.Column("payload_hash", sa.String(length=64), nullable=True),
        sa.Column("sync_state", sa.String(length=16), server_default="NOT_SENT", nullable=False),
        sa.Column("sync_errors", JSON, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["gradebook_id"], ["gradebooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staged_rows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_staged_rows_file_order", ["file_id", "gradebook_id", "row"], unique=False
        )
        batch_op.create_index(
            "ix_staged_rows_file_state", ["file_id", "validation", "sync_state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_staged_rows_gradebook_id"), ["gradebook_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_staged_rows_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            "ix_staged_rows_natural_key",
            ["school_id", "school_year", "semester", "class_name", "subject_code", "student_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("staged_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_staged_rows_natural_key")
        batch_op.drop_index(batch_op.f("ix_staged_rows_job_id"))
        batch_op.drop_index(batch_op.f("ix_staged_rows_gradebook_id"))
        batch_op.drop_index("ix_staged_rows_file_state")
        batch_op.drop_index("ix_staged_rows_file_order")

    op.drop_table("staged_rows")
    with op.batch_alter_table("gradebooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gradebooks_file_id"))

    op.drop_table("gradebooks")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_files_status"))
        batch_op.drop_index(batch_op.f("ix_files_school_id"))

    op.drop_table("files")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_school_id"))

    op.drop_table("api_tokens")
    op.drop_table("schools")
