"""Portal queries at scale: labels carry their story's date and structure; index-only paging.

The irritant aggregates of one structure and quarter used to join every story of the period to
its labels, one random index probe per story (most of the time of ``GET /api/irritants`` with a
million stories, bench/bench_portal.py). Labels now carry a copy of their story's ``created_at``
and ``structure_id`` (set on insert, never changed; set null with the structure), so the
aggregate reads one range of ``ix_story_labels_space_active_structure_created_code``.

The (structure, date) index of stories gains ``id``: the stories list finds the ids of a page in
the index alone (PostgreSQL has no implicit row id in its indexes, unlike SQLite).

Upgrading copies the two story columns onto every existing label (one UPDATE of the table).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feedback_store.sqltypes import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CREATED_COMMENT = "Copy of the story's created_at, so that aggregates read labels alone."
STRUCTURE_COMMENT = "Copy of the story's structure_id (set null with it), for the aggregates."


def _copy_story_columns() -> None:
    """Fill both copies from the labels' stories."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE story_labels SET story_created_at = stories.created_at, "
            "story_structure_id = stories.structure_id "
            "FROM stories WHERE stories.id = story_labels.story_id"
        )
    else:
        op.execute(
            "UPDATE story_labels SET (story_created_at, story_structure_id) = "
            "(SELECT created_at, structure_id FROM stories "
            "WHERE stories.id = story_labels.story_id)"
        )


def upgrade() -> None:
    """Add and fill the story copies of labels; index them; add ``id`` to the stories index."""
    with op.batch_alter_table("story_labels") as batch:
        batch.add_column(
            sa.Column("story_created_at", UtcDateTime(), nullable=True, comment=CREATED_COMMENT)
        )
        batch.add_column(
            sa.Column("story_structure_id", sa.Integer(), nullable=True, comment=STRUCTURE_COMMENT)
        )
    _copy_story_columns()
    with op.batch_alter_table("story_labels") as batch:
        batch.alter_column(
            "story_created_at",
            existing_type=UtcDateTime(),
            nullable=False,
            existing_comment=CREATED_COMMENT,
        )
        batch.create_foreign_key(
            op.f("fk_story_labels_story_structure_id_structures"),
            "structures",
            ["story_structure_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(
        "ix_story_labels_space_active_structure_created_code",
        "story_labels",
        ["space", "active", "story_structure_id", "story_created_at", "code", "story_id"],
    )
    op.create_index(
        "ix_stories_structure_id_created_at_id_ressenti",
        "stories",
        ["structure_id", "created_at", "id", "ressenti"],
    )
    op.drop_index("ix_stories_structure_id_created_at_ressenti", table_name="stories")


def downgrade() -> None:
    """Restore the schema of revision 0005."""
    op.create_index(
        "ix_stories_structure_id_created_at_ressenti",
        "stories",
        ["structure_id", "created_at", "ressenti"],
    )
    op.drop_index("ix_stories_structure_id_created_at_id_ressenti", table_name="stories")
    op.drop_index("ix_story_labels_space_active_structure_created_code", table_name="story_labels")
    with op.batch_alter_table("story_labels") as batch:
        batch.drop_constraint(
            op.f("fk_story_labels_story_structure_id_structures"), type_="foreignkey"
        )
        batch.drop_column("story_structure_id")
        batch.drop_column("story_created_at")
