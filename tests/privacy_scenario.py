"""Conversations and stories of several usagers, old and recent, for the privacy operations.

The tracker rows are written by the real ``ScrubbingSQLTrackerStore`` (Rasa's ``events`` table,
on SQLite or PostgreSQL), the stories by ``submit_story``, the queued story by ``Outbox.append``,
and submission ids by the action's own ``submission_id``: the links the privacy operations
follow are the ones the bot really makes.

Usagers (``now`` is the reference time, the retention 365 days):

* ``usager-ancien``: conversation 400 days old, story A (labels, usager label, agent note, linked
  to the improvement action) — everything goes at the purge;
* ``usager-recent``: conversation 2 days old, story B (agent note, linked to the action);
* ``usager-revenu``: conversation started 400 days ago, resumed 1 day ago, no story — kept whole;
* ``usager-attente``: conversation 1 day old, story D queued in the outbox under its provisional
  reference (which the tracker store scrubs from the ``story_reference`` slot);
* stories G (400 days, imported, no conversation) and H (3 days, no conversation);
* outbox: story D, story E (another usager, 1 day) and story F (queued 400 days ago).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.engine import Engine, make_url

from feedback_store.improvement_actions import create_action
from feedback_store.models import (
    AuditLog,
    ImprovementAction,
    ImprovementActionStory,
    Story,
    StoryLabel,
    StoryNote,
)
from feedback_store.outbox import Outbox
from feedback_store.privacy_ops import EVENTS
from feedback_store.stories import (
    Classification,
    StoryInput,
    add_note,
    provisional_reference,
    set_usager_label,
    submit_story,
)

DAY = timedelta(days=1)
PLANTED_NAME = "Paul Lefebvre"
TEXT = "Le guichet était fermé alors que le site annonçait une ouverture ce matin-là."
CLASSIFICATION = Classification(
    irritants={"injoignable": 0.7},
    engagements={"E2": 0.7},
    tags=frozenset({"accessibilite"}),
    model_version="test-model-1",
)
SENDERS = ("usager-ancien", "usager-recent", "usager-revenu", "usager-attente")


def tracker_store(url: str):
    """The bot's tracker store on ``url`` (creates Rasa's ``events`` table)."""
    from bot.tracker_store import ScrubbingSQLTrackerStore

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return ScrubbingSQLTrackerStore(dialect="sqlite", db=parsed.database)
    return ScrubbingSQLTrackerStore(
        dialect="postgresql",
        host=parsed.host,
        port=parsed.port or 5432,
        db=parsed.database,
        username=parsed.username,
        password=parsed.password,
    )


def save_conversation(store, sender: str, turns: list[tuple[float, str | None]]) -> list[float]:
    """Save a conversation: each turn is (time, story reference given then, or None).

    Every turn is a usager message with a name in it, a story form run and the bot's answer.
    Returns the form start times (the submission ids derive from them).
    """
    from rasa.shared.core.events import (
        ActionExecuted,
        ActiveLoop,
        BotUttered,
        SessionStarted,
        SlotSet,
        UserUttered,
    )
    from rasa.shared.core.slots import TextSlot
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker(sender, slots=[TextSlot("story_reference", mappings=[])])
    starts = []
    first = turns[0][0]
    for event in (
        ActionExecuted("action_session_start", timestamp=first),
        SessionStarted(timestamp=first),
        ActionExecuted("action_listen", timestamp=first),
    ):
        tracker.update(event)
    for moment, reference in turns:
        starts.append(moment + 2)
        for event in (
            UserUttered(f"je suis {PLANTED_NAME} et la CAF ne répond pas", timestamp=moment + 1),
            ActiveLoop("story_form", timestamp=moment + 2),
            ActiveLoop(None, timestamp=moment + 3),
            SlotSet("story_reference", reference, timestamp=moment + 4),
            BotUttered(f"Merci, votre référence : {reference}", timestamp=moment + 5),
            ActionExecuted("action_listen", timestamp=moment + 6),
        ):
            tracker.update(event)
    asyncio.run(store.save(tracker))
    return starts


def story(submission_id: str, **overrides) -> StoryInput:
    values = {
        "submission_id": submission_id,
        "structure_label": "CAF",
        "canal": "guichet",
        "ressenti": "negatif",
        "text": TEXT,
        "postal_code": "05000",
        "consent": True,
    }
    values.update(overrides)
    return StoryInput(**values)


@dataclass
class World:
    """What the scenario created."""

    now: datetime
    references: dict[str, str] = field(default_factory=dict)  # story letter -> reference
    events: dict[str, int] = field(default_factory=dict)  # sender -> events saved
    action_id: int = 0


def build(tracker_url: str, factory, outbox: Outbox, now: datetime | None = None) -> World:
    """Create the scenario's conversations, stories and queued stories."""
    from bot.actions.story import submission_id

    now = now or datetime.now(timezone.utc)
    world = World(now=now)
    old, recent = (now - 400 * DAY).timestamp(), (now - 2 * DAY).timestamp()
    store = tracker_store(tracker_url)

    year = (now - 400 * DAY).year
    with factory.begin() as session:
        a = submit_story(
            session,
            story(submission_id("usager-ancien", old + 2)),
            CLASSIFICATION,
            created_at=now - 400 * DAY,
        )
        b = submit_story(
            session,
            story(submission_id("usager-recent", recent + 2)),
            CLASSIFICATION,
            created_at=now - 2 * DAY,
        )
        g = submit_story(session, story(str(uuid.uuid4())), created_at=now - 400 * DAY)
        h = submit_story(session, story(str(uuid.uuid4())), created_at=now - 3 * DAY)
        set_usager_label(session, a.reference, irritants=["delai_traitement"])
        add_note(session, a.reference, author="agent@caf.fr", body="Rappel fait.")
        add_note(session, b.reference, author="agent@caf.fr", body="Dossier transmis.")
        world.action_id = create_action(
            session,
            title="Ouvrir une ligne directe",
            actor="qualite@caf.fr",
            irritants=["injoignable"],
            story_references=[a.reference, b.reference],
        ).id
    world.references.update(A=a.reference, B=b.reference, G=g.reference, H=h.reference)

    save_conversation(store, "usager-ancien", [(old, a.reference)])
    save_conversation(store, "usager-recent", [(recent, b.reference)])
    save_conversation(store, "usager-revenu", [(old, None), ((now - DAY).timestamp(), None)])
    waiting = (now - DAY).timestamp()
    d_id = submission_id("usager-attente", waiting + 2)
    world.references["D"] = provisional_reference(d_id, now.year)
    save_conversation(store, "usager-attente", [(waiting, world.references["D"])])

    e_id = str(uuid.uuid4())
    world.references["E"] = provisional_reference(e_id, now.year)
    f_id = str(uuid.uuid4())
    world.references["F"] = provisional_reference(f_id, year)
    for sid, reference, queued in (
        (d_id, world.references["D"], now - DAY),
        (e_id, world.references["E"], now - DAY),
        (f_id, world.references["F"], now - 400 * DAY),
    ):
        outbox.append(story(sid, reference=reference), CLASSIFICATION, queued_at=queued)
    store.engine.dispose()
    engine = tracker_engine_of(tracker_url)
    world.events = event_counts(engine)
    engine.dispose()
    return world


def tracker_engine_of(url: str) -> Engine:
    from feedback_store.privacy_cli import tracker_engine

    engine = tracker_engine(url)
    assert engine is not None
    return engine


def event_counts(engine: Engine) -> dict[str, int]:
    """Events per conversation."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(EVENTS.c.sender_id, func.count()).group_by(EVENTS.c.sender_id)
        ).all()
    return dict(rows)


def story_state(factory) -> dict[str, object]:
    """References of the stories left, rows of their child tables, actions and links."""
    with factory() as session:
        return {
            "stories": set(session.execute(select(Story.reference)).scalars()),
            "story_labels": session.execute(select(func.count(StoryLabel.id))).scalar_one(),
            "story_notes": set(session.execute(select(StoryNote.body)).scalars()),
            "links": set(
                session.execute(
                    select(Story.reference).join(
                        ImprovementActionStory, ImprovementActionStory.story_id == Story.id
                    )
                ).scalars()
            ),
            "actions": session.execute(select(func.count(ImprovementAction.id))).scalar_one(),
        }


def labels_of(factory, reference: str) -> int:
    with factory() as session:
        return session.execute(
            select(func.count(StoryLabel.id)).join(Story).where(Story.reference == reference)
        ).scalar_one()


def audit_rows(factory, action: str) -> list[AuditLog]:
    with factory() as session:
        return list(
            session.execute(select(AuditLog).where(AuditLog.action == action)).scalars().all()
        )


def queued_references(outbox: Outbox) -> set[str]:
    """References of the stories still in the outbox."""
    import json

    if not outbox.path.exists():
        return set()
    lines = outbox.path.read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["story"]["reference"] for line in lines if line.strip()}


# --- checks shared by the SQLite (unit) and PostgreSQL (integration) tests ----------------------


@dataclass
class Backend:
    """Where the scenario lives: both databases (URLs), the story store's factory, the outbox."""

    tracker_url: str
    feedback_url: str
    feedback: Engine
    factory: object
    outbox: Outbox

    def tracker(self) -> Engine:
        return tracker_engine_of(self.tracker_url)


def core(deleted: dict[str, int]) -> dict[str, int]:
    """Counts of the tracker, story and outbox tables; the registered tables hold no row here."""
    from feedback_store.privacy_ops import SENDER_TABLES

    registered = {handler.name for handler in SENDER_TABLES}
    assert all(deleted[name] == 0 for name in registered), deleted
    return {name: count for name, count in deleted.items() if name not in registered}


def _details_text(row: AuditLog) -> str:
    import json

    return json.dumps([row.target, row.details], ensure_ascii=False)


def check_purge(backend: Backend) -> None:
    """Dry run counts without deleting; the purge removes exactly the old rows, audited once."""
    from feedback_store.privacy_ops import purge

    world = build(backend.tracker_url, backend.factory, backend.outbox)
    tracker = backend.tracker()
    before_events, before_stories = event_counts(tracker), story_state(backend.factory)
    expected = {
        "events": world.events["usager-ancien"],
        "stories": 2,  # A and G
        "story_labels": labels_of(backend.factory, world.references["A"]),
        "story_notes": 1,
        "improvement_action_stories": 1,
        "outbox": 1,  # F
    }
    assert expected["story_labels"] == 5  # 3 model labels, the usager's topic and its tag

    dry = purge(
        backend.feedback,
        tracker,
        backend.outbox,
        older_than_days=365,
        dry_run=True,
        now=world.now,
    )
    assert core(dry.deleted) == expected and dry.conversations == 1 and dry.dry_run
    assert event_counts(tracker) == before_events
    assert story_state(backend.factory) == before_stories
    assert queued_references(backend.outbox) == {world.references[k] for k in "DEF"}
    assert audit_rows(backend.factory, "privacy.purge") == []

    progress: list[str] = []
    report = purge(
        backend.feedback,
        tracker,
        backend.outbox,
        older_than_days=365,
        actor="cli:test",
        now=world.now,
        progress=progress.append,
        batch_size=1,
    )
    assert core(report.deleted) == expected and report.conversations == 1
    assert event_counts(tracker) == {
        sender: world.events[sender] for sender in SENDERS if sender != "usager-ancien"
    }  # usager-revenu's conversation, 400 days old but resumed yesterday, is kept whole
    assert story_state(backend.factory) == {
        "stories": {world.references["B"], world.references["H"]},
        "story_labels": labels_of(backend.factory, world.references["B"]),
        "story_notes": {"Dossier transmis."},
        "links": {world.references["B"]},
        "actions": 1,  # the improvement action stays, linked to the recent story only
    }
    assert queued_references(backend.outbox) == {world.references["D"], world.references["E"]}
    assert "events : 1/1 conversations" in progress
    assert "stories : 1/2" in progress and "stories : 2/2" in progress

    (row,) = audit_rows(backend.factory, "privacy.purge")
    assert (row.actor, row.target_type) == ("cli:test", "retention")
    assert core(row.details["deleted"]) == expected and row.details["older_than_days"] == 365
    text = _details_text(row)
    for secret in (*SENDERS, *world.references.values(), PLANTED_NAME):
        assert secret not in text
    tracker.dispose()


def check_erase_conversation(backend: Backend) -> None:
    """Erasing a conversation removes its events, its story and the story's rows; nothing else."""
    import pytest

    from feedback_store.privacy_ops import NothingToEraseError, erase

    world = build(backend.tracker_url, backend.factory, backend.outbox)
    tracker = backend.tracker()
    reference = world.references["B"]
    labels = labels_of(backend.factory, reference)
    report = erase(backend.feedback, tracker, backend.outbox, conversation_id="usager-recent")
    assert report.references == [reference] and report.conversations == 1
    assert core(report.deleted) == {
        "events": world.events["usager-recent"],
        "stories": 1,
        "story_labels": labels,
        "story_notes": 1,
        "improvement_action_stories": 1,
        "outbox": 0,
    }
    assert event_counts(tracker) == {
        sender: world.events[sender] for sender in SENDERS if sender != "usager-recent"
    }
    state = story_state(backend.factory)
    assert state["stories"] == {world.references[k] for k in "AGH"}
    assert state["story_notes"] == {"Rappel fait."}
    assert state["links"] == {world.references["A"]} and state["actions"] == 1
    assert queued_references(backend.outbox) == {world.references[k] for k in "DEF"}

    (row,) = audit_rows(backend.factory, "privacy.erase")
    assert (row.target_type, row.target) == ("conversation", None)
    assert row.details["references"] == [reference]
    assert "usager-recent" not in _details_text(row)

    with pytest.raises(NothingToEraseError, match="usager-recent"):
        erase(backend.feedback, tracker, backend.outbox, conversation_id="usager-recent")
    assert len(audit_rows(backend.factory, "privacy.erase")) == 1
    tracker.dispose()


def check_erase_by_reference(backend: Backend) -> None:
    """A story reference leads to its conversation; a queued story is found by submission id."""
    from feedback_store.privacy_ops import erase

    world = build(backend.tracker_url, backend.factory, backend.outbox)
    tracker = backend.tracker()
    report = erase(
        backend.feedback, tracker, backend.outbox, story_reference=world.references["A"].lower()
    )
    assert report.references == [world.references["A"]]
    assert report.deleted["events"] == world.events["usager-ancien"]
    assert report.deleted["stories"] == 1 and report.deleted["improvement_action_stories"] == 1
    assert "usager-ancien" not in event_counts(tracker)
    assert story_state(backend.factory)["stories"] == {world.references[k] for k in "BGH"}
    (row,) = audit_rows(backend.factory, "privacy.erase")
    assert (row.target_type, row.target) == ("story", world.references["A"])

    # D waits in the outbox; the tracker store scrubbed its ten-digit provisional reference.
    with tracker.connect() as connection:
        slots = connection.execute(
            select(EVENTS.c.data).where(
                EVENTS.c.sender_id == "usager-attente", EVENTS.c.action_name == "story_reference"
            )
        ).scalars()
        assert all(world.references["D"] not in data for data in slots)
    report = erase(backend.feedback, tracker, backend.outbox, story_reference=world.references["D"])
    assert report.deleted["outbox"] == 1 and report.deleted["stories"] == 0
    assert report.deleted["events"] == world.events["usager-attente"]
    assert queued_references(backend.outbox) == {world.references["E"], world.references["F"]}

    # E: a queued story without a conversation left in the tracker.
    report = erase(backend.feedback, tracker, backend.outbox, story_reference=world.references["E"])
    assert report.deleted["outbox"] == 1 and report.deleted["events"] == 0
    assert event_counts(tracker) == {
        sender: world.events[sender] for sender in ("usager-recent", "usager-revenu")
    }
    tracker.dispose()


def check_erase_flushed_story(backend: Backend) -> None:
    """Once the outbox is flushed, the stored story is found through its submission id."""
    from feedback_store.privacy_ops import erase

    world = build(backend.tracker_url, backend.factory, backend.outbox)
    assert backend.outbox.flush(backend.factory).submitted == 3
    tracker = backend.tracker()
    report = erase(backend.feedback, tracker, backend.outbox, conversation_id="usager-attente")
    assert report.references == [world.references["D"]]
    assert report.deleted["stories"] == 1 and report.deleted["story_labels"] == 3
    assert report.deleted["events"] == world.events["usager-attente"]
    assert story_state(backend.factory)["stories"] == {world.references[k] for k in "ABEFGH"}
    tracker.dispose()


def check_registered_table(backend: Backend, monkeypatch) -> None:
    """A table registered in SENDER_TABLES is purged by time and erased by (hashed) sender."""
    import hashlib

    from sqlalchemy import Column, Integer, MetaData, String, Table

    from feedback_store import privacy_ops
    from feedback_store.sqltypes import UtcDateTime

    def digest(sender: str) -> str:
        return hashlib.sha256(sender.encode()).hexdigest()

    table = Table(
        "test_conversation_marks",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("sender_hash", String(64), nullable=False),
        Column("at", UtcDateTime(), nullable=False),
    )
    table.create(backend.feedback)
    monkeypatch.setattr(
        privacy_ops,
        "SENDER_TABLES",
        [privacy_ops.SenderTable("test_conversation_marks", "at", "sender_hash", digest)],
    )
    world = build(backend.tracker_url, backend.factory, backend.outbox)
    with backend.feedback.begin() as connection:
        connection.execute(
            table.insert(),
            [
                {"sender_hash": digest("usager-ancien"), "at": world.now - 400 * DAY},
                {"sender_hash": digest("usager-recent"), "at": world.now - 2 * DAY},
                {"sender_hash": digest("usager-revenu"), "at": world.now - DAY},
            ],
        )
    tracker = backend.tracker()
    report = privacy_ops.purge(
        backend.feedback, tracker, backend.outbox, older_than_days=365, now=world.now
    )
    assert report.deleted["test_conversation_marks"] == 1
    report = privacy_ops.erase(
        backend.feedback, tracker, backend.outbox, conversation_id="usager-recent"
    )
    assert report.deleted["test_conversation_marks"] == 1
    with backend.feedback.connect() as connection:
        left = set(connection.execute(select(table.c.sender_hash)).scalars())
    assert left == {digest("usager-revenu")}
    tracker.dispose()


def check_cli(backend: Backend, capsys, monkeypatch) -> None:
    """The CLI: dry run, purge (RETENTION_DAYS), erase, and the refusal when nothing matches."""
    import re

    from feedback_store.cli import main

    world = build(backend.tracker_url, backend.factory, backend.outbox)
    monkeypatch.setenv("RETENTION_DAYS", "365")
    where = [
        "--tracker-db-url",
        backend.tracker_url,
        "--feedback-db-url",
        backend.feedback_url,
        "--outbox",
        str(backend.outbox.path),
    ]
    old_events = world.events["usager-ancien"]

    assert main(["purge", "--dry-run", *where]) == 0
    out = capsys.readouterr().out
    assert "conservation 365 jours — simulation" in out and "À supprimer" in out
    assert re.search(rf"events\s+{old_events}\s+\(1 conversation\(s\)\)", out), out
    assert re.search(r"stories\s+2\n", out) and re.search(r"outbox\s+1\n", out), out
    assert "audit" not in out
    assert story_state(backend.factory)["stories"] == {world.references[k] for k in "ABGH"}

    assert main(["purge", *where]) == 0
    out = capsys.readouterr().out
    assert "Supprimé (antérieur au" in out and "… events : 1/1 conversations" in out
    assert re.search(r"story_notes\s+1\n", out) and "ligne d'audit" in out
    assert story_state(backend.factory)["stories"] == {world.references[k] for k in "BH"}

    reference = world.references["B"]
    assert main(["erase", "--story", reference, *where]) == 0
    out = capsys.readouterr().out
    assert f"histoires : {reference}" in out
    assert re.search(rf"events\s+{world.events['usager-recent']}\s+\(1 conversation", out), out

    assert main(["erase", "--story", reference, *where]) == 1
    err = capsys.readouterr().err
    assert f"Aucune histoire ni conversation ne correspond à la référence {reference}." in err
    assert main(["erase", "--conversation", "personne", *where]) == 1
    assert "Aucune donnée ne correspond à la conversation « personne »." in capsys.readouterr().err
    assert main(["erase", "--story", "EXP-12", *where]) == 1
    assert "n'est pas une référence d'histoire" in capsys.readouterr().err
    assert len(audit_rows(backend.factory, "privacy.purge")) == 1
    assert len(audit_rows(backend.factory, "privacy.erase")) == 1


def analytics_messages(sender: str, moment: float) -> list[dict]:
    """Broker messages of one misunderstanding: a usager message, then ``utter_ask_rephrase``."""
    from rasa.shared.core.events import ActionExecuted, UserUttered

    intent = {"name": "nlu_fallback", "confidence": 0.45}
    parse = {
        "text": "xqzt vbnm plok",
        "intent": intent,
        "entities": [],
        "intent_ranking": [intent, {"name": "find_service", "confidence": 0.31}],
    }
    events = (
        UserUttered(parse["text"], intent, [], parse, timestamp=moment),
        ActionExecuted("utter_ask_rephrase", policy="RulePolicy", timestamp=moment + 1),
    )
    return [{"sender_id": sender, **event.as_dict()} for event in events]


def analytics_rows(backend: Backend) -> tuple[set[tuple], set[tuple]]:
    """(sender hash, time, kind) of the analytics events; (sender hash, time) of the states."""
    from feedback_store.models import AnalyticsConversation, AnalyticsEvent

    with backend.factory() as session:
        events = session.execute(
            select(AnalyticsEvent.sender_hash, AnalyticsEvent.at, AnalyticsEvent.kind)
        ).all()
        states = session.execute(
            select(AnalyticsConversation.sender_hash, AnalyticsConversation.updated_at)
        ).all()
    return {tuple(row) for row in events}, {tuple(row) for row in states}


def check_analytics_tables(backend: Backend, capsys) -> None:
    """Analytics rows recorded from Rasa events are erased by conversation and purged by age.

    ``usager-ancien`` was misunderstood 400 days ago, ``usager-recent`` 2 days ago,
    ``usager-revenu`` 400 days and 1 day ago (one row each time, the bot's ``utter_ask_rephrase``).
    """
    import re

    from feedback_store.analytics import record_events
    from feedback_store.analytics_events import hash_sender
    from feedback_store.cli import main
    from feedback_store.scrubbing import Scrubber

    now = datetime.now(timezone.utc)
    moments = {
        "usager-ancien": [(now - 400 * DAY).timestamp()],
        "usager-recent": [(now - 2 * DAY).timestamp()],
        "usager-revenu": [(now - 400 * DAY).timestamp(), (now - DAY).timestamp()],
    }
    messages = [
        message
        for sender, times in moments.items()
        for moment in times
        for message in analytics_messages(sender, moment)
    ]
    rules = Scrubber(None)
    with backend.factory.begin() as session:
        result = record_events(session, messages, scrub_text=lambda text: rules.scrub(text).text)
    assert (result.events, result.rows, result.skipped) == (8, 4, 0)

    def at(moment: float) -> datetime:
        return datetime.fromtimestamp(moment, timezone.utc)

    def event_row(sender: str, index: int) -> tuple:  # the reaction comes a second after
        return (hash_sender(sender), at(moments[sender][index] + 1), "not_understood")

    def state_row(sender: str) -> tuple:  # last usager message of the conversation
        return (hash_sender(sender), at(moments[sender][-1]))

    assert analytics_rows(backend) == (
        {
            event_row(sender, index)
            for sender, times in moments.items()
            for index in range(len(times))
        },
        {state_row(sender) for sender in moments},
    )
    where = [
        "--tracker-db-url",
        backend.tracker_url,
        "--feedback-db-url",
        backend.feedback_url,
        "--outbox",
        str(backend.outbox.path),
    ]

    assert main(["erase", "--conversation", "usager-recent", *where]) == 0
    out = capsys.readouterr().out
    assert re.search(r"analytics_events\s+1\n", out), out
    assert re.search(r"analytics_conversations\s+1\n", out), out
    assert analytics_rows(backend) == (
        {
            event_row("usager-ancien", 0),
            event_row("usager-revenu", 0),
            event_row("usager-revenu", 1),
        },
        {state_row("usager-ancien"), state_row("usager-revenu")},
    )
    (row,) = audit_rows(backend.factory, "privacy.erase")
    assert "usager-recent" not in _details_text(row)
    assert hash_sender("usager-recent") not in _details_text(row)

    assert main(["purge", "--older-than-days", "365", *where]) == 0
    out = capsys.readouterr().out
    assert re.search(r"analytics_events\s+2\n", out), out
    assert re.search(r"analytics_conversations\s+1\n", out), out
    assert analytics_rows(backend) == (
        {event_row("usager-revenu", 1)},  # its older row went, the conversation's state stays
        {state_row("usager-revenu")},
    )
