"""Wiring: the Faust app, its agent, timers, clients and the web endpoints, from settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import faust
import structlog
from fastapi import FastAPI
from faust.contrib.asgi import serve_asgi
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP
from mode import Service
from prometheus_client import CollectorRegistry

from shopee_common.http import health_router, instrument
from shopee_common.topics import ANOMALIES, DLQ, EVENT_TOPICS, KPI_UPDATES, TRAFFIC
from shopee_metrics.adapters.anomaly_runner import (
    AnomalyMetrics,
    AnomalyRunner,
    anomaly_runner,
    shop_owner,
)
from shopee_metrics.adapters.dead_letters import DeadLetterPublisher
from shopee_metrics.adapters.shops import ShopRegistry
from shopee_metrics.adapters.snapshots import SnapshotPublisher
from shopee_metrics.adapters.store import KpiStore
from shopee_metrics.processor import BatchProcessor, ProcessorMetrics
from shopee_metrics.settings import MetricsSettings

log = structlog.get_logger("metrics")
SNAPSHOT_TICK_SECONDS = 0.1


class Runtime:
    """The clients the agent needs; they exist between the app's start and stop."""

    def __init__(
        self, settings: MetricsSettings, app: faust.App, registry: CollectorRegistry
    ) -> None:
        self.settings = settings
        self.app = app
        self.metrics = ProcessorMetrics(registry)
        self.pool: asyncpg.Pool | None = None
        self.processor: BatchProcessor | None = None
        self.snapshots: SnapshotPublisher | None = None
        # Anomaly detection: a timer over closed hours, apart from the counting path.
        self.anomaly_metrics = AnomalyMetrics(registry)
        self.anomalies: AnomalyRunner | None = None

    async def start(self) -> None:
        settings = self.settings
        self.pool = await asyncpg.create_pool(
            settings.database_url.get_secret_value(), min_size=1, max_size=4
        )
        prefix = settings.topic_prefix
        producer = self.app.producer
        self.snapshots = SnapshotPublisher(
            producer, prefix + KPI_UPDATES.name, settings.metrics_snapshot_interval_seconds
        )
        shops = ShopRegistry(self.pool, settings.metrics_shop_refresh_seconds)
        self.processor = BatchProcessor(
            store=KpiStore(
                self.pool,
                timedelta(seconds=settings.metrics_late_grace_seconds),
                settings.metrics_store_raw_events,
            ),
            dead_letters=DeadLetterPublisher(producer, prefix + DLQ.name),
            metrics=self.metrics,
            known_shops=shops.known,
            on_applied=self.snapshots.record,
            end_offset=self.end_offset,
        )
        if settings.metrics_anomaly_enabled:
            self.anomalies = anomaly_runner(
                self.pool,
                producer,
                prefix + ANOMALIES.name,
                settings,
                self.anomaly_metrics,
                shop_owner(self.app.consumer.assignment, prefix + TRAFFIC.name, TRAFFIC.partitions),
            )
        log.info("metrics job started", topics=[prefix + t.name for t in EVENT_TOPICS])

    async def stop(self) -> None:
        if self.snapshots is not None:
            await self.snapshots.flush()
        if self.pool is not None:
            await self.pool.close()
        log.info("metrics job stopped")

    async def check_database(self) -> None:
        if self.pool is None:
            raise RuntimeError("not started")
        await self.pool.fetchval("SELECT 1")

    def end_offset(self, topic: str, partition: int) -> int | None:
        """The partition's end offset as the consumer last saw it (None before it fetched)."""
        end = self.app.consumer.highwater(TP(topic, partition))
        return int(end) if end is not None else None

    async def check_consumer(self) -> None:
        if not self.app.consumer.assignment():
            raise RuntimeError("no partitions assigned yet")


def create_app(settings: MetricsSettings) -> faust.App:
    """The stream job: one agent over every event topic, applying batches transactionally."""
    registry = CollectorRegistry()
    app = faust.App(
        settings.metrics_app_id,
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(",")],
        store="memory://",
        datadir=settings.metrics_data_dir,
        web_host=settings.metrics_web_host,
        web_port=settings.metrics_web_port,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        topic_allow_declare=False,
        topic_disable_leader=True,
        stream_wait_empty=False,
        broker_session_timeout=settings.metrics_session_timeout_seconds,
        broker_heartbeat_interval=settings.metrics_session_timeout_seconds / 4,
        broker_commit_every=10_000,
        broker_commit_interval=1.0,
        stream_buffer_maxsize=20_000,
        consumer_max_fetch_size=4 * 1024 * 1024,
    )
    app.monitor = PrometheusMonitor(metrics=FaustMetrics.create(registry, "faust_metrics"))
    runtime = Runtime(settings, app, registry)
    app.runtime = runtime  # type: ignore[attr-defined]

    @app.service
    class Resources(Service):
        async def on_start(self) -> None:
            await runtime.start()

        async def on_stop(self) -> None:
            await runtime.stop()

    events = app.topic(
        *[settings.topic_prefix + spec.name for spec in EVENT_TOPICS],
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )

    @app.agent(events, concurrency=1)
    async def count_kpis(stream: Any) -> None:
        async for batch in stream.take_events(
            settings.metrics_batch_max, within=settings.metrics_batch_within_seconds
        ):
            while runtime.processor is None:  # the agent can start before the resources
                await app.sleep(0.05)
            await runtime.processor.process([event.message for event in batch])

    @app.timer(SNAPSHOT_TICK_SECONDS)
    async def publish_snapshots() -> None:
        if runtime.snapshots is not None:
            await runtime.snapshots.flush()

    @app.timer(settings.metrics_anomaly_interval_seconds)
    async def detect_anomalies() -> None:
        if runtime.anomalies is not None:
            await runtime.anomalies.run_safely()

    web = FastAPI(title="metrics stream job", docs_url=None, redoc_url=None)
    web.state.readiness_checks = {
        "postgres": runtime.check_database,
        "kafka": runtime.check_consumer,
    }
    web.include_router(health_router())
    instrument(web, "metrics", registry)
    serve_asgi(
        app,
        web,
        host=settings.metrics_web_host,
        port=settings.metrics_web_port,
        log_config=None,
        access_log=False,
    )
    return app
