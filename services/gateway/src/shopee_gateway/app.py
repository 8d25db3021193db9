"""Wiring: builds the gateway app and its clients from settings (the one place that does)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from shopee_common.http import BodySizeLimit, health_router, instrument
from shopee_gateway import dashboard, live, openapi
from shopee_gateway.api import auth, exports, kpis, ml, shops, users, views
from shopee_gateway.cache import KpiCache
from shopee_gateway.errors import install_error_handlers
from shopee_gateway.ratelimit import RateLimits
from shopee_gateway.repositories.accounts import AccountsRepository
from shopee_gateway.repositories.catalog import CatalogRepository
from shopee_gateway.repositories.kpis import KpiRepository
from shopee_gateway.repositories.members import MembersRepository
from shopee_gateway.repositories.training_jobs import TrainingJobsRepository
from shopee_gateway.repositories.views import ViewsRepository
from shopee_gateway.security.authenticator import Authenticator
from shopee_gateway.security.passwords import Passwords
from shopee_gateway.security.tokens import TokenKeys, TokenService, TokenUse
from shopee_gateway.settings import GatewaySettings

log = structlog.get_logger("gateway")

DESCRIPTION = """
The public API of Shopee Analytics: KPIs, exports, saved views, users and API keys, forecasts,
anomalies and insights, and the live KPI stream (`WS /ws/kpis`).

**Sign in** with `POST /api/auth/token` (e-mail + password) and send the access token as
`Authorization: Bearer <token>`, or send a machine key as `X-API-Key: sk_...`. Everything you
see is limited to your organisation's shops. Errors are RFC 9457 problem details
(`application/problem+json`).
"""


def token_keys(settings: GatewaySettings) -> TokenKeys:
    """The configured JWT keys; a throwaway pair in development when none is set."""
    signing = settings.gateway_jwt_signing_key.get_secret_value()
    if not signing:
        log.warning("no SHOPEE_GATEWAY_JWT_SIGNING_KEY: tokens are signed by a throwaway key")
        return TokenKeys.generate(settings.gateway_jwt_signing_kid)
    return TokenKeys.from_pem(
        settings.gateway_jwt_signing_kid, signing, settings.gateway_jwt_verification_keys
    )


async def _init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


# Part of the app but started and stopped with it: modules with `router`, `start`, `stop`.
EXTENSIONS = (live, ml)


def create_app(settings: GatewaySettings, keys: TokenKeys | None = None) -> FastAPI:
    """The gateway app; clients start in the lifespan and stop (draining) on shutdown.

    `keys` overrides the configured JWT keys (tests sign their own hostile tokens).
    """
    registry = CollectorRegistry()
    tokens = TokenService(
        keys or token_keys(settings),
        issuer=settings.gateway_jwt_issuer,
        audience=settings.gateway_jwt_audience,
        lifetimes={
            TokenUse.ACCESS: settings.gateway_access_token_seconds,
            TokenUse.REFRESH: settings.gateway_refresh_token_seconds,
            TokenUse.INVITATION: settings.gateway_invitation_seconds,
        },
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            settings.database_url.get_secret_value(),
            min_size=1,
            max_size=settings.gateway_database_pool_size,
            init=_init_connection,
            # asyncpg prepares every statement; after five runs PostgreSQL may switch to a
            # generic plan, which for the KPI reads guesses a handful of rows and scans the
            # whole index (6x slower on a year of days). Planning for the actual shops and
            # period costs well under a millisecond. No JIT: past jit_above_cost a KPI read of
            # tens of ms spent 18 to 77 ms more compiling (EXPLAIN ANALYZE, docs/gateway.md).
            server_settings={"plan_cache_mode": "force_custom_plan", "jit": "off"},
        )
        redis = Redis.from_url(settings.redis_url)
        accounts = AccountsRepository(pool)
        app.state.settings = settings
        app.state.pool = pool
        app.state.redis = redis
        app.state.members = MembersRepository(pool)
        app.state.kpis = KpiRepository(pool)
        app.state.catalog = CatalogRepository(pool)
        app.state.views = ViewsRepository(pool)
        app.state.training_jobs = TrainingJobsRepository(pool)
        app.state.authenticator = Authenticator(
            accounts, tokens, Passwords(), redis, settings.gateway_redis_prefix
        )
        app.state.rate_limits = RateLimits(
            settings.redis_url,
            settings.gateway_redis_prefix,
            settings.gateway_rate_limit,
            settings.gateway_login_rate_limit,
        )
        app.state.kpi_cache = KpiCache(
            redis, settings.gateway_redis_prefix, settings.gateway_kpi_cache_seconds
        )
        app.state.metrics_registry = registry
        started: list[Any] = []
        try:
            for module in EXTENSIONS:
                await module.start(app)
                started.append(module)
            app.state.readiness_checks = {
                "postgres": partial(pool.fetchval, "SELECT 1"),
                "redis": redis.ping,
            }
            log.info("gateway ready", port=settings.gateway_port)
            yield
        finally:
            # uvicorn has stopped intake and finished requests in flight by the time we get here.
            for module in reversed(started):
                await module.stop(app)
            await pool.close()
            await redis.aclose()
            log.info("gateway stopped")

    app = FastAPI(
        title="Shopee Analytics API",
        version="1.0.0",
        summary="KPIs, exports, forecasts, anomalies and insights for Shopee sellers.",
        description=DESCRIPTION,
        lifespan=lifespan,
        servers=[{"url": settings.gateway_public_url}],
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.gateway_max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-API-Key"],
    )
    for router in (
        auth.router,
        users.router,
        shops.router,
        kpis.router,
        exports.router,
        views.router,
    ):
        app.include_router(router)
    for module in EXTENSIONS:
        app.include_router(module.router)
    app.include_router(health_router())
    dashboard.install(app)
    instrument(app, "gateway", registry)
    install_error_handlers(app)
    openapi.install(app)
    return app
