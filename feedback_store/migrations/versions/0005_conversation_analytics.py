"""Conversation analytics: fallbacks and misunderstood questions per flow, consumer state.

Filled by ``python -m feedback_store.analytics_consumer`` from Rasa's RabbitMQ event stream.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feedback_store.sqltypes import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ANALYTICS_KINDS = ("not_understood", "fallback_menu", "fallback", "out_of_scope")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _confidence_check(column: str, table: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        f"{column} IS NULL OR ({column} >= 0 AND {column} <= 1)",
        name=op.f(f"ck_{table}_{column}"),
    )


def upgrade() -> None:
    """Create ``analytics_events`` and ``analytics_conversations``."""
    op.create_table(
        "analytics_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "event_key",
            sa.String(64),
            nullable=False,
            comment="SHA-256 of sender hash, event and time: a redelivered event is stored once.",
        ),
        sa.Column("at", UtcDateTime(), nullable=False, comment="Time of the bot's reaction (UTC)."),
        sa.Column(
            "flow",
            sa.String(64),
            nullable=False,
            comment="Active form, or hors_formulaire when none was.",
        ),
        sa.Column(
            "kind",
            sa.String(20),
            nullable=False,
            comment="not_understood, fallback_menu, fallback or out_of_scope.",
        ),
        sa.Column(
            "intent", sa.String(100), comment="Best intent the NLU found (other than nlu_fallback)."
        ),
        sa.Column("confidence", sa.Float(), comment="Confidence of that intent in [0, 1]."),
        sa.Column("question", sa.Text(), comment="The usager's message, personal data scrubbed."),
        sa.Column(
            "question_key",
            sa.String(200),
            comment="Lower-case, accent-free question, to group identical ones.",
        ),
        sa.Column(
            "sender_hash",
            sa.String(64),
            nullable=False,
            comment="SHA-256 of the conversation id.",
        ),
        sa.CheckConstraint(_in("kind", ANALYTICS_KINDS), name=op.f("ck_analytics_events_kind")),
        _confidence_check("confidence", "analytics_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_analytics_events_event_key")),
        comment="Fallbacks and misunderstood questions of conversations, per flow.",
    )
    op.create_index("ix_analytics_events_at_flow_kind", "analytics_events", ["at", "flow", "kind"])
    op.create_index(
        "ix_analytics_events_kind_at_question_key",
        "analytics_events",
        ["kind", "at", "question_key"],
    )
    op.create_table(
        "analytics_conversations",
        sa.Column(
            "sender_hash",
            sa.String(64),
            nullable=False,
            comment="SHA-256 of the conversation id (never the id).",
        ),
        sa.Column("active_loop", sa.String(64), comment="Active form, null when none."),
        sa.Column("last_text", sa.Text(), comment="Last usager message, personal data scrubbed."),
        sa.Column("last_intent", sa.String(100), comment="Best intent of that message."),
        sa.Column("last_confidence", sa.Float(), comment="Confidence of that intent in [0, 1]."),
        sa.Column(
            "updated_at", UtcDateTime(), nullable=False, comment="Time of the last event applied."
        ),
        _confidence_check("last_confidence", "analytics_conversations"),
        sa.PrimaryKeyConstraint("sender_hash", name=op.f("pk_analytics_conversations")),
        comment="State of conversations for the analytics consumer (pruned after a day).",
    )
    op.create_index(
        "ix_analytics_conversations_updated_at", "analytics_conversations", ["updated_at"]
    )


def downgrade() -> None:
    """Drop the analytics tables."""
    op.drop_index("ix_analytics_conversations_updated_at", table_name="analytics_conversations")
    op.drop_table("analytics_conversations")
    op.drop_index("ix_analytics_events_kind_at_question_key", table_name="analytics_events")
    op.drop_index("ix_analytics_events_at_flow_kind", table_name="analytics_events")
    op.drop_table("analytics_events")
