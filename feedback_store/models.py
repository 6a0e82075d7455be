"""Declarative models of the story store (stories, labels, notes, improvement plans, agents, audit).

The schema itself is created by the Alembic migrations in ``feedback_store/migrations``; these
models must stay in step with them (a unit test compares both). Enumerated columns are plain
strings guarded by CHECK constraints, identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    select,
    true,
)
from sqlalchemy.orm import declarative_base, relationship

from feedback_store.sqltypes import UtcDateTime, utcnow
from feedback_store.taxonomy import CANAUX, RESSENTIS

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STORY_STATUSES: tuple[str, ...] = ("nouveau", "en_cours", "traite", "clos")
LABEL_SPACES: tuple[str, ...] = ("irritant", "engagement", "tag")
LABEL_SOURCES: tuple[str, ...] = ("model", "usager", "agent")
ACTION_STATUSES: tuple[str, ...] = ("proposee", "engagee", "realisee", "abandonnee")
AGENT_ROLES: tuple[str, ...] = ("agent", "qualite", "admin")
CANAL_CODES: tuple[str, ...] = tuple(CANAUX)
RESSENTI_CODES: tuple[str, ...] = tuple(RESSENTIS)

Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def in_check(column: str, values: Iterable[str]) -> str:
    """Return the SQL of a CHECK that ``column`` holds one of ``values``."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


def _created_at() -> Column:
    return Column(
        UtcDateTime(), nullable=False, server_default=utcnow(), comment="Creation time (UTC)."
    )


class Structure(Base):
    """A public-service structure (CAF, préfecture, France services…) that stories are about."""

    __tablename__ = "structures"
    __table_args__ = {"comment": "Public-service structures stories are about."}

    id = Column(Integer, primary_key=True)
    code = Column(String(64), nullable=False, unique=True, comment="Stable structure code.")
    name = Column(String(200), nullable=False, comment="Display name.")
    kind = Column(String(64), comment="Organisme kind (caf, cpam, prefecture, mairie…).")
    departement = Column(String(3), comment="Département code (01…95, 2A, 2B, 971…).")
    created_at = _created_at()


class StoryCounter(Base):
    """Per-year sequence used to build story references ``EXP-<year>-<sequence>``."""

    __tablename__ = "story_counters"
    __table_args__ = {"comment": "Last reference sequence number given, per year."}

    year = Column(Integer, primary_key=True, autoincrement=False, comment="Reference year.")
    value = Column(Integer, nullable=False, comment="Last sequence number used in that year.")


class Story(Base):
    """An anonymised usager experience story."""

    __tablename__ = "stories"
    __table_args__ = (
        CheckConstraint(in_check("canal", CANAL_CODES), name="canal"),
        CheckConstraint(in_check("ressenti", RESSENTI_CODES), name="ressenti"),
        CheckConstraint(in_check("status", STORY_STATUSES), name="status"),
        CheckConstraint("consent", name="consent"),
        CheckConstraint("length(text_anonymised) > 0", name="text_not_empty"),
        CheckConstraint("postal_code IS NULL OR length(postal_code) = 5", name="postal_code"),
        Index("ix_stories_created_at", "created_at"),
        Index(
            "ix_stories_structure_id_created_at_id_ressenti",
            "structure_id",
            "created_at",
            "id",
            "ressenti",
        ),
        Index("ix_stories_departement", "departement"),
        Index("ix_stories_status", "status"),
        Index("ix_stories_partner", "partner"),
        {"comment": "Anonymised usager experience stories (consent given)."},
    )
    __mapper_args__ = {"eager_defaults": True}

    id = Column(Integer, primary_key=True)
    reference = Column(
        String(20), nullable=False, unique=True, comment="Public reference EXP-<year>-<sequence>."
    )
    submission_id = Column(
        String(36), nullable=False, unique=True, comment="Client-generated UUID (idempotency)."
    )
    created_at = _created_at()
    updated_at = Column(
        UtcDateTime(),
        nullable=False,
        server_default=utcnow(),
        onupdate=utcnow(),
        comment="Last change (UTC).",
    )
    structure_id = Column(
        Integer,
        ForeignKey("structures.id", ondelete="SET NULL"),
        comment="Structure the story is about, when known.",
    )
    structure_label = Column(String(200), comment="Structure as typed or chosen by the usager.")
    canal = Column(String(20), nullable=False, comment="Contact channel (taxonomy CANAUX).")
    ressenti = Column(String(10), nullable=False, comment="Usager feeling (taxonomy RESSENTIS).")
    title = Column(String(200), comment="Short title, when given.")
    text_anonymised = Column(Text, nullable=False, comment="Story text, personal data scrubbed.")
    suggestion_anonymised = Column(Text, comment="Improvement suggestion, scrubbed.")
    search_text = Column(
        Text, nullable=False, comment="Lower-case, accent-free text + suggestion for search."
    )
    postal_code = Column(String(5), comment="Usager postal code, when given.")
    departement = Column(String(3), comment="Département derived from the postal code.")
    partner = Column(String(64), comment="Partner site id of the widget, when embedded.")
    consent = Column(Boolean, nullable=False, comment="Explicit consent; must be true.")
    status = Column(
        String(10),
        nullable=False,
        server_default="nouveau",
        comment="Handling status (nouveau, en_cours, traite, clos).",
    )
    taxonomy_version = Column(String(20), nullable=False, comment="Taxonomy version of labels.")
    model_version = Column(String(64), comment="Classifier version of the model labels.")

    structure = relationship("Structure", lazy="joined")
    labels = relationship(
        "StoryLabel",
        back_populates="story",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="StoryLabel.id",
    )
    notes = relationship(
        "StoryNote",
        back_populates="story",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="StoryNote.id",
    )


class StoryLabel(Base):
    """One label of a story; model, usager and agent labels are kept side by side."""

    __tablename__ = "story_labels"
    __table_args__ = (
        CheckConstraint(in_check("space", LABEL_SPACES), name="space"),
        CheckConstraint(in_check("source", LABEL_SOURCES), name="source"),
        CheckConstraint(
            "confidence IS NULL OR (confidence >= 0 AND confidence <= 1)", name="confidence"
        ),
        UniqueConstraint("story_id", "space", "source", "code"),
        Index("ix_story_labels_space_code_active", "space", "code", "active"),
        Index("ix_story_labels_story_id_space_active_code", "story_id", "space", "active", "code"),
        Index(
            "ix_story_labels_space_active_structure_created_code",
            "space",
            "active",
            "story_structure_id",
            "story_created_at",
            "code",
            "story_id",
        ),
        {"comment": "Story labels (irritant, engagement, tag) by source."},
    )

    __mapper_args__ = {"eager_defaults": True}

    id = Column(Integer, primary_key=True)
    story_id = Column(
        Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False, comment="Story."
    )
    space = Column(String(10), nullable=False, comment="Label space: irritant, engagement, tag.")
    code = Column(String(64), nullable=False, comment="Taxonomy code.")
    source = Column(String(10), nullable=False, comment="Who labelled: model, usager, agent.")
    confidence = Column(Float, comment="Model confidence in [0, 1]; null for people.")
    active = Column(
        Boolean,
        nullable=False,
        server_default=true(),
        comment="Counts in filters and aggregates (most authoritative source of the space).",
    )
    author = Column(String(200), comment="Agent who set the label, for agent labels.")
    created_at = _created_at()
    story_created_at = Column(
        UtcDateTime(),
        nullable=False,
        comment="Copy of the story's created_at, so that aggregates read labels alone.",
    )
    story_structure_id = Column(
        Integer,
        ForeignKey("structures.id", ondelete="SET NULL"),
        comment="Copy of the story's structure_id (set null with it), for the aggregates.",
    )

    story = relationship("Story", back_populates="labels")


@event.listens_for(StoryLabel, "before_insert")
def _copy_story_keys(_mapper, connection, label: StoryLabel) -> None:
    """Copy the story's creation time and structure onto a label being inserted.

    Both never change once the story is stored (a deleted structure sets both copies to null
    through their foreign keys), so the copies stay exact; the irritant aggregates filter and
    group labels on them without joining every story of the period (see
    :func:`feedback_store.stories.aggregate_irritants`). Core bulk inserts must fill them.
    """
    story = inspect(label).dict.get("story")
    known = inspect(story).dict if story is not None else {}
    if known.get("created_at") is not None and "structure_id" in known:
        created_at, structure_id = known["created_at"], known["structure_id"]
    else:  # not loaded: read the stored story (inserted earlier in this flush if new)
        stories = Story.__table__.c
        created_at, structure_id = connection.execute(
            select(stories.created_at, stories.structure_id).where(stories.id == label.story_id)
        ).one()
    label.story_created_at = created_at
    label.story_structure_id = structure_id


class StoryNote(Base):
    """A reply or internal note written by an agent about a story."""

    __tablename__ = "story_notes"
    __table_args__ = (
        Index("ix_story_notes_story_id", "story_id"),
        {"comment": "Agent notes and replies on stories."},
    )

    id = Column(Integer, primary_key=True)
    story_id = Column(
        Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False, comment="Story."
    )
    author = Column(String(200), nullable=False, comment="Agent who wrote the note.")
    body = Column(Text, nullable=False, comment="Note text.")
    created_at = _created_at()

    story = relationship("Story", back_populates="notes")


class ImprovementAction(Base):
    """An improvement action of a quality plan, linked to irritants and stories."""

    __tablename__ = "improvement_actions"
    __table_args__ = (
        CheckConstraint(in_check("status", ACTION_STATUSES), name="status"),
        Index("ix_improvement_actions_structure_id", "structure_id"),
        {"comment": "Improvement actions of quality plans."},
    )

    id = Column(Integer, primary_key=True)
    title = Column(String(200), nullable=False, comment="What will be done.")
    description = Column(Text, comment="Details.")
    owner = Column(String(200), comment="Person or team in charge.")
    structure_id = Column(
        Integer,
        ForeignKey("structures.id", ondelete="SET NULL"),
        comment="Structure concerned, when specific.",
    )
    due_date = Column(Date, comment="Planned completion date.")
    status = Column(
        String(12),
        nullable=False,
        server_default="proposee",
        comment="proposee, engagee, realisee, abandonnee.",
    )
    done_text = Column(
        Text, comment="What was done (published as 'vous avez dit, nous avons fait')."
    )
    created_at = _created_at()
    updated_at = Column(
        UtcDateTime(),
        nullable=False,
        server_default=utcnow(),
        onupdate=utcnow(),
        comment="Last change (UTC).",
    )

    irritants = relationship(
        "ImprovementActionIrritant", cascade="all, delete-orphan", passive_deletes=True
    )
    stories = relationship("Story", secondary="improvement_action_stories")


class ImprovementActionIrritant(Base):
    """Link between an improvement action and an irritant code."""

    __tablename__ = "improvement_action_irritants"
    __table_args__ = (
        PrimaryKeyConstraint("action_id", "irritant"),
        {"comment": "Irritants addressed by an improvement action."},
    )

    action_id = Column(
        Integer,
        ForeignKey("improvement_actions.id", ondelete="CASCADE"),
        nullable=False,
        comment="Improvement action.",
    )
    irritant = Column(String(64), nullable=False, comment="Irritant code.")


class ImprovementActionStory(Base):
    """Link between an improvement action and a story that motivated it."""

    __tablename__ = "improvement_action_stories"
    __table_args__ = (
        PrimaryKeyConstraint("action_id", "story_id"),
        Index("ix_improvement_action_stories_story_id", "story_id"),
        {"comment": "Stories linked to an improvement action."},
    )

    action_id = Column(
        Integer,
        ForeignKey("improvement_actions.id", ondelete="CASCADE"),
        nullable=False,
        comment="Improvement action.",
    )
    story_id = Column(
        Integer,
        ForeignKey("stories.id", ondelete="CASCADE"),
        nullable=False,
        comment="Story.",
    )


class AuditLog(Base):
    """Who did what, when, on which target (agent actions, erasures)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_target_type_target", "target_type", "target"),
        {"comment": "Audit trail of changes made by agents and erasure requests."},
    )

    id = Column(Integer, primary_key=True)
    at = Column(UtcDateTime(), nullable=False, server_default=utcnow(), comment="When (UTC).")
    actor = Column(String(200), nullable=False, comment="Who: agent e-mail, 'usager', 'system'.")
    action = Column(String(64), nullable=False, comment="What, e.g. story.status, story.delete.")
    target_type = Column(String(32), nullable=False, comment="Kind of target, e.g. story.")
    target = Column(String(64), comment="Target identifier, e.g. a story reference.")
    details = Column(JSON, comment="Non-personal details (old/new values).")


class Agent(Base):
    """An agent account of the portal."""

    __tablename__ = "agents"
    __table_args__ = {"comment": "Agent accounts of the portal."}

    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False, unique=True, comment="Login e-mail.")
    display_name = Column(String(200), nullable=False, comment="Name shown in the portal.")
    active = Column(Boolean, nullable=False, server_default=true(), comment="Can log in.")
    password_hash = Column(
        String(255), comment="scrypt hash of the dashboard password; null: API tokens only."
    )
    created_at = _created_at()

    tokens = relationship("ApiToken", cascade="all, delete-orphan", passive_deletes=True)
    structures = relationship("AgentStructure", cascade="all, delete-orphan", passive_deletes=True)


class ApiToken(Base):
    """A hashed API token of an agent (the clear token is shown once, never stored)."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        Index("ix_api_tokens_agent_id", "agent_id"),
        {"comment": "Hashed API tokens of agents."},
    )

    id = Column(Integer, primary_key=True)
    agent_id = Column(
        Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False, comment="Owner."
    )
    token_hash = Column(String(64), nullable=False, unique=True, comment="SHA-256 hex of token.")
    label = Column(String(100), comment="What the token is for.")
    created_at = _created_at()
    expires_at = Column(UtcDateTime(), comment="Expiry (UTC), if any.")
    revoked_at = Column(UtcDateTime(), comment="Revocation time (UTC), if revoked.")
    last_used_at = Column(UtcDateTime(), comment="Last successful use (UTC).")


class AgentStructure(Base):
    """An agent's role on one structure (what stories the agent may read)."""

    __tablename__ = "agent_structures"
    __table_args__ = (
        PrimaryKeyConstraint("agent_id", "structure_id"),
        CheckConstraint(in_check("role", AGENT_ROLES), name="role"),
        Index("ix_agent_structures_structure_id", "structure_id"),
        {"comment": "Structures an agent is entitled to, with a role."},
    )

    agent_id = Column(
        Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False, comment="Agent."
    )
    structure_id = Column(
        Integer,
        ForeignKey("structures.id", ondelete="CASCADE"),
        nullable=False,
        comment="Structure.",
    )
    role = Column(String(10), nullable=False, comment="agent, qualite or admin.")


ANALYTICS_KINDS: tuple[str, ...] = ("not_understood", "fallback_menu", "fallback", "out_of_scope")
"""Kinds of conversation analytics events (see :mod:`feedback_store.analytics_events`)."""


class AnalyticsEvent(Base):
    """A moment the bot did not understand a usager (or said it cannot help), per flow.

    Written by the analytics consumer from Rasa's event stream (RabbitMQ); never holds the raw
    sender id, only its SHA-256, and only scrubbed question text.
    """

    __tablename__ = "analytics_events"
    __table_args__ = (
        CheckConstraint(in_check("kind", ANALYTICS_KINDS), name="kind"),
        CheckConstraint(
            "confidence IS NULL OR (confidence >= 0 AND confidence <= 1)", name="confidence"
        ),
        Index("ix_analytics_events_at_flow_kind", "at", "flow", "kind"),
        Index("ix_analytics_events_kind_at_question_key", "kind", "at", "question_key"),
        {"comment": "Fallbacks and misunderstood questions of conversations, per flow."},
    )

    id = Column(Integer, primary_key=True)
    event_key = Column(
        String(64),
        nullable=False,
        unique=True,
        comment="SHA-256 of sender hash, event and time: a redelivered event is stored once.",
    )
    at = Column(UtcDateTime(), nullable=False, comment="Time of the bot's reaction (UTC).")
    flow = Column(
        String(64), nullable=False, comment="Active form, or hors_formulaire when none was."
    )
    kind = Column(
        String(20),
        nullable=False,
        comment="not_understood, fallback_menu, fallback or out_of_scope.",
    )
    intent = Column(String(100), comment="Best intent the NLU found (other than nlu_fallback).")
    confidence = Column(Float, comment="Confidence of that intent in [0, 1].")
    question = Column(Text, comment="The usager's message, personal data scrubbed.")
    question_key = Column(
        String(200), comment="Lower-case, accent-free question, to group identical ones."
    )
    sender_hash = Column(String(64), nullable=False, comment="SHA-256 of the conversation id.")


class AnalyticsConversation(Base):
    """Per-conversation state of the analytics consumer: active form and last usager message."""

    __tablename__ = "analytics_conversations"
    __table_args__ = (
        CheckConstraint(
            "last_confidence IS NULL OR (last_confidence >= 0 AND last_confidence <= 1)",
            name="last_confidence",
        ),
        Index("ix_analytics_conversations_updated_at", "updated_at"),
        {"comment": "State of conversations for the analytics consumer (pruned after a day)."},
    )

    sender_hash = Column(
        String(64), primary_key=True, comment="SHA-256 of the conversation id (never the id)."
    )
    active_loop = Column(String(64), comment="Active form, null when none.")
    last_text = Column(Text, comment="Last usager message, personal data scrubbed.")
    last_intent = Column(String(100), comment="Best intent of that message.")
    last_confidence = Column(Float, comment="Confidence of that intent in [0, 1].")
    updated_at = Column(UtcDateTime(), nullable=False, comment="Time of the last event applied.")
