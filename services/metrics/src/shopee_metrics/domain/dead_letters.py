"""Dead letters read back from `events.dlq`: what each one was, which to send again, and a
summary of why records were refused (pure; the Kafka side is `adapters/dead_letters.py`)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

# The headers the stream job adds to a dead letter; every other header is the producer's own.
REASON = "dlq.reason"
ERRORS = "dlq.errors"
SOURCE_TOPIC = "dlq.source.topic"
SOURCE_PARTITION = "dlq.source.partition"
SOURCE_OFFSET = "dlq.source.offset"
OWN_PREFIX = "dlq."


def producer_headers(headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The headers the record's producer sent, without the ones a dead-lettering added."""
    return [(name, raw) for name, raw in headers if not name.startswith(OWN_PREFIX)]


@dataclass(frozen=True, slots=True)
class StoredDeadLetter:
    """One record of the DLQ: the producer's record as it was, and why it was refused."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]  # the producer's own, without the dlq.* ones
    reason: str
    errors: list[dict[str, str]]
    source_topic: str
    dead_lettered_at: datetime

    @property
    def shop(self) -> str:
        """The record's key: the shop id, by the topics' convention (may be anything)."""
        return (self.key or b"").decode("utf-8", "replace")


def stored_dead_letter(
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes]],
    dead_lettered_at: datetime,
) -> StoredDeadLetter:
    """A DLQ record as written by the job (a record without its headers reads as reason
    "unknown", from no topic: it was not written by the job)."""
    own = {
        name: raw.decode("utf-8", "replace") for name, raw in headers if name.startswith(OWN_PREFIX)
    }
    try:
        errors = json.loads(own.get(ERRORS, "[]"))
    except ValueError:
        errors = []
    return StoredDeadLetter(
        key=key,
        value=value or b"",
        headers=producer_headers(headers),
        reason=own.get(REASON, "unknown"),
        errors=errors if isinstance(errors, list) else [],
        source_topic=own.get(SOURCE_TOPIC, ""),
        dead_lettered_at=dead_lettered_at,
    )


@dataclass(frozen=True)
class Selection:
    """Which dead letters to act on: reasons by prefix ("invalid value" takes every field),
    shops by key, source topics by name without the prefix; empty = any."""

    reasons: tuple[str, ...] = ()
    shops: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()

    def takes(self, letter: StoredDeadLetter, topic_prefix: str = "") -> bool:
        topic = letter.source_topic.removeprefix(topic_prefix)
        return (
            (not self.reasons or letter.reason.startswith(self.reasons))
            and (not self.shops or letter.shop in self.shops)
            and (not self.topics or topic in self.topics)
        )


@dataclass
class ReasonCount:
    """How many records one reason refused on one source topic, when, and an example."""

    reason: str
    source_topic: str
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    example: str = ""
    shops: Counter[str] = field(default_factory=Counter)


class DeadLetterSummary:
    """Counts by reason and source topic, added to one record at a time (a DLQ may hold
    millions)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], ReasonCount] = {}

    def add(self, letter: StoredDeadLetter) -> None:
        entry = self._counts.setdefault(
            (letter.reason, letter.source_topic), ReasonCount(letter.reason, letter.source_topic)
        )
        entry.count += 1
        entry.shops[letter.shop] += 1
        at = letter.dead_lettered_at
        entry.first = at if entry.first is None else min(entry.first, at)
        entry.last = at if entry.last is None else max(entry.last, at)
        if not entry.example and letter.errors:
            first = letter.errors[0]
            entry.example = f"{first.get('field', '')}: {first.get('message', '')}"

    def rows(self) -> list[ReasonCount]:
        """The largest first."""
        return sorted(self._counts.values(), key=lambda c: (-c.count, c.reason, c.source_topic))
