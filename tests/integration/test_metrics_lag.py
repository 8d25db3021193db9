"""`metrics_consumer_lag` while the job cannot write: it must grow, so that a stalled job that
had caught up still raises the StreamJobStalled and ConsumerLagHigh alerts."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from shopee.events.v1 import events_pb2
from shopee_common.kafka import make_producer
from tests.integration.databases import migrated_database
from tests.integration.service_process import run_metrics
from tests.integration.test_metrics_poison import counted, wait_until_counted

pytestmark = pytest.mark.integration

SHOP = "lag-shop"
BLOCKED = 200


@pytest.fixture
def database(database_url: str) -> Iterator[str]:
    with migrated_database(database_url, {SHOP: "Asia/Jakarta"}) as dsn:
        yield dsn


def page_view(index: int) -> bytes:
    event = events_pb2.Event(event_id=str(uuid.uuid4()), shop_id=SHOP, time_zone="Asia/Jakarta")
    event.occurred_at.FromDatetime(datetime.now(UTC))
    event.traffic.visitor_id = f"v-{index}"
    event.traffic.session_id = f"s-{index}"
    event.traffic.kind = events_pb2.TRAFFIC_KIND_PAGE_VIEW
    return event.SerializeToString()


async def reported_lag(url: str) -> float:
    async with httpx.AsyncClient() as http:
        exposition = (await http.get(f"{url}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith("metrics_consumer_lag{")
    )


async def wait_for_lag(url: str, wanted: float, seconds: float) -> float:
    deadline = time.monotonic() + seconds
    lag = await reported_lag(url)
    while lag != wanted and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        lag = await reported_lag(url)
    return lag


async def test_lag_grows_while_the_write_is_blocked_and_returns_to_zero(
    database: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    producer = make_producer(kafka_bootstrap, client_id="lag-test")
    await producer.start()
    topic = topic_prefix + "events.traffic"
    try:
        with run_metrics(topic_prefix, database) as metrics:
            await producer.send_and_wait(topic, page_view(0), key=SHOP.encode())
            wait_until_counted(database, 1, seconds=60)
            assert counted(database) == 1
            # An open transaction holding this lock makes the job's next write wait.
            with psycopg.connect(database) as blocker:
                blocker.execute("LOCK TABLE event_ids IN SHARE MODE")
                for index in range(1, BLOCKED + 1):
                    await producer.send_and_wait(topic, page_view(index), key=SHOP.encode())
                while_blocked = await wait_for_lag(metrics.url, BLOCKED, seconds=30)
                assert counted(database) == 1
            wait_until_counted(database, BLOCKED + 1, seconds=60)
            after = await wait_for_lag(metrics.url, 0, seconds=30)
    finally:
        await producer.stop()
    assert while_blocked == BLOCKED
    assert after == 0
