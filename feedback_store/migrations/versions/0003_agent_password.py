"""Agents: scrypt hash of the dashboard password.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``agents.password_hash``."""
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column(
                "password_hash",
                sa.String(255),
                nullable=True,
                comment="scrypt hash of the dashboard password; null: API tokens only.",
            )
        )


def downgrade() -> None:
    """Drop ``agents.password_hash``."""
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("password_hash")
