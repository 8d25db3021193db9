"""One batch from the topics to committed KPIs: decode, dead-letter the poison, apply the rest.

`prepare` is pure CPU work (decode, validate, what each event adds) and may run while the
previous batch is still being written; `apply` makes a prepared batch durable. `apply` never
raises for bad data or a database outage: poison goes to the DLQ, and the database write is
retried until it succeeds, because the batch's offsets are committed right after it returns.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from shopee_common.events import (
    Event,
    FieldError,
    InvalidEvent,
    event_from_bytes,
    zone_mismatch,
)
from shopee_metrics.adapters.dead_letters import DeadLetter, DeadLetterPublisher, DeadLetterTable
from shopee_metrics.adapters.store import TRANSIENT, AppliedBatch, KpiStore
from shopee_metrics.domain.batch import Candidate, Position, candidate

log = structlog.get_logger("metrics.processor")
SHUTDOWN_WRITE_SECONDS = 30.0
EXIT_UNFINISHED_WRITE = 75

EXIT_WRITE_FAILED = 70


class Message(Protocol):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any
    timestamp: int  # Kafka record time, milliseconds since the epoch


class ProcessorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "metrics_events_total", "Events by outcome", ["outcome"], registry=registry
        )
        self.dead_letters = Counter(
            "metrics_dead_letters_total",
            "Poison messages sent to the DLQ, by reason and topic",
            ["reason", "topic"],
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "metrics_batch_seconds",
            "Time to apply one batch (decode, write, commit)",
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.batch_size = Histogram(
            "metrics_batch_events",
            "Events per batch",
            registry=registry,
            buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000),
        )
        self.processing_latency = Histogram(
            "metrics_processing_latency_seconds",
            "From the record's Kafka timestamp to its KPI commit",
            registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
        )
        self.consumer_lag = Gauge(
            "metrics_consumer_lag",
            "Records behind the end of each partition",
            ["topic", "partition"],
            registry=registry,
        )
        # The (topic, partition) series set so far, so those of partitions moved away can go.
        self.lag_labels: set[tuple[str, str]] = set()
        self.last_commit = Gauge(
            "metrics_last_commit_timestamp_seconds",
            "Wall time of the last committed batch",
            registry=registry,
        )


@dataclass(frozen=True)
class DecodedBatch:
    candidates: list[Candidate]
    dead_letters: list[DeadLetter]


@dataclass(frozen=True)
class PreparedBatch:
    """A decoded batch, ready to be written; `seconds` = time spent preparing it."""

    messages: Sequence[Message]
    decoded: DecodedBatch
    seconds: float

    def then(self, later: PreparedBatch) -> PreparedBatch:
        """This batch followed by `later` (read after it), as one: what a loop that had read
        them together would have prepared."""
        return PreparedBatch(
            [*self.messages, *later.messages],
            DecodedBatch(
                self.decoded.candidates + later.decoded.candidates,
                self.decoded.dead_letters + later.decoded.dead_letters,
            ),
            self.seconds + later.seconds,
        )


def _headers(message: Message) -> list[tuple[str, bytes]]:
    raw = message.headers or []
    items = raw.items() if isinstance(raw, dict) else raw
    return [(str(k), bytes(v) if v is not None else b"") for k, v in items]


def _content_type(message: Message) -> str | None:
    raw = message.headers or ()
    for key, value in raw.items() if isinstance(raw, dict) else raw:
        if key.lower() == "content-type":
            return bytes(value).decode(errors="replace") if value is not None else ""
    return None


def decode(messages: Sequence[Message]) -> list[tuple[Message, Event | InvalidEvent]]:
    """Each message with its decoded, validated event, or the reason it is not one."""
    decoded: list[tuple[Message, Event | InvalidEvent]] = []
    for message in messages:
        try:
            event = event_from_bytes(message.value or b"", _content_type(message))
        except InvalidEvent as exc:
            decoded.append((message, exc))
        # Whatever else a decoder raises on some byte pattern, one record must not stop the job:
        # it would exit, restart at the same offset and fail again.
        except Exception as exc:
            reason = f"not a readable event: {type(exc).__name__}: {exc}"
            decoded.append((message, InvalidEvent([FieldError("(record)", reason)])))
        else:
            decoded.append((message, event))
    return decoded


def split(
    decoded: list[tuple[Message, Event | InvalidEvent]], shop_zones: Mapping[str, str]
) -> DecodedBatch:
    """Candidates to count, and dead letters: undecodable, invalid, of an unregistered shop, or in
    a time zone other than the shop's (its hours and days would be another shop's calendar)."""
    candidates: list[Candidate] = []
    letters: list[DeadLetter] = []
    for message, outcome in decoded:
        if isinstance(outcome, InvalidEvent):
            reason, errors = _reason(outcome.errors), outcome.errors
        elif outcome.shop_id not in shop_zones:
            reason = "unknown shop"
            errors = [FieldError("shop_id", f"shop {outcome.shop_id!r} is not registered")]
        elif wrong_zone := zone_mismatch(
            outcome.shop_id, outcome.time_zone, shop_zones[outcome.shop_id]
        ):
            reason = "invalid value: time_zone"
            errors = [FieldError("time_zone", wrong_zone)]
        else:
            position = Position(message.topic, message.partition, message.offset)
            candidates.append(candidate(outcome, position))
            continue
        read = outcome.event if isinstance(outcome, InvalidEvent) else outcome
        key = (message.key or b"").decode(errors="replace")
        shop_id = (read.shop_id if read is not None else "") or key
        event_id = read.event_id if read is not None else ""
        letters.append(
            DeadLetter(
                value=message.value or b"",
                key=message.key,
                headers=_headers(message),
                reason=reason,
                errors=errors,
                source_topic=message.topic,
                source_partition=message.partition,
                source_offset=message.offset,
                shop_id=shop_id,
                event_id=event_id,
                content_type=_content_type(message),
            )
        )
    return DecodedBatch(candidates, letters)


def _reason(errors: list[FieldError]) -> str:
    """A short, stable reason for the DLQ header and the metric label."""
    first = errors[0]
    if first.field == "(record)":
        if first.message.startswith("not valid JSON"):
            return "undecodable: invalid JSON"
        if first.message.startswith("not a valid protobuf"):
            return "undecodable: invalid protobuf"
        if first.message.startswith("not a readable event"):
            return "undecodable"
        if first.message.startswith("Schema Registry frame"):
            return "undecodable: Schema Registry frame"
        return "schema violation"
    if "unknown field" in first.message or first.message.startswith("expected"):
        return f"schema violation: {first.field}"
    return f"invalid value: {first.field}"


class BatchProcessor:
    def __init__(
        self,
        store: KpiStore,
        dead_letters: DeadLetterPublisher,
        dead_letter_table: DeadLetterTable,
        metrics: ProcessorMetrics,
        shop_zones: Callable[[set[tuple[str, str]]], Awaitable[Mapping[str, str]]],
        on_applied: Callable[[AppliedBatch], None],
        end_offset: Callable[[str, int], int | None],
    ) -> None:
        self._end_offset = end_offset
        self._store = store
        self._dead_letters = dead_letters
        self._dead_letter_table = dead_letter_table
        self._metrics = metrics
        self._shop_zones = shop_zones
        self._on_applied = on_applied

    async def process(self, messages: Sequence[Message]) -> AppliedBatch:
        """Prepare and apply one batch."""
        return await self.apply(await self.prepare(messages))

    async def prepare(self, messages: Sequence[Message]) -> PreparedBatch:
        """Decode and validate the batch, and work out what each valid event would add."""
        started = time.perf_counter()
        decoded_messages = decode(messages)
        shops = {
            (e.shop_id, e.time_zone) for _, e in decoded_messages if not isinstance(e, InvalidEvent)
        }
        async for attempt in _database_retries("reading the registered shops"):
            with attempt:
                zones = await self._shop_zones(shops)
        decoded = split(decoded_messages, zones)
        self._store.prepare(decoded.candidates)
        return PreparedBatch(messages, decoded, time.perf_counter() - started)

    async def apply(self, prepared: PreparedBatch) -> AppliedBatch:
        """Dead-letter the poison and count the rest, durably; exit the process if impossible."""
        started = time.perf_counter()
        messages, decoded = prepared.messages, prepared.decoded
        try:
            applied = await _finish_even_if_cancelled(self._make_durable(decoded))
        except Exception:
            # Returning would let the batch's offsets be committed.
            log.critical(
                "batch could not be written; exiting without acknowledging it", exc_info=True
            )
            os._exit(EXIT_WRITE_FAILED)
        self._on_applied(applied)
        now = time.time()
        for message in messages:
            if message.timestamp:
                self._metrics.processing_latency.observe(max(0.0, now - message.timestamp / 1000))
        self._metrics.events.labels("counted").inc(applied.counted)
        self._metrics.events.labels("duplicate").inc(applied.duplicates)
        self._metrics.events.labels("late").inc(applied.late)
        self._metrics.events.labels("dead_letter").inc(len(decoded.dead_letters))
        self._metrics.batch_size.observe(len(messages))
        self._metrics.batch_seconds.observe(prepared.seconds + time.perf_counter() - started)
        self._metrics.last_commit.set(now)
        self._record_lag(messages)
        return applied

    def _record_lag(self, messages: Sequence[Message]) -> None:
        """Records left behind each partition this batch read from, after the batch."""
        newest: dict[tuple[str, int], int] = {}
        for message in messages:
            key = (message.topic, message.partition)
            newest[key] = max(newest.get(key, -1), message.offset)
        for (topic, partition), offset in newest.items():
            end = self._end_offset(topic, partition)
            if end is not None:
                self._metrics.consumer_lag.labels(topic, str(partition)).set(
                    max(0, end - offset - 1)
                )
                self._metrics.lag_labels.add((topic, str(partition)))

    async def _make_durable(self, decoded: DecodedBatch) -> AppliedBatch:
        await self._publish_dead_letters(decoded.dead_letters)
        return await self._apply(decoded.candidates)

    async def _publish_dead_letters(self, letters: list[DeadLetter]) -> None:
        for letter in letters:
            self._metrics.dead_letters.labels(
                letter.reason.split(":")[0], letter.source_topic
            ).inc()
            log.warning(
                "dead letter",
                reason=letter.reason,
                topic=letter.source_topic,
                partition=letter.source_partition,
                offset=letter.source_offset,
            )
        places: list[Any] = []
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(KafkaError),
            wait=wait_exponential(max=10),
            reraise=True,
        ):
            with attempt:
                places = await self._dead_letters.publish(letters)
        # Mirrored once they are in the topic; a retry of the mirror alone sends nothing again.
        async for attempt in _database_retries("dead letter mirror"):
            with attempt:
                await self._dead_letter_table.record(letters, places, datetime.now(UTC))

    async def _apply(self, candidates: list[Candidate]) -> AppliedBatch:
        async for attempt in _database_retries("database write"):
            with attempt:
                return await self._store.apply(candidates)
        raise AssertionError("unreachable: AsyncRetrying reraises")


def _database_retries(what: str) -> AsyncRetrying:
    """Until the database is back: a batch must neither be skipped nor end the process."""
    return AsyncRetrying(
        retry=retry_if_exception_type(TRANSIENT),
        wait=wait_exponential(max=10),
        reraise=True,
        before_sleep=lambda state: log.warning(
            f"{what} failed; retrying",
            attempt=state.attempt_number,
            error=repr(state.outcome.exception()) if state.outcome else None,
        ),
    )


async def _finish_even_if_cancelled(write: Awaitable[AppliedBatch]) -> AppliedBatch:
    """A cancelled write (dead letters, then KPIs; e.g. at shutdown) is waited for; if it cannot
    complete, the process ends at once, before anything can commit offsets of events never
    written (they are redelivered on restart)."""
    task = asyncio.ensure_future(write)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        done, _ = await asyncio.wait([task], timeout=SHUTDOWN_WRITE_SECONDS)
        if not done or task.exception() is not None:
            log.critical(
                "batch write did not finish during shutdown; exiting before offsets commit"
            )
            os._exit(EXIT_UNFINISHED_WRITE)
        raise
