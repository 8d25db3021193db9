"""A seller's transactional producer (Kafka Streams, Flink, Debezium with exactly-once): the job
counts what the producer committed and nothing of what it aborted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shopee_common.kafka import make_producer
from tests.integration.databases import migrated_database
from tests.integration.live_orders import paid_order
from tests.integration.service_process import run_metrics
from tests.integration.test_metrics_poison import counted, paid_orders, wait_until_counted

pytestmark = pytest.mark.integration

SHOP = "txn-shop"
ZONE = "Asia/Jakarta"


@pytest.fixture
def database(database_url: str) -> Iterator[str]:
    with migrated_database(database_url, {SHOP: ZONE}) as dsn:
        yield dsn


async def test_aborted_transactions_are_not_counted(
    database: str, topic_prefix: str, kafka_bootstrap: str, unique_id: str
) -> None:
    topic = topic_prefix + "events.orders"
    producer = make_producer(kafka_bootstrap, client_id="txn-test", transactional_id=unique_id)
    await producer.start()
    try:
        async with producer.transaction():
            for _ in range(3):
                await producer.send(topic, paid_order(SHOP, ZONE).SerializeToString())
        await producer.begin_transaction()
        for _ in range(5):
            await producer.send(topic, paid_order(SHOP, ZONE).SerializeToString())
        await producer.abort_transaction()
        async with producer.transaction():
            for _ in range(2):
                await producer.send(topic, paid_order(SHOP, ZONE).SerializeToString())
        with run_metrics(topic_prefix, database):
            wait_until_counted(database, 5, seconds=60)
            # A little longer: an aborted event counted late would show here.
            wait_until_counted(database, 6, seconds=5)
    finally:
        await producer.stop()
    assert counted(database) == 5
    assert paid_orders(database) == 5
