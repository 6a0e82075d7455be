"""Portal: improvement actions, audit log, agents, hashed API tokens and agent structures.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feedback_store.sqltypes import UtcDateTime, utcnow

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTION_STATUSES = ("proposee", "engagee", "realisee", "abandonnee")
AGENT_ROLES = ("agent", "qualite", "admin")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _timestamp(name: str, comment: str) -> sa.Column:
    return sa.Column(name, UtcDateTime(), server_default=utcnow(), nullable=False, comment=comment)


def upgrade() -> None:
    """Create the portal tables."""
    op.create_table(
        "improvement_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False, comment="What will be done."),
        sa.Column("description", sa.Text(), comment="Details."),
        sa.Column("owner", sa.String(200), comment="Person or team in charge."),
        sa.Column("structure_id", sa.Integer(), comment="Structure concerned, when specific."),
        sa.Column("due_date", sa.Date(), comment="Planned completion date."),
        sa.Column(
            "status",
            sa.String(12),
            server_default="proposee",
            nullable=False,
            comment="proposee, engagee, realisee, abandonnee.",
        ),
        sa.Column(
            "done_text",
            sa.Text(),
            comment="What was done (published as 'vous avez dit, nous avons fait').",
        ),
        _timestamp("created_at", "Creation time (UTC)."),
        _timestamp("updated_at", "Last change (UTC)."),
        sa.CheckConstraint(
            _in("status", ACTION_STATUSES), name=op.f("ck_improvement_actions_status")
        ),
        sa.ForeignKeyConstraint(
            ["structure_id"],
            ["structures.id"],
            name=op.f("fk_improvement_actions_structure_id_structures"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_actions")),
        comment="Improvement actions of quality plans.",
    )
    op.create_index("ix_improvement_actions_structure_id", "improvement_actions", ["structure_id"])
    op.create_table(
        "improvement_action_irritants",
        sa.Column("action_id", sa.Integer(), nullable=False, comment="Improvement action."),
        sa.Column("irritant", sa.String(64), nullable=False, comment="Irritant code."),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["improvement_actions.id"],
            name=op.f("fk_improvement_action_irritants_action_id_improvement_actions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "action_id", "irritant", name=op.f("pk_improvement_action_irritants")
        ),
        comment="Irritants addressed by an improvement action.",
    )
    op.create_table(
        "improvement_action_stories",
        sa.Column("action_id", sa.Integer(), nullable=False, comment="Improvement action."),
        sa.Column("story_id", sa.Integer(), nullable=False, comment="Story."),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["improvement_actions.id"],
            name=op.f("fk_improvement_action_stories_action_id_improvement_actions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_improvement_action_stories_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "action_id", "story_id", name=op.f("pk_improvement_action_stories")
        ),
        comment="Stories linked to an improvement action.",
    )
    op.create_index(
        "ix_improvement_action_stories_story_id", "improvement_action_stories", ["story_id"]
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        _timestamp("at", "When (UTC)."),
        sa.Column(
            "actor",
            sa.String(200),
            nullable=False,
            comment="Who: agent e-mail, 'usager', 'system'.",
        ),
        sa.Column(
            "action",
            sa.String(64),
            nullable=False,
            comment="What, e.g. story.status, story.delete.",
        ),
        sa.Column(
            "target_type", sa.String(32), nullable=False, comment="Kind of target, e.g. story."
        ),
        sa.Column("target", sa.String(64), comment="Target identifier, e.g. a story reference."),
        sa.Column("details", sa.JSON(), comment="Non-personal details (old/new values)."),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        comment="Audit trail of changes made by agents and erasure requests.",
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_target_type_target", "audit_log", ["target_type", "target"])

    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False, comment="Login e-mail."),
        sa.Column(
            "display_name", sa.String(200), nullable=False, comment="Name shown in the portal."
        ),
        sa.Column(
            "active",
            sa.Boolean(),
            server_default=sa.true(),
            nullable=False,
            comment="Can log in.",
        ),
        _timestamp("created_at", "Creation time (UTC)."),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("email", name=op.f("uq_agents_email")),
        comment="Agent accounts of the portal.",
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False, comment="Owner."),
        sa.Column("token_hash", sa.String(64), nullable=False, comment="SHA-256 hex of token."),
        sa.Column("label", sa.String(100), comment="What the token is for."),
        _timestamp("created_at", "Creation time (UTC)."),
        sa.Column("expires_at", UtcDateTime(), comment="Expiry (UTC), if any."),
        sa.Column("revoked_at", UtcDateTime(), comment="Revocation time (UTC), if revoked."),
        sa.Column("last_used_at", UtcDateTime(), comment="Last successful use (UTC)."),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_api_tokens_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        comment="Hashed API tokens of agents.",
    )
    op.create_index("ix_api_tokens_agent_id", "api_tokens", ["agent_id"])
    op.create_table(
        "agent_structures",
        sa.Column("agent_id", sa.Integer(), nullable=False, comment="Agent."),
        sa.Column("structure_id", sa.Integer(), nullable=False, comment="Structure."),
        sa.Column("role", sa.String(10), nullable=False, comment="agent, qualite or admin."),
        sa.CheckConstraint(_in("role", AGENT_ROLES), name=op.f("ck_agent_structures_role")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_structures_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["structure_id"],
            ["structures.id"],
            name=op.f("fk_agent_structures_structure_id_structures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "structure_id", name=op.f("pk_agent_structures")),
        comment="Structures an agent is entitled to, with a role.",
    )
    op.create_index("ix_agent_structures_structure_id", "agent_structures", ["structure_id"])


def downgrade() -> None:
    """Drop the portal tables."""
    op.drop_index("ix_agent_structures_structure_id", table_name="agent_structures")
    op.drop_table("agent_structures")
    op.drop_index("ix_api_tokens_agent_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("agents")
    op.drop_index("ix_audit_log_target_type_target", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_improvement_action_stories_story_id", table_name="improvement_action_stories")
    op.drop_table("improvement_action_stories")
    op.drop_table("improvement_action_irritants")
    op.drop_index("ix_improvement_actions_structure_id", table_name="improvement_actions")
    op.drop_table("improvement_actions")
