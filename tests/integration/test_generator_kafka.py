"""The demo generator against the real Kafka: every event lands once, on its payload's topic,
as a protobuf Event keyed by shop; the live stream sends at its rate with current times."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest

from shopee_common.events import event_from_bytes
from shopee_common.topics import EVENT_TOPICS, TOPIC_BY_PAYLOAD
from shopee_generator import GeneratorConfig, build_world, generate_history
from shopee_generator.sinks.kafka import history_producer, publish
from shopee_generator.stream import catch_up, live_events, stream_live
from tests.integration.kafka_reader import read_topics

pytestmark = pytest.mark.integration

SMALL = GeneratorConfig(start=date(2025, 11, 9), days=3, shops=2, products_per_shop=12, scale=0.5)


async def test_history_lands_on_the_payload_topics(kafka_bootstrap: str, topic_prefix: str) -> None:
    expected = {event.event_id: event for event in generate_history(SMALL)}
    producer = history_producer(kafka_bootstrap)
    await producer.start()
    try:
        sent = await publish(producer, generate_history(SMALL), topic_prefix)
    finally:
        await producer.stop()
    assert sent == len(expected)

    topics = [topic_prefix + spec.name for spec in EVENT_TOPICS]
    records = await read_topics(kafka_bootstrap, topics, expected=len(expected))
    landed = {}
    for record in records:
        assert dict(record.headers)["content-type"] == b"application/x-protobuf"
        event = event_from_bytes(record.value, "application/x-protobuf")
        assert record.key == event.shop_id.encode()
        assert record.topic == topic_prefix + TOPIC_BY_PAYLOAD[event.WhichOneof("payload") or ""]
        landed[event.event_id] = event
    assert len(records) == len(expected)
    assert landed.keys() == expected.keys()
    assert all(landed[event_id] == event for event_id, event in expected.items())


async def test_live_stream_sends_current_events_at_its_rate(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    world = build_world(SMALL)
    catch_up(world)
    producer = history_producer(kafka_bootstrap, client_id="test-live")
    await producer.start()
    started = time.time()
    try:
        sent = await stream_live(
            producer,
            live_events(world, date(2025, 11, 12), run_key=1),
            rate=40,
            stop=asyncio.Event(),
            topic_prefix=topic_prefix,
            duration=2.0,
        )
    finally:
        await producer.stop()
    assert 60 <= sent <= 100
    records = await read_topics(
        kafka_bootstrap, [topic_prefix + s.name for s in EVENT_TOPICS], expected=sent
    )
    events = [event_from_bytes(r.value, "application/x-protobuf") for r in records]
    assert len({e.event_id for e in events}) == sent
    assert all(
        started - 1 <= e.occurred_at.ToMilliseconds() / 1000 <= time.time() + 1 for e in events
    )
    assert {e.WhichOneof("payload") for e in events} >= {"traffic"}
