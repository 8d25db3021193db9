"""A producer whose clock runs fast: its event counts, and the shop's events on time still do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from shopee_common.kafka import make_producer
from tests.integration.databases import migrated_database
from tests.integration.live_orders import paid_order
from tests.integration.service_process import run_metrics
from tests.integration.test_metrics_poison import counted, paid_orders, wait_until_counted

pytestmark = pytest.mark.integration

SHOP = "skew-shop"
ZONE = "Asia/Jakarta"
ON_TIME = 10


@pytest.fixture
def database(database_url: str) -> Iterator[str]:
    with migrated_database(database_url, {SHOP: ZONE}) as dsn:
        yield dsn


async def test_an_event_from_a_fast_clock_does_not_make_the_next_ones_late(
    database: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    topic = topic_prefix + "events.orders"
    producer = make_producer(kafka_bootstrap, client_id="skew-test")
    await producer.start()
    try:
        with run_metrics(topic_prefix, database):
            # 20 minutes ahead: inside validation's hour, twice the 10-minute late grace.
            ahead = paid_order(SHOP, ZONE)
            ahead.occurred_at.FromDatetime(datetime.now(UTC) + timedelta(minutes=20))
            await producer.send_and_wait(topic, ahead.SerializeToString(), key=SHOP.encode())
            wait_until_counted(database, 1, seconds=60)
            for _ in range(ON_TIME):
                event = paid_order(SHOP, ZONE)
                await producer.send_and_wait(topic, event.SerializeToString(), key=SHOP.encode())
            wait_until_counted(database, 1 + ON_TIME, seconds=60)
    finally:
        await producer.stop()
    with psycopg.connect(database) as connection:
        late = connection.execute("SELECT count(*) FROM late_events").fetchone()
        (watermark,) = connection.execute(
            "SELECT watermark FROM stream_watermarks WHERE shop_id = %s", (SHOP,)
        ).fetchone() or (None,)
    assert late == (0,)
    assert paid_orders(database) == 1 + ON_TIME
    assert counted(database) == 1 + ON_TIME
    assert watermark is not None
    assert watermark <= datetime.now(UTC)
