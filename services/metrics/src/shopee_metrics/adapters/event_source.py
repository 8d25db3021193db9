"""The event topics, read in batches with aiokafka; offsets are committed only when told, after
the batch they cover is durable in PostgreSQL.

Faust's stream hands records over one at a time (a task switch, sensor calls and an ack per
record), which capped the job at about 4,000 events/s on two cores before any of its own work;
a consumer-group member reading batches straight from the fetch buffer is not the bottleneck.
Faust still runs the worker around it: the web server, timers, producer and signal handling.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeAlias

import structlog
from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError
from faust.sensors.prometheus import FaustMetrics

from shopee_common.kafka import make_consumer

log = structlog.get_logger("metrics.source")

Record: TypeAlias = ConsumerRecord[bytes, bytes]


def next_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
    """The offset to commit per partition once `records` are durable: one past the newest."""
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        if record.offset >= offsets.get(tp, -1):
            offsets[tp] = record.offset + 1
    return offsets


class _BeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Lets the batch in flight finish and commit before partitions move to another worker, so
    the new owner does not re-read it (it would only find duplicates, but slowly)."""

    def __init__(self, on_revoke: Callable[[], Awaitable[None]]) -> None:
        self._on_revoke = on_revoke

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._on_revoke()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned", partitions=len(assigned))


class EventSource:
    """A consumer-group member over the event topics, reading up to `max_records` at a time."""

    def __init__(
        self,
        topics: Sequence[str],
        bootstrap_servers: str,
        group_id: str,
        session_timeout_seconds: float,
        faust_metrics: FaustMetrics | None = None,
        security: Mapping[str, object] | None = None,
    ) -> None:
        self._topics = list(topics)
        # Range assignment gives one worker the same partition numbers of the topics with the
        # same partition count (orders and traffic), so a shop's rows are mostly written by one.
        self._consumer = make_consumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            client_id=group_id,
            partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=int(session_timeout_seconds * 1000),
            heartbeat_interval_ms=int(session_timeout_seconds * 1000 / 4),
            max_partition_fetch_bytes=4 * 1024 * 1024,
            **(security or {}),
        )
        self._faust_metrics = faust_metrics
        self._on_revoke: Callable[[], Awaitable[None]] | None = None
        # Per partition, the offset after the newest record handed out, and after the newest
        # one stored: what `stored_to_end` compares.
        self._handed: dict[TopicPartition, int] = {}
        self._stored: dict[TopicPartition, int] = {}

    def on_revoke(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` (finish and commit the batch in flight) before partitions are revoked."""
        self._on_revoke = callback

    async def start(self) -> None:
        async def before_revoke() -> None:
            if self._on_revoke is not None:
                await self._on_revoke()

        self._consumer.subscribe(self._topics, listener=_BeforeRevoke(before_revoke))
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def next_batch(self, max_records: int, within_seconds: float) -> list[Record]:
        """Up to `max_records` records, waiting at most `within_seconds` for the first."""
        fetched = await self._consumer.getmany(
            timeout_ms=int(within_seconds * 1000), max_records=max_records
        )
        records = [record for batch in fetched.values() for record in batch]
        for tp, batch in fetched.items():
            if batch:
                self._handed[tp] = batch[-1].offset + 1
        if records and self._faust_metrics is not None:
            self._record_received(fetched)
        return records

    def mark_stored(self, records: Sequence[Record]) -> None:
        """`records` are durable in PostgreSQL (their offsets are committed to Kafka later)."""
        for tp, offset in next_offsets(records).items():
            self._stored[tp] = max(offset, self._stored.get(tp, 0))

    async def commit(self, records: Sequence[Record]) -> None:
        """Commit the offsets after `records`. A failure (a rebalance took the partition, the
        broker is restarting) is only logged: those records are read again and found duplicate."""
        offsets = next_offsets(records)
        if not offsets:
            return
        # Stored in PostgreSQL whether or not the commit below succeeds.
        self.mark_stored(records)
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            log.warning("offset commit failed; the batch will be re-read", error=repr(exc))
            return
        if self._faust_metrics is not None:
            for tp, offset in offsets.items():
                self._faust_metrics.topic_partition_offset_commited.labels(
                    topic=tp.topic, partition=tp.partition
                ).set(offset)

    def assignment(self) -> set[TopicPartition]:
        return set(self._consumer.assignment())

    async def stored_to_end(self, partition: TopicPartition) -> bool | None:
        """Whether every record of the partition, up to its end as last fetched, is stored:
        False while records are unread, in flight or not yet fetched from at all; None when
        this member does not read the partition."""
        if partition not in self._consumer.assignment():
            return None
        end = self._consumer.highwater(partition)
        if end is None:
            return False
        if await self._consumer.position(partition) < end:
            return False
        handed = self._handed.get(partition)
        return handed is None or self._stored.get(partition, 0) >= handed

    async def lag(self) -> dict[TopicPartition, int]:
        """Records between what is stored and each assigned partition's end, the end asked of
        the broker: unlike the end the last fetch saw, it keeps growing while a write is stuck
        and nothing is fetched."""
        partitions = list(self._consumer.assignment())
        if not partitions:
            return {}
        ends = await self._consumer.end_offsets(partitions)
        committed = {
            tp: await self._consumer.committed(tp) or 0
            for tp in partitions
            if tp not in self._stored
        }
        # What is stored is read after the last await: a batch stored during them would
        # otherwise show as lag, and the gauge keep it until the next tick.
        return {
            tp: max(0, int(ends[tp]) - self._stored.get(tp, committed.get(tp, 0)))
            for tp in partitions
        }

    def end_offset(self, topic: str, partition: int) -> int | None:
        """The partition's end offset as the consumer last saw it (None before it fetched)."""
        end = self._consumer.highwater(TopicPartition(topic, partition))
        return int(end) if end is not None else None

    def _record_received(self, fetched: dict[TopicPartition, list[Record]]) -> None:
        """Faust's own series (dashboards and lag alerts read them), per batch, not per record."""
        metrics = self._faust_metrics
        assert metrics is not None
        per_topic: Counter[str] = Counter()
        for tp, records in fetched.items():
            if not records:
                continue
            per_topic[tp.topic] += len(records)
            metrics.messages_received_per_topics_partition.labels(
                topic=tp.topic, partition=tp.partition
            ).set(records[-1].offset)
            end = self._consumer.highwater(tp)
            if end is not None:
                metrics.topic_partition_end_offset.labels(
                    topic=tp.topic, partition=tp.partition
                ).set(end)
        metrics.messages_received.inc(sum(per_topic.values()))
        for topic, count in per_topic.items():
            metrics.messages_received_per_topics.labels(topic=topic).inc(count)
