"""Batches a seller's producer compressed: every codec Kafka has is read and counted.

A Kafka client compresses a whole batch when configured to (`compression.type`, `kcat -z`), and
the broker keeps it so by default. A consumer without the codec cannot read any record of such a
batch: before the codecs were installed, the first lz4 batch stopped the job, and again at every
restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shopee_common.kafka import make_producer
from tests.integration.databases import migrated_database
from tests.integration.live_orders import paid_order
from tests.integration.service_process import run_metrics
from tests.integration.test_metrics_poison import counted, paid_orders, wait_until_counted

pytestmark = pytest.mark.integration

SHOP = "codec-shop"
ZONE = "Asia/Jakarta"
CODECS = ("gzip", "snappy", "lz4", "zstd")
PER_CODEC = 50


@pytest.fixture
def database(database_url: str) -> Iterator[str]:
    with migrated_database(database_url, {SHOP: ZONE}) as dsn:
        yield dsn


async def test_batches_of_every_compression_codec_are_counted(
    database: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    with run_metrics(topic_prefix, database):
        for codec in CODECS:
            producer = make_producer(
                kafka_bootstrap, client_id=f"codec-{codec}", compression_type=codec, linger_ms=50
            )
            await producer.start()
            try:
                sent = [
                    await producer.send(
                        topic_prefix + "events.orders",
                        paid_order(SHOP, ZONE).SerializeToString(),
                        key=SHOP.encode(),
                    )
                    for _ in range(PER_CODEC)
                ]
                for delivery in sent:
                    await delivery
            finally:
                await producer.stop()
        wait_until_counted(database, PER_CODEC * len(CODECS), seconds=60)
    assert counted(database) == PER_CODEC * len(CODECS)
    assert paid_orders(database) == PER_CODEC * len(CODECS)
