"""The demo generator against the real Kafka: every event lands once, on its payload's topic,
as a protobuf Event keyed by shop; the live stream sends at its rate with current times, or
the world's own events when they are due."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from shopee_common.events import event_from_bytes
from shopee_common.topics import EVENT_TOPICS, TOPIC_BY_PAYLOAD
from shopee_generator import GeneratorConfig, build_world, generate_history
from shopee_generator.sinks.kafka import history_producer, publish
from shopee_generator.stream import catch_up, live_events, stream_live, stream_on_time
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


async def test_the_on_time_stream_sends_the_worlds_own_events_once_due(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """A history ending yesterday: today's events so far at once, unchanged (ids and times are
    the world's, so a second run would send the same ones), then each when it is due."""
    today = datetime.now(UTC).date()
    config = GeneratorConfig(
        start=today - timedelta(days=3), days=3, shops=2, products_per_shop=12, scale=0.5
    )
    world = build_world(config)
    catch_up(world)
    producer = history_producer(kafka_bootstrap, client_id="test-on-time")
    await producer.start()
    try:
        sent = await stream_on_time(
            producer, live_events(world, today), asyncio.Event(), topic_prefix, duration=3.0
        )
    finally:
        await producer.stop()
    stopped = time.time()

    reference = build_world(config)
    catch_up(reference)
    expected = live_events(reference, today)
    due = list(itertools.islice(expected, sent))
    following = next(expected)
    assert sent > 0, "the day so far (a shop in UTC+7 has had hours of it) is sent at once"
    assert due[-1].occurred_at.ToMilliseconds() / 1000 <= stopped
    # Nothing due before the stream stopped was held back.
    assert following.occurred_at.ToMilliseconds() / 1000 > stopped - 0.5
    records = await read_topics(
        kafka_bootstrap, [topic_prefix + s.name for s in EVENT_TOPICS], expected=sent
    )
    landed = {
        event.event_id: event
        for event in (event_from_bytes(r.value, "application/x-protobuf") for r in records)
    }
    assert landed == {event.event_id: event for event in due}
