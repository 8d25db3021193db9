"""What a seller's own Kafka producer may send, and how the stream job counts it.

- Compressed batches: a Kafka client compresses a whole batch when configured to
  (`compression.type`, `kcat -z`), and the broker keeps it so by default. A consumer without the
  codec cannot read any record of such a batch: before the codecs were installed, the first lz4
  batch stopped the job, and again at every restart.
- A clock that runs fast: its event counts, and the shop's events on time still do.
- Transactions (Kafka Streams, Flink, Debezium with exactly-once): what the producer committed
  counts, nothing of what it aborted.
- Confluent's Schema Registry serializers (protobuf and JSON Schema), as a librdkafka client sends
  them: a zero byte, the schema id and the message path before the payload, no content-type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from confluent_kafka import SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import StringSerializer
from google.protobuf import json_format

from shopee.events.v1 import events_pb2
from shopee_common.kafka import make_producer
from tests.integration.databases import migrated_database
from tests.integration.live_orders import paid_order
from tests.integration.service_process import run_metrics
from tests.integration.test_metrics_poison import counted, paid_orders, wait_until_counted

pytestmark = pytest.mark.integration

SHOP = "producer-shop"
ZONE = "Asia/Jakarta"
CODECS = ("gzip", "snappy", "lz4", "zstd")
PER_CODEC = 50
ON_TIME = 10


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


def test_schema_registry_serializers_of_a_librdkafka_client_are_counted(
    database: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    # A mock registry (confluent-kafka's own, in process) gives the schema ids; the job needs none.
    registry = SchemaRegistryClient.new_client({"url": "mock://producers"})
    serializers = {
        "protobuf": ProtobufSerializer(events_pb2.Event, registry),
        "json": JSONSerializer(
            json.dumps({"type": "object"}),
            registry,
            lambda event, _: json_format.MessageToDict(event, preserving_proto_field_name=True),
        ),
    }
    with run_metrics(topic_prefix, database):
        for serializer in serializers.values():
            producer = SerializingProducer(
                {
                    "bootstrap.servers": kafka_bootstrap,
                    "key.serializer": StringSerializer(),
                    "value.serializer": serializer,
                }
            )
            for _ in range(PER_CODEC):
                producer.produce(
                    topic_prefix + "events.orders", key=SHOP, value=paid_order(SHOP, ZONE)
                )
            assert producer.flush(30) == 0
        wait_until_counted(database, PER_CODEC * len(serializers), seconds=60)
    assert counted(database) == PER_CODEC * len(serializers)
    assert paid_orders(database) == PER_CODEC * len(serializers)
