"""The `kpi.updates` reader: one per gateway process, outside any consumer group (every process
sees every snapshot; nothing is committed), from the latest offsets."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping

import structlog
from aiokafka import AIOKafkaConsumer
from google.protobuf.message import DecodeError

from shopee.metrics.v1 import metrics_pb2
from shopee_common.kafka import make_consumer
from shopee_gateway.live.hub import Hub
from shopee_gateway.live.metrics import LiveMetrics
from shopee_gateway.live.snapshots import LiveSnapshot

log = structlog.get_logger("gateway.live")

InvalidateShop = Callable[[str], Awaitable[None]]
RETRY_SECONDS = 1.0


class KpiUpdatesReader:
    """Decodes each snapshot once, hands it to the hub, then invalidates the shop's KPI cache."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        hub: Hub,
        metrics: LiveMetrics,
        invalidate_shop: InvalidateShop,
        client_id: str = "gateway-live",
        security: Mapping[str, object] | None = None,
    ) -> None:
        self._topic = topic
        self._hub = hub
        self._metrics = metrics
        self._invalidate_shop = invalidate_shop
        self._consumer: AIOKafkaConsumer = make_consumer(
            topic,
            bootstrap_servers=bootstrap_servers,
            group_id=None,
            client_id=client_id,
            auto_offset_reset="latest",
            fetch_max_wait_ms=100,
            **(security or {}),
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect and fix the starting offsets (the ends of the partitions) before returning,
        so every snapshot written after start-up is delivered."""
        await self._consumer.start()
        for partition in self._consumer.assignment():
            await self._consumer.position(partition)
        self._task = asyncio.create_task(self._run(), name="kpi-updates-reader")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _run(self) -> None:
        while True:
            try:
                async for record in self._consumer:
                    await self.handle(record.value)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("kpi.updates reader failed; retrying", topic=self._topic)
                await asyncio.sleep(RETRY_SECONDS)

    async def handle(self, value: bytes | None) -> None:
        """Fan one record out; a record that does not decode is counted and skipped."""
        try:
            message = metrics_pb2.KpiSnapshot.FromString(value or b"")
        except DecodeError:
            self._metrics.updates_received.labels("invalid").inc()
            log.warning("kpi.updates record is not a KpiSnapshot", topic=self._topic)
            return
        if not message.shop_id:
            self._metrics.updates_received.labels("invalid").inc()
            return
        snapshot = LiveSnapshot.from_proto(message)
        self._hub.publish(snapshot)
        self._metrics.updates_received.labels("delivered").inc()
        if message.HasField("updated_at"):
            age = time.time() - message.updated_at.ToNanoseconds() / 1e9
            self._metrics.update_age.observe(max(age, 0.0))
        try:
            await self._invalidate_shop(message.shop_id)
        except Exception:
            # A stale cache entry expires with its TTL; the live stream must not stop for it.
            log.warning("kpi cache invalidation failed", shop_id=message.shop_id, exc_info=True)
