"""`shopee-dlq`: an operator reads why records were dead-lettered and, once the cause is fixed
(here: the shop registered after its events arrived), sends them again and they are counted,
once however often they are sent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from shopee_common.kafka import make_producer
from shopee_metrics.dlq_cli import app
from tests.integration.databases import migrated_database, register_shops
from tests.integration.kafka_reader import read_topics
from tests.integration.live_orders import paid_order
from tests.integration.service_process import ServiceProcess, run_metrics
from tests.integration.test_metrics_poison import counted, wait_until_counted

pytestmark = pytest.mark.integration

KNOWN, LATE_REGISTERED, ZONE = "known-shop", "registered-later", "Asia/Jakarta"
ORDERS = 5


@pytest.fixture
def database(database_url: str) -> Iterator[str]:
    with migrated_database(database_url, {KNOWN: ZONE}) as dsn:
        yield dsn


async def _send_orders(bootstrap: str, topic: str) -> None:
    producer = make_producer(bootstrap, client_id="redrive-test")
    await producer.start()
    try:
        for shop in [KNOWN] + [LATE_REGISTERED] * ORDERS:
            event = paid_order(shop, ZONE)
            await producer.send_and_wait(topic, event.SerializeToString(), key=shop.encode())
    finally:
        await producer.stop()


def test_dead_letters_of_a_shop_registered_later_are_redriven_and_counted_once(
    database: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    cli = CliRunner()
    env = {"SHOPEE_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "SHOPEE_TOPIC_PREFIX": topic_prefix}
    with run_metrics(topic_prefix, database) as metrics:
        asyncio.run(_send_orders(kafka_bootstrap, topic_prefix + "events.orders"))
        wait_until_counted(database, 1, seconds=60)
        dead = asyncio.run(
            read_topics(kafka_bootstrap, [topic_prefix + "events.dlq"], expected=ORDERS)
        )
        assert len(dead) == ORDERS

        summary = cli.invoke(app, ["summary"], env=env)
        assert summary.exit_code == 0, summary.output
        assert f"unknown shop · {topic_prefix}events.orders · {ORDERS} record(s)" in summary.output
        assert f"shops: {LATE_REGISTERED} {ORDERS}" in summary.output

        # Nothing chosen is refused; a dry run sends nothing.
        assert cli.invoke(app, ["redrive"], env=env).exit_code != 0
        dry = cli.invoke(app, ["redrive", "--reason", "unknown", "--dry-run"], env=env)
        assert f"would send {ORDERS} record(s)" in dry.output, dry.output
        wait_until_counted(database, 2, seconds=3)
        assert counted(database) == 1

        register_shops(database, {LATE_REGISTERED: ZONE}, organisation="later")
        sent = cli.invoke(
            app, ["redrive", "--reason", "unknown shop", "--shop", LATE_REGISTERED], env=env
        )
        assert sent.exit_code == 0, sent.output
        assert f"sent {ORDERS} record(s)" in sent.output
        wait_until_counted(database, 1 + ORDERS, seconds=60)

        # Again: the DLQ still holds them, and the job reads them as duplicates.
        again = cli.invoke(app, ["redrive", "--shop", LATE_REGISTERED], env=env)
        assert f"sent {ORDERS} record(s)" in again.output, again.output
        deadline = time.monotonic() + 60
        while _duplicates(metrics) < ORDERS and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _duplicates(metrics) == ORDERS
    assert counted(database) == 1 + ORDERS


def _duplicates(metrics: ServiceProcess) -> float:
    exposition = httpx.get(f"{metrics.url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "metrics_events_total" and sample.labels["outcome"] == "duplicate":
                return sample.value
    return 0.0
