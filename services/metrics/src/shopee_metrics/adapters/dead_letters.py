"""Poison messages to `events.dlq`, with the reason and where they came from in headers; and
read back from it, to see why records were refused and to send chosen ones again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import TopicPartition

from shopee_common.events import FieldError
from shopee_metrics.domain import dead_letters as dlq
from shopee_metrics.domain.dead_letters import StoredDeadLetter


@dataclass(frozen=True, slots=True)
class DeadLetter:
    value: bytes
    key: bytes | None
    headers: list[tuple[str, bytes]]
    reason: str
    errors: list[FieldError]
    source_topic: str
    source_partition: int
    source_offset: int
    # The event's, when it could be read; else the record's key for the shop (the topics'
    # convention) and no event id.
    shop_id: str = ""
    event_id: str = ""
    content_type: str | None = None


def dlq_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The original headers plus `dlq.*` headers naming the reason and the source record."""
    own = [
        (dlq.REASON, letter.reason.encode()),
        (dlq.ERRORS, json.dumps(_error_dicts(letter.errors)).encode()),
        (dlq.SOURCE_TOPIC, letter.source_topic.encode()),
        (dlq.SOURCE_PARTITION, str(letter.source_partition).encode()),
        (dlq.SOURCE_OFFSET, str(letter.source_offset).encode()),
    ]
    return dlq.producer_headers(letter.headers) + own


def _error_dicts(errors: list[FieldError]) -> list[dict[str, str]]:
    return [{"field": e.field, "message": e.message} for e in errors]


class DeadLetterPublisher:
    """Sends to the DLQ and waits for the acks, before the source offsets may be committed."""

    def __init__(self, producer: Any, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(self, letters: list[DeadLetter]) -> list[Any]:
        """Send and wait for the acks; each letter's place in the DLQ (aiokafka's
        RecordMetadata: topic, partition, offset)."""
        if not letters:
            return []
        pending = [
            await self._producer.send(
                self._topic,
                key=letter.key,
                value=letter.value,
                partition=None,
                timestamp=None,
                headers=dlq_headers(letter),
            )
            for letter in letters
        ]
        return list(await asyncio.gather(*pending))


MIRROR = """
INSERT INTO dead_letters (dlq_topic, dlq_partition, dlq_offset, source_topic, source_partition,
                          source_offset, shop_id, event_id, reason, errors, content_type,
                          payload, headers, failed_at)
SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::int[], $6::bigint[],
                     $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::text[], $12::bytea[],
                     $13::jsonb[], $14::timestamptz[])
ON CONFLICT DO NOTHING
"""
PRUNE = "DELETE FROM dead_letters WHERE failed_at < $1"


class DeadLetterTable:
    """`dead_letters`, the browsable mirror of the DLQ (the gateway answers a seller's from it):
    one row per refused source record (a replay sends a batch's dead letters to the DLQ again),
    kept as long as the topic keeps its records."""

    def __init__(self, pool: Any, keep: timedelta) -> None:
        self._pool = pool
        self._keep = keep

    async def record(self, letters: list[DeadLetter], places: list[Any], at: datetime) -> None:
        if not letters:
            return
        errors = [
            json.dumps([{k: _text(v) for k, v in e.items()} for e in _error_dicts(letter.errors)])
            for letter in letters
        ]
        headers = [
            json.dumps(
                {
                    _text(name): _text(raw.decode("utf-8", "replace"))
                    for name, raw in dlq.producer_headers(letter.headers)
                }
            )
            for letter in letters
        ]
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                MIRROR,
                [place.topic for place in places],
                [place.partition for place in places],
                [place.offset for place in places],
                [letter.source_topic for letter in letters],
                [letter.source_partition for letter in letters],
                [letter.source_offset for letter in letters],
                [_text(letter.shop_id) for letter in letters],
                [_text(letter.event_id) for letter in letters],
                [_text(letter.reason) for letter in letters],
                errors,
                [letter.content_type and _text(letter.content_type) for letter in letters],
                [letter.value for letter in letters],
                headers,
                [at] * len(letters),
            )
            await connection.execute(PRUNE, at - self._keep)


async def read_dead_letters(
    consumer: Any, topic: str, since: datetime | None, on_total: Callable[[int], None]
) -> AsyncIterator[StoredDeadLetter]:
    """Every record of the DLQ written since `since` (from the start without it), up to its end
    when the reading began: records dead-lettered meanwhile (a redrive's own) are left for the
    next run. `consumer` is started, subscribed to `topic` without a group (so it holds every
    partition); `on_total` learns how many records lie ahead."""
    partitions = sorted(tp for tp in consumer.assignment() if tp.topic == topic)
    if not partitions:
        raise LookupError(f"no partition of {topic} to read: does the topic exist?")
    ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
    starts: dict[TopicPartition, int] = await consumer.beginning_offsets(partitions)
    if since is not None:
        found = await consumer.offsets_for_times(
            {tp: int(since.timestamp() * 1000) for tp in partitions}
        )
        starts = {tp: ends[tp] if found[tp] is None else found[tp].offset for tp in partitions}
    on_total(sum(max(ends[tp] - starts[tp], 0) for tp in partitions))
    for tp in partitions:
        consumer.seek(tp, starts[tp])
    open_partitions = {tp for tp in partitions if starts[tp] < ends[tp]}
    while open_partitions:
        batch = await consumer.getmany(*open_partitions, timeout_ms=1_000, max_records=1_000)
        for tp, records in batch.items():
            for record in records:
                if record.offset >= ends[tp]:
                    break
                yield dlq.stored_dead_letter(
                    record.key,
                    record.value,
                    list(record.headers),
                    datetime.fromtimestamp(record.timestamp / 1000, UTC),
                )
        for tp in list(open_partitions):
            if await consumer.position(tp) >= ends[tp]:
                open_partitions.discard(tp)


class Redriver:
    """Sends dead letters to their source topics again, as their producer sent them (key,
    value, its own headers), and waits for the acks in rounds of `window`."""

    def __init__(self, producer: Any, window: int = 1_000) -> None:
        self._producer = producer
        self._window = window
        self._pending: list[Any] = []

    async def send(self, letter: StoredDeadLetter) -> None:
        self._pending.append(
            await self._producer.send(
                letter.source_topic, key=letter.key, value=letter.value, headers=letter.headers
            )
        )
        if len(self._pending) >= self._window:
            await self.flush()

    async def flush(self) -> None:
        await asyncio.gather(*self._pending)
        self._pending.clear()


def _text(value: str) -> str:
    """`value` as PostgreSQL text and jsonb can hold it: a dead letter is what carries a NUL (in
    its key, a header, a quoted value), and refusing its row would stop the job at that batch."""
    return value.replace("\x00", "\ufffd")
