"""Wiring: build the pools, clients, registry, trainer and servicer from settings, and run them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import asyncpg
import redis.exceptions
import structlog
from redis.asyncio import Redis

from shopee.forecast.v1 import forecast_pb2_grpc
from shopee_common.grpc_server import GrpcService, serve
from shopee_forecast.adapters.cache import ForecastCache
from shopee_forecast.adapters.churn_requests import ChurnRequests
from shopee_forecast.adapters.jobs import JobLeases, TrainingJobs
from shopee_forecast.adapters.store import ForecastStore
from shopee_forecast.predictions import Predictor
from shopee_forecast.retraining import JobRunner, start_schedule
from shopee_forecast.servicer import ForecastServicer
from shopee_forecast.settings import ForecastSettings
from shopee_forecast.training import Trainer, TrainingOptions, make_executor
from shopee_models.registry import ModelRegistry

SERVICE_NAME = "shopee.forecast.v1.ForecastService"
log = structlog.get_logger("forecast")


# What a database or Redis outage raises: the caller may retry, so UNAVAILABLE, not INTERNAL.
# A PostgreSQL restart ends sessions with OperatorInterventionError (admin or crash shutdown,
# "the database system is starting up"); an overloaded one refuses with
# InsufficientResourcesError (too many connections, out of memory, disk full).
OUTAGES = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


@dataclass
class ForecastApp:
    """Everything the service runs on, built once per process (or per test)."""

    settings: ForecastSettings
    pool: asyncpg.Pool
    redis: Redis
    store: ForecastStore
    registry: ModelRegistry
    trainer: Trainer
    predictor: Predictor
    runner: JobRunner
    servicer: ForecastServicer

    def grpc_service(self) -> GrpcService:
        return GrpcService(
            name="forecast",
            full_names=[SERVICE_NAME],
            register=lambda server: forecast_pb2_grpc.add_ForecastServiceServicer_to_server(
                self.servicer, server
            ),
            outages=OUTAGES,
        )

    async def stop(self) -> None:
        """At SIGTERM, after the last call: cancel the on-demand fits and the training jobs (each
        recorded as failed) and kill the worker processes rather than wait for their fits."""
        self.predictor.cancel_shared_work()
        await self.runner.stop()


@asynccontextmanager
async def forecast_app(settings: ForecastSettings) -> AsyncIterator[ForecastApp]:
    """Open the database pool and Redis client, wire the service, close them on exit."""
    dsn = settings.database_url.get_secret_value()
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=settings.forecast_db_pool_size)
    redis = Redis.from_url(settings.redis_url)
    jobs = TrainingJobs(pool, JobLeases(partial(asyncpg.connect, dsn)))
    try:
        store = ForecastStore(pool)
        registry = ModelRegistry(pool, settings.forecast_artefact_root)
        trainer = Trainer(
            store,
            registry,
            make_executor(settings.train_processes),
            TrainingOptions.of(settings),
        )
        churn_requests = ChurnRequests(redis)
        runner = JobRunner(
            store, jobs, trainer, churn_requests, shop_workers=settings.train_processes
        )
        predictor = Predictor(
            store, registry, ForecastCache(redis, settings.forecast_cache_ttl_seconds), trainer
        )
        yield ForecastApp(
            settings=settings,
            pool=pool,
            redis=redis,
            store=store,
            registry=registry,
            trainer=trainer,
            predictor=predictor,
            runner=runner,
            servicer=ForecastServicer(store, predictor, jobs, runner, churn_requests),
        )
    finally:
        await jobs.leases.close()
        await redis.aclose()
        await pool.close()


async def run(settings: ForecastSettings) -> None:
    """Serve until SIGTERM: gRPC, health and metrics, and the retrain schedule."""
    async with forecast_app(settings) as app:
        # The schedule first: the sweep would end a scheduled job this replica can take up.
        scheduler = await start_schedule(app.runner, settings.forecast_retrain_cron)
        if scheduler is not None:
            log.info("retrain scheduled", cron=settings.forecast_retrain_cron)
        abandoned = await app.runner.jobs.fail_abandoned()
        if abandoned:
            log.warning("training jobs of stopped replicas marked failed", jobs=abandoned)
        # Every replica shares the jobs another recorded (a Retrain of every shop).
        joining = asyncio.get_running_loop().create_task(app.runner.keep_joining())

        async def database() -> None:
            await app.store.ping()

        async def redis() -> None:
            await app.redis.ping()

        async def stop_background() -> None:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            joining.cancel()
            await app.stop()

        await serve(
            app.grpc_service(),
            grpc_port=settings.forecast_grpc_port,
            http_port=settings.forecast_http_port,
            readiness_checks={"database": database, "redis": redis},
            on_shutdown=stop_background,
        )
