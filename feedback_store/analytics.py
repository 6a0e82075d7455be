"""Conversation analytics store: record Rasa events, count fallbacks per flow, top questions.

Functions take the caller's session and never commit. :func:`record_events` is what the
analytics consumer (:mod:`feedback_store.analytics_consumer`) calls for each batch of broker
messages; :func:`fallbacks_by_flow` feeds ``GET /api/analytics/fallbacks``.

Per-conversation state (active form, last usager message, scrubbed) lives in the
``analytics_conversations`` table rather than in the consumer's memory, so that it survives a
consumer restart and a standby instance taking over the queue (see the consumer's docstring);
:func:`prune_conversations` drops the state of conversations idle for a day.
Writes are idempotent: an event delivered twice (RabbitMQ redelivers unacknowledged messages)
is stored once, through the unique ``event_key``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from feedback_store.analytics_events import (
    FLOW_LABELS,
    SENDER_MAX_CHARS,
    AnalyticsRow,
    ConversationState,
    hash_sender,
    interpret,
)
from feedback_store.models import ANALYTICS_KINDS, AnalyticsConversation, AnalyticsEvent

__all__ = [
    "NOT_UNDERSTOOD_KINDS",
    "FallbackOverview",
    "FlowCount",
    "QuestionCount",
    "RecordResult",
    "decode_message",
    "fallbacks_by_flow",
    "prune_conversations",
    "purge_events",
    "record_events",
]

NOT_UNDERSTOOD_KINDS: tuple[str, ...] = ("not_understood", "fallback_menu", "fallback")
"""Kinds whose question the bot did not understand (out_of_scope ones it understood)."""
DEFAULT_TOP = 20
MAX_TOP = 100
_CHUNK = 500  # bound parameters per IN (...) query


@dataclass(frozen=True)
class RecordResult:
    """What :func:`record_events` did with a batch."""

    events: int
    rows: int
    skipped: int


def decode_message(body: bytes) -> dict[str, Any] | None:
    """Parse one broker message body; None when it is not a Rasa event (malformed, no sender)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        return None
    sender = data.get("sender_id")
    if not isinstance(sender, str) or not sender or len(sender) > SENDER_MAX_CHARS:
        return None
    return data


def _default_scrub() -> Callable[[str], str]:
    from feedback_store.scrubbing import get_scrubber

    scrubber = get_scrubber()
    return lambda text: scrubber.scrub(text).text


def _dialect_insert(session: Session, table):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _load_states(session: Session, hashes: Sequence[str]) -> dict[str, ConversationState]:
    states: dict[str, ConversationState] = {}
    for start in range(0, len(hashes), _CHUNK):
        chunk = hashes[start : start + _CHUNK]
        rows = session.execute(
            select(AnalyticsConversation).where(AnalyticsConversation.sender_hash.in_(chunk))
        ).scalars()
        for row in rows:
            states[row.sender_hash] = ConversationState(
                sender_hash=row.sender_hash,
                active_loop=row.active_loop,
                last_text=row.last_text,
                last_intent=row.last_intent,
                last_confidence=row.last_confidence,
                updated_at=row.updated_at,
            )
    return states


def _save_states(session: Session, states: Iterable[ConversationState]) -> None:
    values = [
        {
            "sender_hash": s.sender_hash,
            "active_loop": s.active_loop,
            "last_text": s.last_text,
            "last_intent": s.last_intent,
            "last_confidence": s.last_confidence,
            "updated_at": s.updated_at,
        }
        for s in states
    ]
    if not values:
        return
    table = AnalyticsConversation.__table__
    statement = _dialect_insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.sender_hash],
        set_={
            name: statement.excluded[name]
            for name in ("active_loop", "last_text", "last_intent", "last_confidence", "updated_at")
        },
        where=table.c.updated_at <= statement.excluded.updated_at,  # never go back in time
    )
    session.execute(statement, values)


def _save_rows(session: Session, rows: Sequence[AnalyticsRow]) -> int:
    if not rows:
        return 0
    keys = [row.event_key for row in rows]
    known: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        known.update(
            session.execute(
                select(AnalyticsEvent.event_key).where(
                    AnalyticsEvent.event_key.in_(keys[start : start + _CHUNK])
                )
            ).scalars()
        )
    fresh = {row.event_key: row for row in rows if row.event_key not in known}
    if not fresh:
        return 0
    table = AnalyticsEvent.__table__
    statement = _dialect_insert(session, table).on_conflict_do_nothing(
        index_elements=[table.c.event_key]
    )
    session.execute(statement, [asdict(row) for row in fresh.values()])
    return len(fresh)


def record_events(
    session: Session,
    events: Iterable[Mapping[str, Any] | None],
    *,
    scrub_text: Callable[[str], str] | None = None,
    now: datetime | None = None,
) -> RecordResult:
    """Apply a batch of Rasa broker events, in order, and store the fallback rows they give.

    Args:
        session: The caller's session (not committed here).
        events: Decoded broker messages (see :func:`decode_message`); None or events without
            a usable ``sender_id`` are counted as skipped.
        scrub_text: Personal-data scrubber for texts (default: the process-wide scrubber).
        now: Time used for events without a usable timestamp.

    Returns:
        Counts of events applied, rows stored (duplicates excluded) and events skipped.

    """
    scrub = scrub_text or _default_scrub()
    batch: list[tuple[str, Mapping[str, Any]]] = []
    skipped = 0
    for event in events:
        sender = event.get("sender_id") if isinstance(event, Mapping) else None
        if not isinstance(sender, str) or not sender or len(sender) > SENDER_MAX_CHARS:
            skipped += 1
            continue
        batch.append((hash_sender(sender), event))
    hashes = list(dict.fromkeys(sender_hash for sender_hash, _ in batch))
    states = _load_states(session, hashes)
    changed: dict[str, ConversationState] = {}
    rows: list[AnalyticsRow] = []
    for sender_hash, event in batch:
        state = states.get(sender_hash) or ConversationState(sender_hash)
        new_state, row = interpret(event, state, scrub, now=now)
        if new_state is not state:
            states[sender_hash] = changed[sender_hash] = new_state
        if row is not None:
            rows.append(row)
    _save_states(session, changed.values())
    stored = _save_rows(session, rows)
    return RecordResult(events=len(batch), rows=stored, skipped=skipped)


def prune_conversations(session: Session, idle_before: datetime) -> int:
    """Forget the state of conversations without any event since ``idle_before``."""
    result = session.execute(
        delete(AnalyticsConversation).where(AnalyticsConversation.updated_at < idle_before)
    )
    return result.rowcount or 0


def purge_events(session: Session, before: datetime) -> int:
    """Delete analytics events older than ``before`` (data retention); return how many."""
    result = session.execute(delete(AnalyticsEvent).where(AnalyticsEvent.at < before))
    return result.rowcount or 0


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowCount:
    """Fallback counts of one flow."""

    flow: str
    label: str
    total: int
    conversations: int
    kinds: Mapping[str, int]


@dataclass(frozen=True)
class QuestionCount:
    """A question (scrubbed) asked ``count`` times, with the flows it was asked in."""

    question: str
    count: int
    last_seen: datetime
    flows: tuple[str, ...]


@dataclass(frozen=True)
class FallbackOverview:
    """Fallbacks of a period: per flow, overall, and the most frequent questions."""

    date_from: date | None
    date_to: date | None
    total: int
    conversations: int
    kinds: Mapping[str, int]
    flows: tuple[FlowCount, ...]
    top_not_understood: tuple[QuestionCount, ...] = field(default=())
    top_out_of_scope: tuple[QuestionCount, ...] = field(default=())


def _bounds(date_from: date | None, date_to: date | None) -> list[Any]:
    conditions = []
    if date_from is not None:
        start = datetime.combine(date_from, time.min, tzinfo=timezone.utc)
        conditions.append(AnalyticsEvent.at >= start)
    if date_to is not None and date_to < date.max:
        end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=timezone.utc)
        conditions.append(AnalyticsEvent.at < end)
    return conditions


def _top_questions(
    session: Session, conditions: list[Any], kinds: Sequence[str], top: int
) -> tuple[QuestionCount, ...]:
    where = [*conditions, AnalyticsEvent.kind.in_(kinds), AnalyticsEvent.question_key.isnot(None)]
    count = func.count().label("count")
    ranked = session.execute(
        select(
            AnalyticsEvent.question_key,
            count,
            func.max(AnalyticsEvent.at),
            func.min(AnalyticsEvent.question),
        )
        .where(*where)
        .group_by(AnalyticsEvent.question_key)
        .order_by(count.desc(), AnalyticsEvent.question_key)
        .limit(top)
    ).all()
    if not ranked:
        return ()
    keys = [key for key, *_ in ranked]
    flows: dict[str, list[str]] = defaultdict(list)
    for key, flow in session.execute(
        select(AnalyticsEvent.question_key, AnalyticsEvent.flow)
        .where(*where, AnalyticsEvent.question_key.in_(keys))
        .group_by(AnalyticsEvent.question_key, AnalyticsEvent.flow)
        .order_by(AnalyticsEvent.question_key, func.count().desc(), AnalyticsEvent.flow)
    ):
        flows[key].append(flow)
    return tuple(
        QuestionCount(
            question=question,
            count=number,
            last_seen=last.replace(tzinfo=timezone.utc) if last.tzinfo is None else last,
            flows=tuple(flows[key]),
        )
        for key, number, last, question in ranked
    )


def fallbacks_by_flow(
    session: Session,
    date_from: date | None = None,
    date_to: date | None = None,
    *,
    top: int = DEFAULT_TOP,
) -> FallbackOverview:
    """Count fallbacks per flow and kind in a period, with the most frequent questions.

    Args:
        session: The caller's session.
        date_from: First UTC day included (None: from the beginning).
        date_to: Last UTC day included (None: up to now).
        top: How many questions to list in each top list (1..100).

    Returns:
        The overview; flows sorted by total descending, then by name.

    """
    top = min(max(int(top), 1), MAX_TOP)
    conditions = _bounds(date_from, date_to)
    per_flow: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ANALYTICS_KINDS, 0))
    for flow, kind, number in session.execute(
        select(AnalyticsEvent.flow, AnalyticsEvent.kind, func.count())
        .where(*conditions)
        .group_by(AnalyticsEvent.flow, AnalyticsEvent.kind)
    ):
        per_flow[flow][kind] = number
    conversations = dict(
        session.execute(
            select(AnalyticsEvent.flow, func.count(func.distinct(AnalyticsEvent.sender_hash)))
            .where(*conditions)
            .group_by(AnalyticsEvent.flow)
        ).all()
    )
    flows = sorted(
        (
            FlowCount(
                flow=flow,
                label=FLOW_LABELS.get(flow, flow),
                total=sum(kinds.values()),
                conversations=conversations.get(flow, 0),
                kinds=kinds,
            )
            for flow, kinds in per_flow.items()
        ),
        key=lambda item: (-item.total, item.flow),
    )
    totals = dict.fromkeys(ANALYTICS_KINDS, 0)
    for item in flows:
        for kind, number in item.kinds.items():
            totals[kind] += number
    distinct = session.execute(
        select(func.count(func.distinct(AnalyticsEvent.sender_hash))).where(*conditions)
    ).scalar_one()
    return FallbackOverview(
        date_from=date_from,
        date_to=date_to,
        total=sum(totals.values()),
        conversations=distinct,
        kinds=totals,
        flows=tuple(flows),
        top_not_understood=_top_questions(session, conditions, NOT_UNDERSTOOD_KINDS, top),
        top_out_of_scope=_top_questions(session, conditions, ("out_of_scope",), top),
    )
