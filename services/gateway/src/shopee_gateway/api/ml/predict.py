"""POST /api/predict/sales|traffic|demand|churn|inventory, served by the forecast service over
gRPC."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from shopee.forecast.v1 import forecast_pb2
from shopee_gateway.api.ml.dependencies import UpstreamsDep
from shopee_gateway.api.ml.schemas import (
    ChurnRequest,
    ChurnResponse,
    DemandForecastRequest,
    DemandForecastResponse,
    InventoryRequest,
    InventoryResponse,
    SalesForecastRequest,
    SalesForecastResponse,
    SeriesForecast,
    TrafficForecastRequest,
    TrafficForecastResponse,
)
from shopee_gateway.clients.services import Upstreams, message_dict
from shopee_gateway.errors import problem_responses
from shopee_gateway.repositories.catalog import CatalogRepository
from shopee_gateway.security.dependencies import require, require_shop
from shopee_gateway.security.principal import Principal

router = APIRouter(prefix="/api/predict", tags=["forecasts"])
ForecastReader = Annotated[Principal, Depends(require("forecasts:read"))]
PROBLEMS = problem_responses(401, 403, 404, 409, 422, 503)
CHURN_ORDERS = {
    "probability": forecast_pb2.CHURN_ORDER_PROBABILITY,
    "value_at_risk": forecast_pb2.CHURN_ORDER_VALUE_AT_RISK,
}


async def _forecast(
    upstreams: Upstreams,
    shop_id: str,
    target: forecast_pb2.Target.ValueType,
    horizon_days: int,
    product_id: str = "",
) -> forecast_pb2.ForecastResponse:
    request = forecast_pb2.ForecastRequest(
        shop_id=shop_id, target=target, product_id=product_id, horizon_days=horizon_days
    )
    return await upstreams.call("forecast", upstreams.forecast.Forecast, request)


def _series(response: forecast_pb2.ForecastResponse) -> SeriesForecast:
    return SeriesForecast.model_validate(message_dict(response))


@router.post(
    "/sales",
    summary="Forecast paid GMV and paid orders per shop-local day, with 80% and 95% intervals",
    responses=PROBLEMS,
)
async def predict_sales(
    body: SalesForecastRequest, principal: ForecastReader, upstreams: UpstreamsDep
) -> SalesForecastResponse:
    """Both series are asked for at once; either failing fails the request with its problem."""
    require_shop(principal, body.shop_id)
    results = await asyncio.gather(
        _forecast(upstreams, body.shop_id, forecast_pb2.TARGET_GMV, body.horizon_days),
        _forecast(upstreams, body.shop_id, forecast_pb2.TARGET_ORDERS, body.horizon_days),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    gmv, orders = (r for r in results if not isinstance(r, BaseException))
    return SalesForecastResponse(
        shop_id=body.shop_id,
        time_zone=gmv.time_zone,
        horizon_days=body.horizon_days,
        gmv=_series(gmv),
        orders=_series(orders),
    )


@router.post("/traffic", summary="Forecast unique visitors per shop-local day", responses=PROBLEMS)
async def predict_traffic(
    body: TrafficForecastRequest, principal: ForecastReader, upstreams: UpstreamsDep
) -> TrafficForecastResponse:
    """From the forecast service's visitors model of the shop, with 80% and 95% intervals."""
    require_shop(principal, body.shop_id)
    visitors = await _forecast(
        upstreams, body.shop_id, forecast_pb2.TARGET_VISITORS, body.horizon_days
    )
    return TrafficForecastResponse(
        shop_id=body.shop_id,
        time_zone=visitors.time_zone,
        horizon_days=body.horizon_days,
        visitors=_series(visitors),
    )


@router.post(
    "/demand",
    summary="Forecast units of one product sold per shop-local day, with 80% and 95% intervals",
    responses=PROBLEMS,
)
async def predict_demand(
    body: DemandForecastRequest, principal: ForecastReader, upstreams: UpstreamsDep
) -> DemandForecastResponse:
    """A product not in the shop's catalogue is a 404; one listed too recently for a model, a
    409 saying how much history it needs."""
    require_shop(principal, body.shop_id)
    units = await _forecast(
        upstreams, body.shop_id, forecast_pb2.TARGET_UNITS, body.horizon_days, body.product_id
    )
    return DemandForecastResponse(
        shop_id=body.shop_id,
        product_id=body.product_id,
        time_zone=units.time_zone,
        horizon_days=body.horizon_days,
        units=_series(units),
    )


@router.post(
    "/churn",
    summary="Probability that buyers make no purchase in the next horizon_days, with reasons",
    responses=PROBLEMS,
)
async def predict_churn(
    body: ChurnRequest, principal: ForecastReader, upstreams: UpstreamsDep
) -> ChurnResponse:
    """From the forecast service's churn model of the shop: the buyers asked for, or the shop's
    riskiest, each with the features that raise their risk most, and the model's scores."""
    require_shop(principal, body.shop_id)
    request = forecast_pb2.ChurnRequest(
        shop_id=body.shop_id,
        horizon_days=body.horizon_days,
        buyer_ids=body.buyer_ids,
        limit=body.limit,
        order_by=CHURN_ORDERS[body.order_by],
    )
    return await upstreams.answer(
        "forecast", upstreams.forecast.PredictChurn, request, ChurnResponse
    )


@router.post(
    "/inventory",
    summary="Reorder point, suggested order quantity and expected stock-out date per product",
    responses=PROBLEMS,
)
async def advise_inventory(
    body: InventoryRequest, principal: ForecastReader, upstreams: UpstreamsDep, request: Request
) -> InventoryResponse:
    """From each product's demand forecast and its stock on hand (the catalogue's last stock)."""
    require_shop(principal, body.shop_id)
    asked = forecast_pb2.InventoryRequest(
        shop_id=body.shop_id,
        product_ids=body.product_ids,
        service_level=body.service_level,
        lead_time_days=body.lead_time_days,
        review_period_days=body.review_period_days,
    )
    answer = await upstreams.answer(
        "forecast", upstreams.forecast.AdviseInventory, asked, InventoryResponse
    )
    catalog: CatalogRepository = request.app.state.catalog
    await catalog.name(body.shop_id, answer.items)
    return answer
