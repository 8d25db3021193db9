"""The live KPI stream: `WS /ws/kpis` (`router`), fed by one `kpi.updates` reader per process.

`start(app)` / `stop(app)` are called by the app's lifespan after its pool, settings, KPI cache
and metrics registry are in `app.state`. `app.state.live_settings` may be set beforehand (tests)
to override the SHOPEE_GATEWAY_WS_* settings.
"""

from __future__ import annotations

from fastapi import FastAPI

from shopee_common.kafka import client_security
from shopee_common.topics import KPI_UPDATES
from shopee_gateway.live.consumer import KpiUpdatesReader
from shopee_gateway.live.endpoint import LiveState, router
from shopee_gateway.live.hub import Hub
from shopee_gateway.live.metrics import LiveMetrics
from shopee_gateway.live.settings import LiveSettings
from shopee_gateway.settings import GatewaySettings

__all__ = ["router", "start", "stop"]


async def start(app: FastAPI) -> None:
    """Build the hub and start reading `kpi.updates` from the latest offsets."""
    settings: GatewaySettings = app.state.settings
    live_settings: LiveSettings = getattr(app.state, "live_settings", None) or LiveSettings()
    metrics = LiveMetrics(app.state.metrics_registry)
    hub = Hub()
    app.state.live = LiveState(
        hub=hub,
        metrics=metrics,
        settings=live_settings,
        allowed_origins=frozenset(settings.allowed_origins),
        pool=app.state.pool,
    )
    reader = KpiUpdatesReader(
        settings.kafka_bootstrap_servers,
        settings.topic_prefix + KPI_UPDATES.name,
        hub,
        metrics,
        app.state.kpi_cache.invalidate_shop,
        security=client_security(settings),
    )
    await reader.start()
    app.state.live_reader = reader


async def stop(app: FastAPI) -> None:
    """Stop the reader (sessions end with the server's shutdown)."""
    reader: KpiUpdatesReader | None = getattr(app.state, "live_reader", None)
    if reader is not None:
        await reader.stop()
        app.state.live_reader = None
