"""Wiring: the pool, the registry, the engine, the servicer and the refresh schedule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from shopee.insights.v1 import insights_pb2_grpc
from shopee_common.grpc_server import GrpcService
from shopee_common.replica import replica_name
from shopee_insights.adapters.refresh_claims import RefreshClaims
from shopee_insights.adapters.repository import CONNECTION_ERRORS, EventRepository
from shopee_insights.engine import REFRESH_ANCHOR, EngineOptions, InsightsEngine
from shopee_insights.servicer import InsightsServicer
from shopee_insights.settings import InsightsSettings
from shopee_models.registry import ModelRegistry

SERVICE_NAME = "shopee.insights.v1.InsightsService"


@dataclass(frozen=True)
class Wiring:
    pool: asyncpg.Pool
    engine: InsightsEngine
    service: GrpcService


def insights_service(servicer: InsightsServicer) -> GrpcService:
    """The gRPC service as `serve` runs it: a lost database is UNAVAILABLE, not INTERNAL."""
    return GrpcService(
        name="insights",
        full_names=[SERVICE_NAME],
        register=lambda server: insights_pb2_grpc.add_InsightsServiceServicer_to_server(
            servicer, server
        ),
        outages=CONNECTION_ERRORS,
    )


def engine_options(settings: InsightsSettings) -> EngineOptions:
    age = settings.insights_max_model_age_hours
    refresh = settings.insights_refresh_minutes
    return EngineOptions(
        holdout_days=settings.insights_holdout_days,
        consumable_repeat_rate=settings.insights_consumable_repeat_rate,
        max_model_age=timedelta(hours=age) if age > 0 else None,
        refresh_every=timedelta(minutes=refresh) if refresh > 0 else None,
        data_dir=Path(settings.insights_data_dir) if settings.insights_data_dir else None,
        catalog_cache=timedelta(seconds=settings.insights_catalog_cache_seconds),
    )


@asynccontextmanager
async def wired(settings: InsightsSettings, seed: int | None = None) -> AsyncIterator[Wiring]:
    """Everything the service needs, closed on exit."""
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(), min_size=1, max_size=8
    )
    try:
        engine = InsightsEngine(
            EventRepository(pool),
            ModelRegistry(pool, settings.insights_artefact_root),
            engine_options(settings),
            RefreshClaims(pool, replica_name()),
        )
        service = insights_service(InsightsServicer(engine, seed=seed))
        yield Wiring(pool=pool, engine=engine, service=service)
    finally:
        await pool.close()


def refresh_scheduler(engine: InsightsEngine, every: timedelta) -> AsyncIOScheduler:
    """Retrain every shop's models at each multiple of `every` since REFRESH_ANCHOR, each shop on
    the replica that claims it for the firing (one run at a time, late runs merged)."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        engine.scheduled_refresh,
        IntervalTrigger(seconds=every.total_seconds(), start_date=REFRESH_ANCHOR, timezone="UTC"),
        args=[every],
        id="refresh-models",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
