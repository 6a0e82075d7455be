"""Stories: structures, per-year reference counters, stories, labels and agent notes.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feedback_store.sqltypes import UtcDateTime, utcnow

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Snapshot of the code lists at this revision (a later change of the taxonomy needs a migration).
CANAUX = ("guichet", "telephone", "courrier", "email", "en_ligne", "france_services", "autre")
RESSENTIS = ("positif", "neutre", "negatif")
STORY_STATUSES = ("nouveau", "en_cours", "traite", "clos")
LABEL_SPACES = ("irritant", "engagement", "tag")
LABEL_SOURCES = ("model", "usager", "agent")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _created_at(comment: str = "Creation time (UTC).") -> sa.Column:
    return sa.Column(
        "created_at", UtcDateTime(), server_default=utcnow(), nullable=False, comment=comment
    )


def upgrade() -> None:
    """Create the story tables."""
    op.create_table(
        "structures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False, comment="Stable structure code."),
        sa.Column("name", sa.String(200), nullable=False, comment="Display name."),
        sa.Column(
            "kind", sa.String(64), comment="Organisme kind (caf, cpam, prefecture, mairie…)."
        ),
        sa.Column("departement", sa.String(3), comment="Département code (01…95, 2A, 2B, 971…)."),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_structures")),
        sa.UniqueConstraint("code", name=op.f("uq_structures_code")),
        comment="Public-service structures stories are about.",
    )
    op.create_table(
        "story_counters",
        sa.Column(
            "year", sa.Integer(), autoincrement=False, nullable=False, comment="Reference year."
        ),
        sa.Column(
            "value", sa.Integer(), nullable=False, comment="Last sequence number used in that year."
        ),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_story_counters")),
        comment="Last reference sequence number given, per year.",
    )
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "reference",
            sa.String(20),
            nullable=False,
            comment="Public reference EXP-<year>-<sequence>.",
        ),
        sa.Column(
            "submission_id",
            sa.String(36),
            nullable=False,
            comment="Client-generated UUID (idempotency).",
        ),
        _created_at(),
        sa.Column(
            "updated_at",
            UtcDateTime(),
            server_default=utcnow(),
            nullable=False,
            comment="Last change (UTC).",
        ),
        sa.Column(
            "structure_id", sa.Integer(), comment="Structure the story is about, when known."
        ),
        sa.Column(
            "structure_label",
            sa.String(200),
            comment="Structure as typed or chosen by the usager.",
        ),
        sa.Column(
            "canal", sa.String(20), nullable=False, comment="Contact channel (taxonomy CANAUX)."
        ),
        sa.Column(
            "ressenti",
            sa.String(10),
            nullable=False,
            comment="Usager feeling (taxonomy RESSENTIS).",
        ),
        sa.Column("title", sa.String(200), comment="Short title, when given."),
        sa.Column(
            "text_anonymised",
            sa.Text(),
            nullable=False,
            comment="Story text, personal data scrubbed.",
        ),
        sa.Column("suggestion_anonymised", sa.Text(), comment="Improvement suggestion, scrubbed."),
        sa.Column(
            "search_text",
            sa.Text(),
            nullable=False,
            comment="Lower-case, accent-free text + suggestion for search.",
        ),
        sa.Column("postal_code", sa.String(5), comment="Usager postal code, when given."),
        sa.Column("departement", sa.String(3), comment="Département derived from the postal code."),
        sa.Column(
            "partner", sa.String(64), comment="Partner site id of the widget, when embedded."
        ),
        sa.Column(
            "consent", sa.Boolean(), nullable=False, comment="Explicit consent; must be true."
        ),
        sa.Column(
            "status",
            sa.String(10),
            server_default="nouveau",
            nullable=False,
            comment="Handling status (nouveau, en_cours, traite, clos).",
        ),
        sa.Column(
            "taxonomy_version",
            sa.String(20),
            nullable=False,
            comment="Taxonomy version of labels.",
        ),
        sa.Column(
            "model_version", sa.String(64), comment="Classifier version of the model labels."
        ),
        sa.CheckConstraint(_in("canal", CANAUX), name=op.f("ck_stories_canal")),
        sa.CheckConstraint(_in("ressenti", RESSENTIS), name=op.f("ck_stories_ressenti")),
        sa.CheckConstraint(_in("status", STORY_STATUSES), name=op.f("ck_stories_status")),
        sa.CheckConstraint("consent", name=op.f("ck_stories_consent")),
        sa.CheckConstraint("length(text_anonymised) > 0", name=op.f("ck_stories_text_not_empty")),
        sa.CheckConstraint(
            "postal_code IS NULL OR length(postal_code) = 5", name=op.f("ck_stories_postal_code")
        ),
        sa.ForeignKeyConstraint(
            ["structure_id"],
            ["structures.id"],
            name=op.f("fk_stories_structure_id_structures"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
        sa.UniqueConstraint("reference", name=op.f("uq_stories_reference")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_stories_submission_id")),
        comment="Anonymised usager experience stories (consent given).",
    )
    op.create_index("ix_stories_created_at", "stories", ["created_at"])
    op.create_index("ix_stories_structure_id_created_at", "stories", ["structure_id", "created_at"])
    op.create_index("ix_stories_departement", "stories", ["departement"])
    op.create_index("ix_stories_status", "stories", ["status"])
    op.create_index("ix_stories_partner", "stories", ["partner"])

    op.create_table(
        "story_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False, comment="Story."),
        sa.Column(
            "space",
            sa.String(10),
            nullable=False,
            comment="Label space: irritant, engagement, tag.",
        ),
        sa.Column("code", sa.String(64), nullable=False, comment="Taxonomy code."),
        sa.Column(
            "source",
            sa.String(10),
            nullable=False,
            comment="Who labelled: model, usager, agent.",
        ),
        sa.Column("confidence", sa.Float(), comment="Model confidence in [0, 1]; null for people."),
        sa.Column(
            "active",
            sa.Boolean(),
            server_default=sa.true(),
            nullable=False,
            comment="Counts in filters and aggregates (most authoritative source of the space).",
        ),
        sa.Column("author", sa.String(200), comment="Agent who set the label, for agent labels."),
        _created_at(),
        sa.CheckConstraint(_in("space", LABEL_SPACES), name=op.f("ck_story_labels_space")),
        sa.CheckConstraint(_in("source", LABEL_SOURCES), name=op.f("ck_story_labels_source")),
        sa.CheckConstraint(
            "confidence IS NULL OR (confidence >= 0 AND confidence <= 1)",
            name=op.f("ck_story_labels_confidence"),
        ),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_labels_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_labels")),
        sa.UniqueConstraint(
            "story_id",
            "space",
            "source",
            "code",
            name=op.f("uq_story_labels_story_id_space_source_code"),
        ),
        comment="Story labels (irritant, engagement, tag) by source.",
    )
    op.create_index(
        "ix_story_labels_space_code_active", "story_labels", ["space", "code", "active"]
    )

    op.create_table(
        "story_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False, comment="Story."),
        sa.Column("author", sa.String(200), nullable=False, comment="Agent who wrote the note."),
        sa.Column("body", sa.Text(), nullable=False, comment="Note text."),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_notes_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_notes")),
        comment="Agent notes and replies on stories.",
    )
    op.create_index("ix_story_notes_story_id", "story_notes", ["story_id"])


def downgrade() -> None:
    """Drop the story tables."""
    op.drop_index("ix_story_notes_story_id", table_name="story_notes")
    op.drop_table("story_notes")
    op.drop_index("ix_story_labels_space_code_active", table_name="story_labels")
    op.drop_table("story_labels")
    for index in (
        "ix_stories_partner",
        "ix_stories_status",
        "ix_stories_departement",
        "ix_stories_structure_id_created_at",
        "ix_stories_created_at",
    ):
        op.drop_index(index, table_name="stories")
    op.drop_table("stories")
    op.drop_table("story_counters")
    op.drop_table("structures")
