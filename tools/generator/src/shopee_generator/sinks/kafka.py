"""Publishing events to the platform's Kafka topics: key = shop id, value = protobuf Event."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping

from aiokafka import AIOKafkaProducer

from shopee.events.v1 import events_pb2
from shopee_common.events import payload_topic
from shopee_common.kafka import make_producer

CONTENT_TYPE_HEADERS = [("content-type", b"application/x-protobuf")]
# Sends in flight before waiting for their acknowledgements.
CHUNK = 5_000


def history_producer(
    bootstrap_servers: str,
    client_id: str = "shopee-generator",
    security: Mapping[str, object] | None = None,
) -> AIOKafkaProducer:
    """The platform's idempotent producer, with larger batches for bulk history."""
    return make_producer(
        bootstrap_servers,
        client_id,
        linger_ms=50,
        max_batch_size=1024 * 1024,
        **(security or {}),
    )


async def send_event(
    producer: AIOKafkaProducer, event: events_pb2.Event, topic_prefix: str
) -> asyncio.Future[object]:
    """Queue one event on the topic of its payload; the returned future resolves on the ack."""
    future: asyncio.Future[object] = await producer.send(
        topic_prefix + payload_topic(event),
        event.SerializeToString(),
        key=event.shop_id.encode(),
        headers=CONTENT_TYPE_HEADERS,
    )
    return future


async def publish(
    producer: AIOKafkaProducer,
    events: Iterable[events_pb2.Event],
    topic_prefix: str = "",
    on_acked: Callable[[int], None] | None = None,
) -> int:
    """Send every event without waiting for each; wait for acks a chunk at a time. Returns the count.

    The producer must be started; the caller stops it. Kafka's record timestamp is left to the
    producer (send time): the topics' time-based retention would otherwise drop old history at once.
    """
    pending: list[asyncio.Future[object]] = []
    count = 0
    for event in events:
        pending.append(await send_event(producer, event, topic_prefix))
        if len(pending) >= CHUNK:
            await asyncio.gather(*pending)
            count += len(pending)
            if on_acked is not None:
                on_acked(len(pending))
            pending.clear()
    if pending:
        await asyncio.gather(*pending)
        count += len(pending)
        if on_acked is not None:
            on_acked(len(pending))
    return count
