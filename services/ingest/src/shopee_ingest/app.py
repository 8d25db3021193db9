"""Wiring: builds the ingest app and its clients from settings (the one place that does)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import asyncpg
import structlog
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from shopee_common.http import BodySizeLimit, health_router, instrument, problem
from shopee_common.kafka import client_security, make_producer
from shopee_ingest.adapters.api_keys import ApiKeyAuthority, parse_static_keys
from shopee_ingest.adapters.import_progress import ImportProgressStore
from shopee_ingest.adapters.publisher import KafkaEventPublisher
from shopee_ingest.api import events, imports
from shopee_ingest.api.deps import IngestComponents
from shopee_ingest.metrics import IngestMetrics
from shopee_ingest.settings import IngestSettings

log = structlog.get_logger("ingest")
DRAIN_SECONDS = 25.0


def create_app(settings: IngestSettings) -> FastAPI:
    """The ingest FastAPI app; clients start in the lifespan and stop (draining) on shutdown."""
    registry = CollectorRegistry()
    metrics = IngestMetrics(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        producer = make_producer(
            settings.kafka_bootstrap_servers, client_id="ingest", **client_security(settings)
        )
        await producer.start()
        pool = await asyncpg.create_pool(
            settings.database_url.get_secret_value(), min_size=1, max_size=4
        )
        redis = Redis.from_url(settings.redis_url)
        publisher = KafkaEventPublisher(
            producer, settings.topic_prefix, settings.ingest_publish_timeout_seconds, metrics
        )
        app.state.components = IngestComponents(
            settings=settings,
            publisher=publisher,
            authority=ApiKeyAuthority(
                parse_static_keys(settings.ingest_api_keys.get_secret_value()),
                pool,
                settings.ingest_key_cache_seconds,
            ),
            progress=ImportProgressStore(redis),
            metrics=metrics,
        )
        app.state.imports = set()
        app.state.readiness_checks = {
            "kafka": publisher.check,
            "postgres": partial(pool.fetchval, "SELECT 1"),
            "redis": app.state.components.progress.check,
        }
        log.info(
            "ingest ready", kafka=settings.kafka_bootstrap_servers, prefix=settings.topic_prefix
        )
        try:
            yield
        finally:
            # Finish imports in flight, then flush the producer so nothing acknowledged is lost.
            if app.state.imports:
                await asyncio.wait(app.state.imports, timeout=DRAIN_SECONDS)
            await producer.stop()
            await pool.close()
            await redis.aclose()
            log.info("ingest stopped")

    app = FastAPI(
        title="Shopee Analytics ingest API",
        version="1.0.0",
        summary="Push order, traffic, campaign, chat, review and catalogue events, or upload "
        "Seller Centre export files.",
        lifespan=lifespan,
        responses={401: {"description": "missing or invalid API key"}},
    )
    app.add_middleware(
        BodySizeLimit,
        max_bytes=max(settings.ingest_max_body_bytes, settings.ingest_max_import_bytes),
    )
    app.include_router(events.router)
    app.include_router(imports.router)
    app.include_router(health_router())
    instrument(app, "ingest", registry)
    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, _TITLES.get(exc.status_code, "Error"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"][1:]) or "(request)", "message": e["msg"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")


_TITLES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    503: "Service unavailable",
}
