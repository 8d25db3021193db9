"""Publishing events to their topics and returning only once Kafka acknowledged every one."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shopee_common.events import Event, payload_topic
from shopee_ingest.metrics import IngestMetrics

PROTOBUF_HEADERS = [("content-type", b"application/x-protobuf")]


class PublishFailed(RuntimeError):
    """Kafka did not acknowledge all events in time; the caller may retry the whole batch."""


class KafkaEventPublisher:
    """Sends events keyed by shop id (so a shop's events stay ordered) and awaits the acks."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic_prefix: str,
        timeout_seconds: float,
        metrics: IngestMetrics,
    ) -> None:
        self._producer = producer
        self._metrics = metrics
        self._prefix = topic_prefix
        self._timeout = timeout_seconds

    async def publish(self, events: list[Event]) -> dict[str, int]:
        """Publish all events; return how many went to each topic. Raises PublishFailed."""
        per_topic: Counter[str] = Counter()
        started = time.perf_counter()
        try:
            acks = []
            for event in events:
                topic = self._prefix + payload_topic(event)
                per_topic[topic] += 1
                acks.append(
                    await self._producer.send(
                        topic,
                        value=event.SerializeToString(),
                        key=event.shop_id.encode(),
                        headers=PROTOBUF_HEADERS,
                    )
                )
            async with asyncio.timeout(self._timeout):
                await asyncio.gather(*acks)
        except (KafkaError, TimeoutError) as exc:
            raise PublishFailed(
                f"Kafka did not acknowledge the batch: {type(exc).__name__}: {exc}"
            ) from exc
        self._metrics.publish_seconds.observe(time.perf_counter() - started)
        for topic, count in per_topic.items():
            self._metrics.events_published.labels(topic).inc(count)
        return dict(per_topic)

    async def check(self) -> None:
        """Readiness: the producer can fetch cluster metadata."""
        await self._producer.client.fetch_all_metadata()
