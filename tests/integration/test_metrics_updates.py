"""`kpi.updates`: a snapshot for each shop whose buckets changed, at most one per shop per second,
with the same absolute values the database holds."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from shopee.metrics.v1 import metrics_pb2
from shopee_common.kafka import make_consumer, make_producer
from tests.integration.databases import migrated_database
from tests.integration.live_orders import paid_order
from tests.integration.service_process import run_metrics

pytestmark = pytest.mark.integration

SHOPS = {"updates-a": "Asia/Jakarta", "updates-b": "Asia/Manila"}


@pytest.fixture
def database(database_url: str) -> Iterator[str]:
    with migrated_database(database_url, SHOPS) as dsn:
        yield dsn


async def test_snapshots_are_throttled_per_shop_and_match_the_database(
    database: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    consumer = make_consumer(
        topic_prefix + "kpi.updates",
        bootstrap_servers=kafka_bootstrap,
        group_id=None,
        client_id="updates-test",
    )
    received: dict[str, list[tuple[float, metrics_pb2.KpiSnapshot]]] = defaultdict(list)
    with run_metrics(topic_prefix, database) as metrics:
        await consumer.start()
        producer = make_producer(kafka_bootstrap, client_id="updates-test")
        await producer.start()
        sent = 0
        started = time.monotonic()
        while time.monotonic() - started < 5:
            for shop in SHOPS:
                event = paid_order(shop, SHOPS[shop], order_id=f"{shop}-{sent}")
                await producer.send_and_wait(
                    topic_prefix + "events.orders", event.SerializeToString(), key=shop.encode()
                )
                sent += 1
            await asyncio.sleep(0.02)
        await producer.stop()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    snapshot = metrics_pb2.KpiSnapshot.FromString(record.value)
                    assert record.key == snapshot.shop_id.encode()
                    received[snapshot.shop_id].append((record.timestamp / 1000, snapshot))
            if sum(_latest_paid(r) for r in received.values()) == sent:
                break
        await consumer.stop()
        async with httpx.AsyncClient() as http:
            exposition = (await http.get(f"{metrics.url}/metrics")).text
    assert f'metrics_events_total{{outcome="counted"}} {float(sent)}' in exposition
    lag = [line for line in exposition.splitlines() if line.startswith("metrics_consumer_lag{")]
    assert lag, "consumer lag is reported per partition read"
    assert all(line.endswith(" 0.0") for line in lag), lag
    assert set(received) == set(SHOPS)
    for shop, snapshots in received.items():
        times = [t for t, _ in snapshots]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert len(snapshots) >= 3, f"{shop}: {len(snapshots)} snapshots in 5 s"
        assert min(gaps) >= 0.9, f"{shop}: snapshots {min(gaps):.2f} s apart"
        assert snapshots[-1][1].time_zone == SHOPS[shop]
    with psycopg.connect(database) as connection:
        for shop, snapshots in received.items():
            row = connection.execute(
                "SELECT numerator FROM kpi_day WHERE shop_id = %s AND product_id = '' AND kpi = 'paid_orders'",
                (shop,),
            ).fetchone()
            assert row is not None
            assert _latest_paid(snapshots) == int(row[0])


def _latest_paid(snapshots: list[tuple[float, metrics_pb2.KpiSnapshot]]) -> int:
    """paid_orders of the newest day bucket the shop's snapshots carried."""
    days = [
        (bucket.bucket.seconds, value.numerator)
        for _, snapshot in snapshots
        for bucket in snapshot.buckets
        if bucket.granularity == metrics_pb2.GRANULARITY_DAY
        for value in bucket.values
        if value.kpi == "paid_orders"
    ]
    return int(max(days)[1]) if days else 0
