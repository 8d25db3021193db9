"""The stream job's KPIs equal an offline recomputation, exactly, for every shop, bucket and KPI:
with duplicates, out-of-order and late events, kill -9 of the worker and a broker restart."""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from google.protobuf import json_format

from shopee.events.v1 import events_pb2
from shopee_common.events import payload_topic
from shopee_common.kafka import make_producer
from shopee_generator.world import GeneratorConfig, generate_history
from tests.integration.databases import migrated_database, shops_of
from tests.integration.kpi_reference import Rows, counted_events, reference_rows
from tests.integration.service_process import ServiceProcess, run_metrics

pytestmark = pytest.mark.integration

EVENTS = 200_000
GRACE = timedelta(minutes=10)
ROOT = Path(__file__).resolve().parents[2]


def generated_events(count: int) -> list[events_pb2.Event]:
    """`count` events of three busy generated shops, in time order."""
    config = GeneratorConfig(start=date(2026, 9, 1), days=30, shops=3, scale=8.0, seed=7)
    events = []
    for event in generate_history(config):
        events.append(event)
        if len(events) == count:
            break
    return events


def delivery_order(events: list[events_pb2.Event], rng: random.Random) -> list[events_pb2.Event]:
    """The events as producers send them: 5% a little out of order (well inside the grace), 2%
    delivered twice, and 0.5% held back to the very end (so late by days)."""
    held_back = set(rng.sample(range(len(events)), len(events) // 200))
    delivered = [e for i, e in enumerate(events) if i not in held_back]
    for index in rng.sample(range(len(delivered) - 60), len(delivered) // 20):
        step = rng.randint(1, 50)
        delivered[index], delivered[index + step] = delivered[index + step], delivered[index]
    for index in sorted(rng.sample(range(len(delivered)), len(delivered) // 50), reverse=True):
        copy_at = rng.randint(index + 1, len(delivered))
        delivered.insert(copy_at, delivered[index])
    delivered.extend(events[i] for i in sorted(held_back))
    return delivered


async def produce(
    bootstrap: str, prefix: str, delivered: list[events_pb2.Event], rng: random.Random
) -> None:
    """Send in delivery order, key = shop id; one in ten as proto3 JSON, the rest protobuf."""
    producer = make_producer(bootstrap, client_id="exactness-test")
    await producer.start()
    try:
        acks = []
        for event in delivered:
            if rng.random() < 0.1:
                value = json_format.MessageToJson(event, indent=None).encode()
                headers = [("content-type", b"application/json")]
            else:
                value, headers = (
                    event.SerializeToString(),
                    [("content-type", b"application/x-protobuf")],
                )
            acks.append(
                await producer.send(
                    prefix + payload_topic(event),
                    value,
                    key=event.shop_id.encode(),
                    headers=headers,
                )
            )
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


def stored_rows(dsn: str, shops: list[str]) -> Rows:
    rows: Rows = {}
    with psycopg.connect(dsn) as connection:
        for granularity in ("minute", "hour", "day"):
            for shop, product, kpi, bucket, numerator, denominator in connection.execute(
                f"SELECT shop_id, product_id, kpi, bucket, numerator, denominator FROM kpi_{granularity} "
                "WHERE shop_id = ANY(%s)",
                (shops,),
            ):
                rows[(granularity, shop, product, kpi, bucket)] = (
                    Decimal(numerator),
                    None if denominator is None else Decimal(denominator),
                )
    return rows


def late_ids(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as connection:
        return {row[0] for row in connection.execute("SELECT event_id FROM late_events")}


def recorded_ids(dsn: str) -> int:
    with psycopg.connect(dsn) as connection:
        row = connection.execute("SELECT count(*) FROM event_ids").fetchone()
        assert row is not None
        return int(row[0])


def wait_until_recorded(
    dsn: str, expected: int, service: ServiceProcess, seconds: float = 300
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if recorded_ids(dsn) >= expected:
            return
        assert service.process is not None
        assert service.process.poll() is None, service.output()[-3000:]
        time.sleep(0.5)
    raise AssertionError(f"only {recorded_ids(dsn)} of {expected} events recorded in {seconds}s")


@dataclass(frozen=True)
class Scenario:
    events: list[events_pb2.Event]
    delivered: list[events_pb2.Event]
    expected: Rows
    late: set[str]

    @property
    def unique_events(self) -> int:
        return len({(e.shop_id, e.event_id) for e in self.events})


def assert_exact(dsn: str, shops: list[str], scenario: Scenario) -> None:
    expected, late = scenario.expected, scenario.late
    stored = stored_rows(dsn, shops)
    missing = {k: v for k, v in expected.items() if stored.get(k) != v}
    extra = {k: v for k, v in stored.items() if k not in expected}
    assert not extra, f"{len(extra)} unexpected rows, e.g. {list(extra.items())[:3]}"
    assert not missing, (
        f"{len(missing)} rows differ or are missing; "
        f"e.g. {list(missing.items())[:3]} / stored {[stored.get(k) for k in list(missing)[:3]]}"
    )
    assert late_ids(dsn) == late
    assert late, "the scenario should hold some late events"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    events = generated_events(EVENTS)
    delivered = delivery_order(events, random.Random(11))
    counted, late = counted_events(delivered, GRACE)
    return Scenario(events, delivered, reference_rows(counted), late)


@pytest.fixture
def database(database_url: str, scenario: Scenario) -> Iterator[str]:
    with migrated_database(database_url, shops_of(scenario.events)) as dsn:
        yield dsn


def test_kpis_equal_offline_recomputation(
    scenario: Scenario, database: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    shops = sorted(shops_of(scenario.events))
    asyncio.run(produce(kafka_bootstrap, topic_prefix, scenario.delivered, random.Random(3)))
    with run_metrics(topic_prefix, database) as metrics:
        wait_until_recorded(database, scenario.unique_events, metrics)
    assert_exact(database, shops, scenario)


@pytest.mark.exclusive
def test_exact_through_three_kills_and_a_broker_restart(
    scenario: Scenario, database: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    shops = sorted(shops_of(scenario.events))
    expected = scenario.unique_events
    asyncio.run(produce(kafka_bootstrap, topic_prefix, scenario.delivered, random.Random(5)))
    rng = random.Random(17)
    with run_metrics(topic_prefix, database) as metrics:
        for _ in range(3):
            target = recorded_ids(database) + rng.randint(expected // 12, expected // 6)
            while recorded_ids(database) < min(target, expected - 1):
                time.sleep(0.05)
            metrics.kill()
            metrics.start()
        subprocess.run([str(ROOT / "scripts" / "stack"), "restart-kafka"], check=True, timeout=180)
        wait_until_recorded(database, expected, metrics)
    assert_exact(database, shops, scenario)
