"""`kpi.updates`: for each shop whose buckets changed, a snapshot at most once per interval."""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from shopee.metrics.v1 import metrics_pb2
from shopee_metrics.adapters.store import AppliedBatch, KpiRow
from shopee_metrics.domain.buckets import Granularity
from shopee_metrics.domain.contributions import SHOP

GRANULARITY_PB = {
    Granularity.MINUTE: metrics_pb2.GRANULARITY_MINUTE,
    Granularity.HOUR: metrics_pb2.GRANULARITY_HOUR,
    Granularity.DAY: metrics_pb2.GRANULARITY_DAY,
}
PROTOBUF_HEADERS = [("content-type", b"application/x-protobuf")]


class SnapshotPublisher:
    """Collects the changed shop-level rows of committed batches and publishes them throttled:
    a shop whose last snapshot is at least an interval old is sent as soon as a batch changes it
    (leading edge); otherwise its changes wait until the interval has passed (the job's timer)."""

    def __init__(self, producer: Any, topic: str, interval_seconds: float) -> None:
        self._producer = producer
        self._topic = topic
        self._interval = interval_seconds
        self._pending: dict[str, dict[tuple[Granularity, datetime], dict[str, KpiRow]]] = (
            defaultdict(lambda: defaultdict(dict))
        )
        self._time_zones: dict[str, str] = {}
        self._watermarks: dict[str, datetime] = {}
        self._last_sent: dict[str, float] = {}

    def record(self, applied: AppliedBatch) -> None:
        for row in applied.rows:
            if row.product_id == SHOP:
                self._pending[row.shop_id][(row.granularity, row.bucket)][row.kpi] = row
        self._time_zones.update(applied.time_zones)
        for (shop, _), mark in applied.watermarks.items():
            if shop not in self._watermarks or mark > self._watermarks[shop]:
                self._watermarks[shop] = mark

    def due(self) -> bool:
        """Whether a shop has changes and may be sent now."""
        now = time.monotonic()
        return any(
            now - self._last_sent.get(shop, -math.inf) >= self._interval for shop in self._pending
        )

    async def flush(self) -> int:
        """Publish the due snapshots; return how many were sent. Safe to run concurrently: the
        snapshots are taken before the first await."""
        now = time.monotonic()
        due = [
            shop
            for shop in self._pending
            if now - self._last_sent.get(shop, -math.inf) >= self._interval
        ]
        snapshots = []
        for shop in due:
            self._last_sent[shop] = now
            snapshots.append((shop, self._snapshot(shop, self._pending.pop(shop))))
        sends = [
            await self._producer.send(
                self._topic,
                key=shop.encode(),
                value=snapshot.SerializeToString(),
                partition=None,
                timestamp=None,
                headers=PROTOBUF_HEADERS,
            )
            for shop, snapshot in snapshots
        ]
        await asyncio.gather(*sends)
        return len(sends)

    def _snapshot(
        self, shop: str, buckets: dict[tuple[Granularity, datetime], dict[str, KpiRow]]
    ) -> metrics_pb2.KpiSnapshot:
        snapshot = metrics_pb2.KpiSnapshot(shop_id=shop, time_zone=self._time_zones.get(shop, ""))
        snapshot.updated_at.GetCurrentTime()
        if shop in self._watermarks:
            snapshot.watermark.FromDatetime(self._watermarks[shop])
        for (granularity, start), rows in sorted(buckets.items()):
            bucket = snapshot.buckets.add(granularity=GRANULARITY_PB[granularity])
            bucket.bucket.FromDatetime(start)
            for row in rows.values():
                value = bucket.values.add(kpi=row.kpi, numerator=row.numerator)
                if row.value is not None:
                    value.value = row.value
                if row.denominator is not None:
                    value.denominator = row.denominator
        return snapshot
