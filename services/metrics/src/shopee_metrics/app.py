"""Wiring: the Faust worker, the event loop over the topics, timers, clients and the web endpoints,
from settings."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import faust
import structlog
from aiokafka.errors import KafkaError
from fastapi import FastAPI
from faust.contrib.asgi import serve_asgi
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from mode import Service
from prometheus_client import CollectorRegistry

from shopee_common.http import health_router, instrument
from shopee_common.kafka import client_security, ssl_context
from shopee_common.topics import ANOMALIES, DLQ, EVENT_TOPICS, KPI_UPDATES, TRAFFIC
from shopee_metrics.adapters.anomaly_runner import (
    AnomalyMetrics,
    AnomalyRunner,
    anomaly_runner,
    shop_owner,
    unfinished_sources,
)
from shopee_metrics.adapters.dead_letters import DeadLetterPublisher, DeadLetterTable
from shopee_metrics.adapters.event_source import EventSource
from shopee_metrics.adapters.member_pruner import MemberPruner
from shopee_metrics.adapters.shops import ShopRegistry
from shopee_metrics.adapters.snapshots import SnapshotPublisher
from shopee_metrics.adapters.store import AppliedBatch, KpiStore
from shopee_metrics.processor import BatchProcessor, ProcessorMetrics
from shopee_metrics.settings import MetricsSettings
from shopee_metrics.stream import EventLoop

log = structlog.get_logger("metrics")
SNAPSHOT_TICK_SECONDS = 0.1
LAG_TICK_SECONDS = 5.0


class Runtime:
    """The clients the job needs; they exist between the app's start and stop."""

    def __init__(
        self,
        settings: MetricsSettings,
        app: faust.App,
        registry: CollectorRegistry,
        faust_metrics: FaustMetrics,
    ) -> None:
        self.settings = settings
        self.app = app
        self.metrics = ProcessorMetrics(registry)
        self.registry = registry
        self.faust_metrics = faust_metrics
        self.pool: asyncpg.Pool | None = None
        self.source: EventSource | None = None
        self.loop: EventLoop | None = None
        self.snapshots: SnapshotPublisher | None = None
        self._flushes: set[asyncio.Future[int]] = set()
        # Anomaly detection: a timer over closed hours, apart from the counting path.
        self.anomaly_metrics = AnomalyMetrics(registry)
        self.anomalies: AnomalyRunner | None = None
        self.pruner: MemberPruner | None = None

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
        grace = timedelta(seconds=settings.metrics_late_grace_seconds)
        self.pruner = MemberPruner(
            self.pool,
            grace,
            self.registry,
            chunk=settings.metrics_member_prune_chunk,
            duty=settings.metrics_member_prune_duty,
        )
        self.source = source = EventSource(
            [prefix + spec.name for spec in EVENT_TOPICS],
            settings.kafka_bootstrap_servers,
            group_id=settings.metrics_app_id,
            session_timeout_seconds=settings.metrics_session_timeout_seconds,
            faust_metrics=self.faust_metrics,
            security=client_security(settings),
        )
        processor = BatchProcessor(
            store=KpiStore(self.pool, grace, settings.metrics_store_raw_events),
            dead_letters=DeadLetterPublisher(producer, prefix + DLQ.name),
            dead_letter_table=DeadLetterTable(
                self.pool, timedelta(milliseconds=int(DLQ.configs["retention.ms"]))
            ),
            metrics=self.metrics,
            shop_zones=shops.known,
            on_applied=self._applied,
            end_offset=source.end_offset,
        )
        if settings.metrics_anomaly_enabled:
            self.anomalies = anomaly_runner(
                self.pool,
                producer,
                prefix + ANOMALIES.name,
                settings,
                self.anomaly_metrics,
                shop_owner(source.assignment, prefix + TRAFFIC.name, TRAFFIC.partitions),
                unfinished_sources(source.stored_to_end, prefix),
            )
        await source.start()
        self.loop = EventLoop(
            source,
            processor,
            settings.metrics_batch_max,
            settings.metrics_batch_within_seconds,
        )
        self.loop.start()
        log.info("metrics job started", topics=[prefix + t.name for t in EVENT_TOPICS])

    async def stop(self) -> None:
        # Finish and commit the batch in flight before the clients it uses close.
        if self.loop is not None:
            await self.loop.stop()
        if self.source is not None:
            await self.source.stop()
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)
        if self.snapshots is not None:
            await self.snapshots.flush()
        if self.pool is not None:
            await self.pool.close()
        log.info("metrics job stopped")

    def _applied(self, applied: AppliedBatch) -> None:
        """A batch committed: note its changes, and publish at once the shops that are due."""
        snapshots = self.snapshots
        assert snapshots is not None
        snapshots.record(applied)
        if snapshots.due():
            self._flushes.add(flush := asyncio.ensure_future(snapshots.flush()))
            flush.add_done_callback(self._flushed)

    def _flushed(self, flush: asyncio.Future[int]) -> None:
        self._flushes.discard(flush)
        if not flush.cancelled() and flush.exception() is not None:
            log.warning("kpi.updates snapshot not sent", error=repr(flush.exception()))

    async def check_database(self) -> None:
        if self.pool is None:
            raise RuntimeError("not started")
        await self.pool.fetchval("SELECT 1")

    async def record_lag(self) -> None:
        """The consumer-lag gauge, also between batches: a stalled write must show as growing
        lag (the batch path alone would leave the last value standing)."""
        if self.source is None:
            return
        try:
            lag = await self.source.lag()
        except KafkaError as exc:
            log.warning("consumer lag not measured", error=repr(exc))
            return
        current = {(tp.topic, str(tp.partition)): behind for tp, behind in lag.items()}
        for labels, behind in current.items():
            self.metrics.consumer_lag.labels(*labels).set(behind)
        # Partitions moved to another worker: their last value would stand (and alert) forever.
        for labels in self.metrics.lag_labels - current.keys():
            self.metrics.consumer_lag.remove(*labels)
        self.metrics.lag_labels = set(current)

    async def check_consumer(self) -> None:
        if self.source is None or not self.source.assignment():
            raise RuntimeError("no partitions assigned yet")


def broker_credentials(settings: MetricsSettings) -> faust.types.auth.CredentialsT | None:
    """Faust's producer (snapshots, anomalies, dead letters) connects as the event consumer
    does (`client_security`)."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings)
    if settings.kafka_security_protocol == "SSL":
        return faust.SSLCredentials(context)
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        mechanism=settings.kafka_sasl_mechanism,
    )


def create_app(settings: MetricsSettings) -> faust.App:
    """The stream job: a batch consumer over every event topic, applying batches
    transactionally, with Faust running the worker (web endpoints, timers, producer)."""
    registry = CollectorRegistry()
    app = faust.App(
        settings.metrics_app_id,
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(",")],
        broker_credentials=broker_credentials(settings),
        store="memory://",
        datadir=settings.metrics_data_dir,
        web_host=settings.metrics_web_host,
        web_port=settings.metrics_web_port,
        producer_acks=-1,
        topic_allow_declare=False,
        topic_disable_leader=True,
        broker_session_timeout=settings.metrics_session_timeout_seconds,
        broker_heartbeat_interval=settings.metrics_session_timeout_seconds / 4,
    )
    # Faust's own consumer stays off: the event topics are read by EventSource, in batches.
    app.boot_strategy = faust.app.base.BootStrategy(app, enable_kafka_consumer=False)
    faust_metrics = FaustMetrics.create(registry, "faust_metrics")
    app.monitor = PrometheusMonitor(metrics=faust_metrics)
    runtime = Runtime(settings, app, registry, faust_metrics)
    app.runtime = runtime  # type: ignore[attr-defined]

    @app.service
    class Resources(Service):
        async def on_start(self) -> None:
            await runtime.start()

        async def on_stop(self) -> None:
            await runtime.stop()

    @app.timer(SNAPSHOT_TICK_SECONDS)
    async def publish_snapshots() -> None:
        if runtime.snapshots is not None:
            await runtime.snapshots.flush()

    @app.timer(LAG_TICK_SECONDS)
    async def record_lag() -> None:
        await runtime.record_lag()

    @app.timer(settings.metrics_anomaly_interval_seconds)
    async def detect_anomalies() -> None:
        if runtime.anomalies is not None:
            await runtime.anomalies.run_safely()

    @app.timer(settings.metrics_member_prune_interval_seconds)
    async def prune_members() -> None:
        if runtime.pruner is not None:
            await runtime.pruner.prune_safely()

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
