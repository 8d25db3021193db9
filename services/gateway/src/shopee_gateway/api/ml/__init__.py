"""Forecast, model admin, insights and anomaly routes: `router`, and `start(app)` / `stop(app)`
that open and close the gRPC channels to the forecast and insights services (called by the app's
lifespan)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from shopee_gateway.api.ml import anomalies, insights, model_admin, predict
from shopee_gateway.clients.services import Upstreams
from shopee_gateway.settings import GatewaySettings

router = APIRouter()
router.include_router(predict.router)
router.include_router(model_admin.router)
router.include_router(insights.router)
router.include_router(anomalies.router)


async def start(app: FastAPI) -> None:
    """Open the channels to the upstream services (lazily connected: a service that is down
    makes its routes answer 503; it does not stop the gateway)."""
    settings: GatewaySettings = app.state.settings
    app.state.upstreams = Upstreams.connect(
        settings.gateway_forecast_target,
        settings.gateway_insights_target,
        settings.gateway_grpc_deadline_seconds,
    )


async def stop(app: FastAPI) -> None:
    """Close the channels, letting calls in flight finish briefly."""
    upstreams: Upstreams | None = getattr(app.state, "upstreams", None)
    if upstreams is not None:
        await upstreams.close()
        app.state.upstreams = None
