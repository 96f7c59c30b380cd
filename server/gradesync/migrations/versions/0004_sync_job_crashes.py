"""sync engine: count a job's crashed runs (poison jobs go DEAD after a few)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("push_jobs") as batch:
        batch.add_column(sa.Column("crashes", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("push_jobs") as batch:
        batch.drop_column("crashes")
