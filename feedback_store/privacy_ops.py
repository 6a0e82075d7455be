"""Privacy operations: purge what outlived the retention period, erase one usager's data.

Where a usager's data lives, and how it is found here:

* the tracker database (``TRACKER_DB_URL``): Rasa's ``events`` table, every event of a
  conversation under its ``sender_id`` (the conversation id);
* the story database (``FEEDBACK_DB_URL``): ``stories`` and the rows hanging off a story
  (:data:`STORY_CHILD_TABLES`), plus the tables registered in :data:`SENDER_TABLES` (rows keyed
  by the conversation id or a hash of it, with a time column);
* the outbox file (``STORY_OUTBOX_PATH``): stories queued while the database was down.

A story is linked to its conversation twice: by the ``story_reference`` slot the tracker keeps
after a submission, and by its submission id, ``uuid5(SUBMISSION_NAMESPACE, "<sender>|<form start
timestamp>")`` (``bot/actions/story.py``), recomputed here from every event timestamp of the
conversation. The second link also finds stories queued in the outbox, whose provisional
reference (ten digits) the tracker store scrubs.

Purge: conversations whose *last* event is older than the cutoff are deleted whole (one still
going on keeps all its events); stories created before the cutoff with their labels, notes and
links to improvement actions (the actions themselves stay); rows of :data:`SENDER_TABLES` older
than the cutoff; outbox lines queued before it. Work goes by batches, one transaction each.

Erasure (by conversation id or story reference): every event of the conversation, the stories
submitted in it with their rows, its rows in :data:`SENDER_TABLES`, its outbox lines. The story
database and the outbox are cleaned first and the tracker last, so an interrupted erasure can be
run again (the tracker holds the links).

Audit: one ``audit_log`` row per run (``privacy.purge`` or ``privacy.erase``) with the counts per
table, the cutoff, and for an erasure the references of the stories erased (as
:func:`feedback_store.stories.delete_story` does); never a conversation id nor any text.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from feedback_store import audit
from feedback_store.models import ImprovementActionStory, Story, StoryLabel, StoryNote
from feedback_store.outbox import Outbox
from feedback_store.sqltypes import UtcDateTime
from feedback_store.stories import REFERENCE_RE

__all__ = [
    "SENDER_TABLES",
    "STORY_CHILD_TABLES",
    "SUBMISSION_NAMESPACE",
    "NothingToEraseError",
    "PrivacyReport",
    "SenderTable",
    "erase",
    "normalised_reference",
    "purge",
    "submission_id",
]

SUBMISSION_NAMESPACE = uuid.UUID("5b0f3c4e-7a51-4d8e-9a39-2f1f0c6d8e21")
"""Namespace of story submission ids: the constant of ``bot/actions/story.py`` (a test checks)."""

STORY_FORM = "story_form"
REFERENCE_SLOT = "story_reference"
BATCH_SIZE = 500

Progress = Callable[[str], None]

EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
"""Rasa 3.6's ``SQLTrackerStore`` table (``action_name`` holds the slot or loop name too)."""

STORY_CHILD_TABLES: tuple[Table, ...] = (
    StoryLabel.__table__,
    StoryNote.__table__,
    ImprovementActionStory.__table__,
)
"""Tables whose rows belong to one story (``story_id``), deleted with it (a test checks that
every foreign key to ``stories`` is listed)."""


def _same(sender_id: str) -> str:
    return sender_id


@dataclass(frozen=True)
class SenderTable:
    """A story-database table holding rows of one conversation, purged and erased with it.

    Attributes:
        name: Table name.
        time_column: Time of the row (a :class:`~feedback_store.sqltypes.UtcDateTime`), compared
            with the retention cutoff.
        sender_column: Column identifying the conversation.
        sender_key: Turns a conversation id into the value stored in ``sender_column``
            (identity, or the hash the table uses).

    """

    name: str
    time_column: str
    sender_column: str
    sender_key: Callable[[str], str] = _same

    def table(self) -> Table:
        """Core table with the two columns used here."""
        return Table(
            self.name,
            MetaData(),
            Column(self.time_column, UtcDateTime()),
            Column(self.sender_column, String(255)),
        )


def _analytics_sender(sender_id: str) -> str:
    from feedback_store.analytics_events import hash_sender

    return hash_sender(sender_id)


SENDER_TABLES: list[SenderTable] = [
    SenderTable("analytics_events", "at", "sender_hash", _analytics_sender),
    SenderTable("analytics_conversations", "updated_at", "sender_hash", _analytics_sender),
]
"""Further tables holding a usager's conversation data (the conversation analytics of
``feedback_store/analytics.py``, keyed by the hashed conversation id); register new ones here."""


class NothingToEraseError(LookupError):
    """No row, story or outbox line matches the erasure request."""


@dataclass
class PrivacyReport:
    """What a purge or an erasure removed (or would remove, in a dry run).

    Attributes:
        deleted: Rows removed per table, in display order (``outbox``: queued lines).
        conversations: Conversations whose events were removed.
        references: References of the stories removed (erasure only).
        cutoff: Retention cutoff (purge only).
        dry_run: Nothing was removed; counts are what would be.

    """

    deleted: dict[str, int] = field(default_factory=dict)
    conversations: int = 0
    references: list[str] = field(default_factory=list)
    cutoff: datetime | None = None
    dry_run: bool = False

    @property
    def total(self) -> int:
        """Rows and lines removed, all tables together."""
        return sum(self.deleted.values())

    def add(self, table: str, count: int) -> None:
        """Count ``count`` more rows for ``table``."""
        self.deleted[table] = self.deleted.get(table, 0) + count


def submission_id(sender_id: str, started_at: float | None) -> str:
    """Submission id of a story whose form started at ``started_at`` (as ``bot.actions.story``)."""
    return str(uuid.uuid5(SUBMISSION_NAMESPACE, f"{sender_id}|{started_at!r}"))


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _quiet(_: str) -> None:
    return None


def _empty_report(tracker: bool, *, dry_run: bool, cutoff: datetime | None = None) -> PrivacyReport:
    report = PrivacyReport(cutoff=cutoff, dry_run=dry_run)
    names = ["events"] if tracker else []
    names += ["stories", *(table.name for table in STORY_CHILD_TABLES)]
    names += [handler.name for handler in SENDER_TABLES]
    report.deleted = dict.fromkeys([*names, "outbox"], 0)
    return report


def has_tracker_table(engine: Engine) -> bool:
    """Whether the tracker database has Rasa's ``events`` table (Rasa ran at least once)."""
    return inspect(engine).has_table(EVENTS.name)


# --- stories ------------------------------------------------------------------------------------


def _remove_stories(
    connection: Connection, story_ids: Sequence[int], report: PrivacyReport
) -> None:
    """Delete (or count, dry run) stories and their child rows."""
    stories = Story.__table__
    for table in STORY_CHILD_TABLES:
        condition = table.c.story_id.in_(story_ids)
        if report.dry_run:
            count = connection.execute(select(func.count()).where(condition)).scalar_one()
        else:
            count = connection.execute(delete(table).where(condition)).rowcount
        report.add(table.name, count)
    if report.dry_run:
        report.add("stories", len(story_ids))
    else:
        report.add(
            "stories",
            connection.execute(delete(stories).where(stories.c.id.in_(story_ids))).rowcount,
        )


def _purge_stories(
    feedback: Engine, cutoff: datetime, report: PrivacyReport, say: Progress, batch_size: int
) -> None:
    stories = Story.__table__
    with feedback.connect() as connection:
        ids = list(
            connection.execute(
                select(stories.c.id).where(stories.c.created_at < cutoff).order_by(stories.c.id)
            ).scalars()
        )
    done = 0
    for chunk in _chunks(ids, batch_size):
        with feedback.begin() as connection:
            _remove_stories(connection, chunk, report)
        done += len(chunk)
        say(f"stories : {done}/{len(ids)}")


def _purge_sender_tables(feedback: Engine, cutoff: datetime, report: PrivacyReport) -> None:
    for handler in SENDER_TABLES:
        table = handler.table()
        condition = table.c[handler.time_column] < cutoff
        with feedback.begin() as connection:
            if report.dry_run:
                count = connection.execute(select(func.count()).where(condition)).scalar_one()
            else:
                count = connection.execute(delete(table).where(condition)).rowcount
        report.add(handler.name, count)


# --- tracker ------------------------------------------------------------------------------------


def _purge_tracker(
    tracker: Engine, cutoff: datetime, report: PrivacyReport, say: Progress, batch_size: int
) -> None:
    """Delete the conversations whose last event is older than ``cutoff``, batch by batch."""
    if not has_tracker_table(tracker):
        say("events : pas de table de suivi des conversations (Rasa n'a jamais écrit ici)")
        return
    limit = cutoff.timestamp()
    t = EVENTS
    with tracker.connect() as connection:
        senders = list(
            connection.execute(
                select(t.c.sender_id)
                .group_by(t.c.sender_id)
                .having(func.max(t.c.timestamp) < limit)
                .order_by(t.c.sender_id)
            ).scalars()
        )
    done = 0
    for chunk in _chunks(senders, batch_size):
        with tracker.begin() as connection:
            # A conversation resumed since the listing is kept whole.
            resumed = set(
                connection.execute(
                    select(t.c.sender_id)
                    .where(t.c.sender_id.in_(chunk), t.c.timestamp >= limit)
                    .distinct()
                ).scalars()
            )
            gone = [sender for sender in chunk if sender not in resumed]
            if gone:
                condition = t.c.sender_id.in_(gone)
                if report.dry_run:
                    count = connection.execute(select(func.count()).where(condition)).scalar_one()
                else:
                    count = connection.execute(delete(t).where(condition)).rowcount
                report.add("events", count)
        report.conversations += len(gone)
        done += len(chunk)
        say(f"events : {done}/{len(senders)} conversations")


def _conversation_links(connection: Connection, sender_id: str) -> tuple[set[str], set[str]]:
    """References and candidate submission ids of the stories told in one conversation."""
    references: set[str] = set()
    submissions = {submission_id(sender_id, None)}
    rows = connection.execute(
        select(EVENTS.c.type_name, EVENTS.c.data).where(EVENTS.c.sender_id == sender_id)
    )
    for type_name, data in rows:
        try:
            event = json.loads(data or "{}")
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        timestamp = event.get("timestamp")
        if isinstance(timestamp, int | float):
            submissions.add(submission_id(sender_id, timestamp))
        value = event.get("value")
        if (
            type_name == "slot"
            and event.get("name") == REFERENCE_SLOT
            and isinstance(value, str)
            and REFERENCE_RE.fullmatch(value)
        ):
            references.add(value)
    return references, submissions


def _senders_of_story(
    connection: Connection, reference: str, submissions: Iterable[str]
) -> set[str]:
    """Conversations in which the story was told: by its reference slot, else its submission id."""
    t = EVENTS
    senders: set[str] = set()
    rows = connection.execute(
        select(t.c.sender_id, t.c.data).where(
            t.c.type_name == "slot",
            t.c.action_name == REFERENCE_SLOT,
            t.c.data.contains(reference, autoescape=True),
        )
    )
    for sender_id, data in rows:
        try:
            if json.loads(data).get("value") == reference:
                senders.add(sender_id)
        except (ValueError, AttributeError):
            continue
    wanted = set(submissions)
    if senders or not wanted:
        return senders
    rows = connection.execute(
        select(t.c.sender_id, t.c.timestamp).where(
            t.c.type_name == "active_loop", t.c.action_name == STORY_FORM
        )
    )
    return {sender for sender, started in rows if submission_id(sender, started) in wanted}


# --- public API ---------------------------------------------------------------------------------


def _queued_before(cutoff: datetime) -> Callable[[dict[str, Any]], bool]:
    def matches(entry: dict[str, Any]) -> bool:
        queued = datetime.fromisoformat(entry["queued_at"])
        if queued.tzinfo is None:
            queued = queued.replace(tzinfo=timezone.utc)
        return queued < cutoff

    return matches


def purge(
    feedback: Engine,
    tracker: Engine | None,
    outbox: Outbox | None,
    *,
    older_than_days: int,
    actor: str = "system",
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> PrivacyReport:
    """Delete conversations, stories and queued stories older than the retention period.

    Args:
        feedback: Engine of the story database (migrated).
        tracker: Engine of the tracker database, or None when there is none yet.
        outbox: The story outbox, or None.
        older_than_days: Retention period; what ended before ``now`` minus that many days goes.
        actor: Who runs the purge, for the audit log.
        dry_run: Count only; nothing is deleted and no audit row is written.
        now: Reference time (default: now, UTC).
        progress: Called with a short French line after every batch.
        batch_size: Conversations or stories per transaction.

    Returns:
        Rows removed per table.

    Raises:
        ValueError: If ``older_than_days`` is not a positive number of days.

    """
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int):
        raise ValueError("La durée de conservation doit être un nombre entier de jours.")
    if older_than_days < 1:
        raise ValueError("La durée de conservation doit être d'au moins un jour.")
    say = progress or _quiet
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    try:
        cutoff = moment - timedelta(days=older_than_days)
    except OverflowError:
        raise ValueError("La durée de conservation est trop longue.") from None
    report = _empty_report(tracker is not None, dry_run=dry_run, cutoff=cutoff)
    if tracker is not None:
        _purge_tracker(tracker, cutoff, report, say, batch_size)
    _purge_stories(feedback, cutoff, report, say, batch_size)
    _purge_sender_tables(feedback, cutoff, report)
    if outbox is not None:
        report.add("outbox", outbox.discard(_queued_before(cutoff), dry_run=dry_run))
    if not dry_run:
        with Session(feedback) as session, session.begin():
            audit.record(
                session,
                actor=actor,
                action="privacy.purge",
                target_type="retention",
                target=cutoff.date().isoformat(),
                details={
                    "older_than_days": older_than_days,
                    "cutoff": cutoff.isoformat(timespec="seconds"),
                    "conversations": report.conversations,
                    "deleted": dict(report.deleted),
                },
            )
    return report


def _outbox_story(entry: dict[str, Any]) -> dict[str, Any]:
    story = entry.get("story")
    return story if isinstance(story, dict) else {}


@dataclass
class _Target:
    """What an erasure request leads to (conversations, stories) before anything is deleted."""

    senders: set[str] = field(default_factory=set)
    references: set[str] = field(default_factory=set)
    submissions: set[str] = field(default_factory=set)
    conversations: int = 0
    events: int = 0

    def outbox_matches(self, entry: dict[str, Any]) -> bool:
        story = _outbox_story(entry)
        return (
            story.get("reference") in self.references
            or story.get("submission_id") in self.submissions
        )

    def sender_keys(self, handler: SenderTable) -> list[str]:
        return sorted({handler.sender_key(sender) for sender in self.senders})


def normalised_reference(story_reference: str) -> str:
    """Upper-case, stripped story reference.

    Raises:
        ValueError: If it is not ``EXP-<year>-<number>``.

    """
    reference = story_reference.strip().upper()
    if not REFERENCE_RE.fullmatch(reference):
        raise ValueError(
            f"« {story_reference} » n'est pas une référence d'histoire (EXP-AAAA-NNNNNN)."
        )
    return reference


def _story_submissions(feedback: Engine, outbox: Outbox | None, reference: str) -> set[str]:
    """Submission ids of the story with this reference, stored or queued."""
    stories = Story.__table__
    with feedback.connect() as connection:
        found = set(
            connection.execute(
                select(stories.c.submission_id).where(stories.c.reference == reference)
            ).scalars()
        )
    if outbox is not None:

        def collect(entry: dict[str, Any]) -> bool:  # reads the queue, removes nothing
            story = _outbox_story(entry)
            if story.get("reference") == reference and story.get("submission_id"):
                found.add(str(story["submission_id"]))
            return False

        outbox.discard(collect, dry_run=True)
    return found


def _resolve(
    feedback: Engine,
    tracker: Engine | None,
    outbox: Outbox | None,
    conversation_id: str | None,
    reference: str | None,
) -> _Target:
    target = _Target()
    if reference is not None:
        target.references.add(reference)
        target.submissions |= _story_submissions(feedback, outbox, reference)
    else:
        target.senders.add(conversation_id or "")
    if tracker is None:
        return target
    with tracker.connect() as connection:
        if reference is not None:
            target.senders |= _senders_of_story(connection, reference, target.submissions)
        for sender in target.senders:
            references, submissions = _conversation_links(connection, sender)
            target.references |= references
            target.submissions |= submissions
        if target.senders:
            condition = EVENTS.c.sender_id.in_(sorted(target.senders))
            target.events, target.conversations = connection.execute(
                select(func.count(), func.count(EVENTS.c.sender_id.distinct())).where(condition)
            ).one()
    return target


def _target_stories(connection: Connection, target: _Target) -> dict[int, str]:
    """Id and reference of the stories the erasure covers."""
    stories = Story.__table__
    found: dict[int, str] = {}
    conditions = [
        stories.c.reference.in_(chunk) for chunk in _chunks(sorted(target.references), BATCH_SIZE)
    ]
    conditions += [
        stories.c.submission_id.in_(chunk)
        for chunk in _chunks(sorted(target.submissions), BATCH_SIZE)
    ]
    for condition in conditions:
        rows = connection.execute(select(stories.c.id, stories.c.reference).where(condition))
        found.update((row.id, row.reference) for row in rows)
    return found


def erase(
    feedback: Engine,
    tracker: Engine | None,
    outbox: Outbox | None,
    *,
    conversation_id: str | None = None,
    story_reference: str | None = None,
    actor: str = "system",
) -> PrivacyReport:
    """Erase every row of one usager: by conversation id, or by the reference of a story.

    A story reference leads to the conversation the story was told in (when the tracker still
    has it), whose every event and story are erased too.

    Args:
        feedback: Engine of the story database (migrated).
        tracker: Engine of the tracker database, or None when there is none yet.
        outbox: The story outbox, or None.
        conversation_id: Rasa sender id of the conversation.
        story_reference: Reference ``EXP-<year>-<number>`` given to the usager.
        actor: Who asked, for the audit log.

    Returns:
        Rows removed per table and the references of the stories erased.

    Raises:
        ValueError: If not exactly one of ``conversation_id`` and ``story_reference`` is given,
            or the reference is malformed.
        NothingToEraseError: If nothing at all matches (nothing is changed, nothing audited).

    """
    if (conversation_id is None) == (story_reference is None):
        raise ValueError("Donnez soit un identifiant de conversation, soit une référence.")
    reference = normalised_reference(story_reference) if story_reference is not None else None
    if reference is None and not (conversation_id or "").strip():
        raise ValueError("L'identifiant de conversation est vide.")
    conversation_id = conversation_id.strip() if conversation_id is not None else None
    if tracker is not None and not has_tracker_table(tracker):
        tracker = None
    target = _resolve(feedback, tracker, outbox, conversation_id, reference)

    with feedback.connect() as connection:
        story_ids = _target_stories(connection, target)
        sender_rows = sum(
            connection.execute(
                select(func.count()).where(
                    handler.table().c[handler.sender_column].in_(target.sender_keys(handler))
                )
            ).scalar_one()
            for handler in SENDER_TABLES
        )
    queued = outbox.discard(target.outbox_matches, dry_run=True) if outbox is not None else 0
    if not (target.events or story_ids or sender_rows or queued):
        if reference is not None:
            raise NothingToEraseError(
                f"Aucune histoire ni conversation ne correspond à la référence {reference}."
            )
        raise NothingToEraseError(
            f"Aucune donnée ne correspond à la conversation « {conversation_id} »."
        )

    report = _empty_report(tracker is not None, dry_run=False)
    with feedback.begin() as connection:
        if story_ids:
            _remove_stories(connection, sorted(story_ids), report)
        for handler in SENDER_TABLES:
            table = handler.table()
            column = table.c[handler.sender_column]
            deleted = connection.execute(
                delete(table).where(column.in_(target.sender_keys(handler)))
            )
            report.add(handler.name, deleted.rowcount)
    report.references = sorted(story_ids.values())
    if outbox is not None:
        report.add("outbox", outbox.discard(target.outbox_matches))
    if tracker is not None and target.senders:
        with tracker.begin() as connection:
            deleted = connection.execute(
                delete(EVENTS).where(EVENTS.c.sender_id.in_(sorted(target.senders)))
            )
        report.add("events", deleted.rowcount)
        report.conversations = target.conversations
    with Session(feedback) as session, session.begin():
        audit.record(
            session,
            actor=actor,
            action="privacy.erase",
            target_type="story" if reference is not None else "conversation",
            target=reference,
            details={
                "by": "story" if reference is not None else "conversation",
                "references": report.references,
                "conversations": report.conversations,
                "deleted": dict(report.deleted),
            },
        )
    return report
