"""Covering indexes for the irritant aggregates and the stories list.

The aggregates of a perimeter and period read every matching story's ressenti and every active
label of those stories: with these indexes both are read from the index alone, without one
table lookup per story and per label (bench/bench_portal.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Widen the (structure, date) index of stories with ressenti; index labels by story."""
    op.create_index(
        "ix_stories_structure_id_created_at_ressenti",
        "stories",
        ["structure_id", "created_at", "ressenti"],
    )
    op.drop_index("ix_stories_structure_id_created_at", table_name="stories")
    op.create_index(
        "ix_story_labels_story_id_space_active_code",
        "story_labels",
        ["story_id", "space", "active", "code"],
    )


def downgrade() -> None:
    """Restore the indexes of revision 0003."""
    op.drop_index("ix_story_labels_story_id_space_active_code", table_name="story_labels")
    op.create_index("ix_stories_structure_id_created_at", "stories", ["structure_id", "created_at"])
    op.drop_index("ix_stories_structure_id_created_at_ressenti", table_name="stories")
