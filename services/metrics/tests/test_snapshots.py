"""`kpi.updates` snapshots: bounded in size, and kept when the broker cannot take them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from shopee.metrics.v1 import metrics_pb2
from shopee_metrics.adapters.snapshots import MAX_SNAPSHOT_BYTES, SnapshotPublisher
from shopee_metrics.adapters.store import AppliedBatch, KpiRow
from shopee_metrics.domain.buckets import Granularity

START = datetime(2026, 11, 11, tzinfo=UTC)
KPIS = [f"kpi_{index}" for index in range(30)]


class Producer:
    def __init__(self, failing: bool = False) -> None:
        self.failing = failing
        self.sent: list[metrics_pb2.KpiSnapshot] = []

    async def send(self, topic: str, key: bytes, value: bytes, **_: Any) -> asyncio.Future[None]:
        if self.failing:
            raise ConnectionError("broker unreachable")
        self.sent.append(metrics_pb2.KpiSnapshot.FromString(value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def batch(minutes: int, numerator: float) -> AppliedBatch:
    """Every KPI of the shop changed in `minutes` minute buckets."""
    rows = [
        KpiRow(
            Granularity.MINUTE,
            "shop-1",
            "",
            kpi,
            START + m * timedelta(minutes=1),
            numerator,
            None,
            numerator,
        )
        for m in range(minutes)
        for kpi in KPIS
    ]
    return AppliedBatch(rows=rows, time_zones={"shop-1": "Asia/Jakarta"})


async def test_a_catch_up_of_thousands_of_buckets_goes_in_bounded_parts() -> None:
    producer = Producer()
    publisher = SnapshotPublisher(producer, "kpi.updates", interval_seconds=1.0)
    publisher.record(batch(3_000, 1.0))
    assert await publisher.flush() == 1
    assert len(producer.sent) > 1
    assert all(part.ByteSize() <= MAX_SNAPSHOT_BYTES for part in producer.sent)
    # Packed full: a part closes only when its next bucket would not fit.
    assert all(part.ByteSize() > 0.9 * MAX_SNAPSHOT_BYTES for part in producer.sent[:-1])
    buckets = [b.bucket.ToDatetime(tzinfo=UTC) for part in producer.sent for b in part.buckets]
    assert buckets == [START + m * timedelta(minutes=1) for m in range(3_000)]
    assert all(len(b.values) == len(KPIS) for part in producer.sent for b in part.buckets)
    assert {part.time_zone for part in producer.sent} == {"Asia/Jakarta"}


async def test_changes_the_broker_did_not_take_are_sent_at_the_next_flush() -> None:
    producer = Producer(failing=True)
    publisher = SnapshotPublisher(producer, "kpi.updates", interval_seconds=1.0)
    publisher.record(batch(2, 1.0))
    assert await publisher.flush() == 0  # no exception: the job's timer must not crash
    publisher.record(batch(1, 5.0))  # a newer value of the first bucket
    producer.failing = False
    assert publisher.due()
    assert await publisher.flush() == 1
    (snapshot,) = producer.sent
    numerators = [b.values[0].numerator for b in snapshot.buckets]
    assert numerators == [5.0, 1.0]


async def test_a_delivery_that_fails_keeps_only_that_shops_changes() -> None:
    class OneShopUndelivered(Producer):
        async def send(
            self, topic: str, key: bytes, value: bytes, **_: Any
        ) -> asyncio.Future[None]:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if key == b"shop-2":
                done.set_exception(ConnectionError("not delivered"))
            else:
                self.sent.append(metrics_pb2.KpiSnapshot.FromString(value))
                done.set_result(None)
            return done

    producer = OneShopUndelivered()
    publisher = SnapshotPublisher(producer, "kpi.updates", interval_seconds=1.0)
    publisher.record(batch(1, 1.0))
    other = batch(1, 2.0)
    publisher.record(
        AppliedBatch(rows=[row._replace(shop_id="shop-2") for row in other.rows], time_zones={})
    )
    assert await publisher.flush() == 1
    assert [s.shop_id for s in producer.sent] == ["shop-1"]
    assert publisher.due()  # shop-2 is due again at once
