"""The forecast and insights routes against REAL in-process gRPC servers (shopee_common's
build_server with test servicers implementing the generated base classes): translation both
ways, the shop check before any call, status mapping, retries on UNAVAILABLE, a stopped server
and a slow one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NoReturn
from uuid import uuid4

import grpc
import httpx
import pytest
from fastapi import FastAPI

from shopee.forecast.v1 import forecast_pb2, forecast_pb2_grpc
from shopee.insights.v1 import insights_pb2, insights_pb2_grpc
from shopee_common.grpc_server import (
    FailedPrecondition,
    GrpcService,
    InvalidArgument,
    NotFound,
    ServiceError,
    Unavailable,
    build_server,
)
from shopee_gateway.api import ml
from shopee_gateway.clients.services import Upstreams
from shopee_gateway.errors import install_error_handlers
from shopee_gateway.security.principal import Principal
from shopee_gateway.security.tokens import AuthenticationError

OWN_SHOP, OTHER_SHOP = "own-shop", "other-tenant-shop"
DEADLINE_SECONDS = 0.5


@dataclass
class Script:
    """What the test servicers do: errors to raise (popped per call), a delay, the calls seen."""

    errors: list[ServiceError] = field(default_factory=list)
    delay_seconds: float = 0.0
    calls: list[tuple[str, Any]] = field(default_factory=list)

    async def enter(self, method: str, request: Any) -> None:
        self.calls.append((method, request))
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.errors:
            raise self.errors.pop(0)


async def unimplemented(context: Any) -> NoReturn:
    """The answer of the rpcs the gateway never calls (abort raises)."""
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not used by the gateway")
    raise AssertionError("context.abort returned")


class Forecasts(forecast_pb2_grpc.ForecastServiceServicer):
    """Answers computed from the request: a point per day of the horizon, value = day index."""

    def __init__(self, script: Script) -> None:
        self.script = script

    async def Forecast(self, request: Any, context: Any) -> forecast_pb2.ForecastResponse:
        await self.script.enter("Forecast", request)
        start = date(2025, 12, 1)
        response = forecast_pb2.ForecastResponse(
            shop_id=request.shop_id,
            target=request.target,
            time_zone="Asia/Jakarta",
            model="prophet",
            model_version=f"v-{request.target}",
            history_end=start.isoformat(),
        )
        response.trained_at.FromSeconds(1_764_547_200)
        for day in range(request.horizon_days):
            value = float(day + request.target)
            response.points.add(
                date=(start + timedelta(days=day + 1)).isoformat(),
                value=value,
                lower_80=value - 1,
                upper_80=value + 1,
                lower_95=value - 2,
                upper_95=value + 2,
                expected=value + 0.5,
            )
        response.expected_total = sum(point.expected for point in response.points)
        response.backtest.add(model="prophet", mape=0.1, folds=3, horizon_days=request.horizon_days)
        return response

    async def PredictChurn(self, request: Any, context: Any) -> forecast_pb2.ChurnResponse:
        await self.script.enter("PredictChurn", request)
        response = forecast_pb2.ChurnResponse(
            shop_id=request.shop_id, horizon_days=request.horizon_days, model_version="churn-1"
        )
        for rank, buyer in enumerate(request.buyer_ids):
            scored = response.buyers.add(
                buyer_id=buyer, probability=1 / (rank + 2), monetary_minor=10**12 + rank
            )
            scored.reasons.add(feature="recency_days", description="long gap", contribution=0.5)
        return response

    # The gateway does not call these.
    async def AdviseInventory(self, request: Any, context: Any) -> forecast_pb2.InventoryResponse:
        await unimplemented(context)

    async def Retrain(self, request: Any, context: Any) -> forecast_pb2.RetrainResponse:
        await unimplemented(context)

    async def GetTrainingJob(self, request: Any, context: Any) -> forecast_pb2.TrainingJob:
        await unimplemented(context)

    async def ListModels(self, request: Any, context: Any) -> forecast_pb2.ListModelsResponse:
        await unimplemented(context)


class Insights(insights_pb2_grpc.InsightsServiceServicer):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def GetSegments(self, request: Any, context: Any) -> insights_pb2.SegmentsResponse:
        await self.script.enter("GetSegments", request)
        return insights_pb2.SegmentsResponse(
            shop_id=request.shop_id,
            algorithm=request.algorithm,
            model_version="seg-1",
            segments=[insights_pb2.Segment(segment_id=1, name="Champions", buyers=12)],
        )

    async def Recommend(self, request: Any, context: Any) -> insights_pb2.RecommendResponse:
        await self.script.enter("Recommend", request)
        strategy = (
            insights_pb2.STRATEGY_ALS if request.buyer_id else insights_pb2.STRATEGY_COLD_START
        )
        return insights_pb2.RecommendResponse(
            shop_id=request.shop_id,
            strategy=strategy,
            items=[insights_pb2.Recommendation(product_id=f"p{i}") for i in range(request.limit)],
        )

    async def OptimizePrice(self, request: Any, context: Any) -> insights_pb2.OptimizePriceResponse:
        await self.script.enter("OptimizePrice", request)
        return insights_pb2.OptimizePriceResponse(
            shop_id=request.shop_id,
            product_id=request.product_id,
            recommended_price_minor=request.max_price_minor,
            source=insights_pb2.ELASTICITY_SOURCE_CATEGORY,
        )

    async def OptimizeMarketing(
        self, request: Any, context: Any
    ) -> insights_pb2.OptimizeMarketingResponse:
        await self.script.enter("OptimizeMarketing", request)
        share = request.total_budget_minor // max(len(request.channels), 1)
        return insights_pb2.OptimizeMarketingResponse(
            shop_id=request.shop_id,
            mode=request.mode,
            allocations=[
                insights_pb2.ChannelAllocation(channel=c.channel, budget_minor=share)
                for c in request.channels
            ],
        )

    async def GetSentiment(self, request: Any, context: Any) -> insights_pb2.SentimentResponse:
        await self.script.enter("GetSentiment", request)
        response = insights_pb2.SentimentResponse(
            shop_id=request.shop_id, product_id=request.product_id
        )
        response.overall.texts = 3
        response.trend.add(week=request.from_date or "none")
        return response

    async def ScoreTexts(self, request: Any, context: Any) -> insights_pb2.ScoreTextsResponse:
        await unimplemented(context)


@dataclass
class Stack:
    app: FastAPI
    client: httpx.AsyncClient
    script: Script
    servers: list[grpc.aio.Server]


class Tokens:
    """The authenticator the routes see: one token for a viewer of OWN_SHOP."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    async def principal_from_access_token(self, token: str) -> Principal:
        if token != "viewer-token":
            raise AuthenticationError("bad token")
        return self.principal

    async def principal_from_api_key(self, key: str) -> Principal:
        raise AuthenticationError("no keys here")


class NoLimits:
    async def check_principal(self, principal: Principal) -> None:
        return None


def viewer(permissions: frozenset[str]) -> Principal:
    return Principal(str(uuid4()), uuid4(), "viewer", permissions, frozenset({OWN_SHOP}))


async def _serve(name: str, full_name: str, register: Any) -> tuple[grpc.aio.Server, int]:
    built = build_server(GrpcService(name=name, full_names=[full_name], register=register))
    await built.server.start()
    return built.server, built.port


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    script = Script()
    forecast_server, forecast_port = await _serve(
        "forecast",
        "shopee.forecast.v1.ForecastService",
        lambda s: forecast_pb2_grpc.add_ForecastServiceServicer_to_server(Forecasts(script), s),
    )
    insights_server, insights_port = await _serve(
        "insights",
        "shopee.insights.v1.InsightsService",
        lambda s: insights_pb2_grpc.add_InsightsServiceServicer_to_server(Insights(script), s),
    )
    app = FastAPI()
    app.include_router(ml.router)
    install_error_handlers(app)
    app.state.authenticator = Tokens(viewer(frozenset({"forecasts:read", "insights:read"})))
    app.state.rate_limits = NoLimits()
    upstreams = Upstreams.connect(
        f"127.0.0.1:{forecast_port}", f"127.0.0.1:{insights_port}", DEADLINE_SECONDS
    )
    app.state.upstreams = upstreams
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer viewer-token"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gw", headers=headers
    ) as client:
        yield Stack(app, client, script, [forecast_server, insights_server])
    await upstreams.close()
    for server in (forecast_server, insights_server):
        await server.stop(None)


async def test_sales_forecast_asks_for_gmv_and_orders_and_returns_both(stack: Stack) -> None:
    response = await stack.client.post(
        "/api/predict/sales", json={"shop_id": OWN_SHOP, "horizon_days": 7}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(request.target for _, request in stack.script.calls) == [
        forecast_pb2.TARGET_GMV,
        forecast_pb2.TARGET_ORDERS,
    ]
    assert body["time_zone"] == "Asia/Jakarta"
    assert body["gmv"]["target"] == "gmv"
    assert body["orders"]["target"] == "orders"
    assert [p["date"] for p in body["gmv"]["points"]][:2] == ["2025-12-02", "2025-12-03"]
    assert len(body["orders"]["points"]) == 7
    assert body["gmv"]["points"][0]["value"] == forecast_pb2.TARGET_GMV
    assert body["gmv"]["points"][0]["expected"] == forecast_pb2.TARGET_GMV + 0.5
    assert body["gmv"]["expected_total"] == sum(p["expected"] for p in body["gmv"]["points"])
    assert body["gmv"]["trained_at"] == "2025-12-01T00:00:00Z"
    assert body["gmv"]["backtest"][0]["horizon_days"] == 7


async def test_traffic_and_churn_translate_requests_and_int64_money(stack: Stack) -> None:
    traffic = await stack.client.post("/api/predict/traffic", json={"shop_id": OWN_SHOP})
    assert traffic.status_code == 200, traffic.text
    assert traffic.json()["visitors"]["target"] == "visitors"
    assert len(traffic.json()["visitors"]["points"]) == 30  # the documented default horizon
    churn = await stack.client.post(
        "/api/predict/churn",
        json={"shop_id": OWN_SHOP, "buyer_ids": ["b1", "b2"], "horizon_days": 60},
    )
    assert churn.status_code == 200, churn.text
    buyers = churn.json()["buyers"]
    assert [b["buyer_id"] for b in buyers] == ["b1", "b2"]
    assert buyers[1]["monetary_minor"] == 10**12 + 1  # int64 kept exact, as a JSON number
    assert buyers[0]["reasons"][0]["feature"] == "recency_days"
    assert churn.json()["horizon_days"] == 60


async def test_insights_routes_translate_enums_and_optional_fields(stack: Stack) -> None:
    client = stack.client
    segments = await client.get(
        "/api/insights/segments", params={"shop_id": OWN_SHOP, "algorithm": "dbscan"}
    )
    assert segments.status_code == 200, segments.text
    assert segments.json()["algorithm"] == "dbscan"
    assert segments.json()["segments"][0]["name"] == "Champions"
    recommend = await client.post(
        "/api/insights/recommend", json={"shop_id": OWN_SHOP, "product_id": "p9", "limit": 3}
    )
    assert recommend.json()["strategy"] == "cold_start"
    assert len(recommend.json()["items"]) == 3
    price = await client.post(
        "/api/insights/optimize-price",
        json={"shop_id": OWN_SHOP, "product_id": "p1", "max_price_minor": 250_000},
    )
    assert price.json()["recommended_price_minor"] == 250_000
    assert price.json()["source"] == "category"
    price_request = stack.script.calls[-1][1]
    assert (price_request.min_price_minor, price_request.unit_cost_minor) == (0, 0)
    marketing = await client.post(
        "/api/insights/optimize-marketing",
        json={
            "shop_id": OWN_SHOP,
            "total_budget_minor": 900,
            "channels": [{"channel": "ads_search"}, {"channel": "affiliate"}],
            "mode": "bandit",
        },
    )
    assert marketing.status_code == 200, marketing.text
    assert marketing.json()["mode"] == "bandit"
    assert [a["budget_minor"] for a in marketing.json()["allocations"]] == [450, 450]
    sentiment = await client.get(
        "/api/insights/sentiment", params={"shop_id": OWN_SHOP, "from_date": "2025-10-01"}
    )
    assert sentiment.json()["trend"][0]["week"] == "2025-10-01"
    assert sentiment.json()["overall"]["texts"] == 3
    sentiment_request = stack.script.calls[-1][1]  # one bound alone: the service defaults the other
    assert (sentiment_request.from_date, sentiment_request.to_date) == ("2025-10-01", "")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/predict/sales", {"shop_id": OTHER_SHOP}),
        ("POST", "/api/predict/traffic", {"shop_id": OTHER_SHOP}),
        ("POST", "/api/predict/churn", {"shop_id": OTHER_SHOP}),
        ("GET", "/api/insights/segments", {"shop_id": OTHER_SHOP}),
        ("POST", "/api/insights/recommend", {"shop_id": OTHER_SHOP}),
        ("POST", "/api/insights/optimize-price", {"shop_id": OTHER_SHOP, "product_id": "p1"}),
        (
            "POST",
            "/api/insights/optimize-marketing",
            {"shop_id": OTHER_SHOP, "total_budget_minor": 100},
        ),
        ("GET", "/api/insights/sentiment", {"shop_id": OTHER_SHOP}),
    ],
)
async def test_another_tenants_shop_is_404_before_any_upstream_call(
    stack: Stack, method: str, path: str, body: dict[str, Any]
) -> None:
    if method == "GET":
        response = await stack.client.get(path, params=body)
    else:
        response = await stack.client.post(path, json=body)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert stack.script.calls == []


async def test_missing_permission_is_403_and_no_token_is_401(stack: Stack) -> None:
    stack.app.state.authenticator = Tokens(viewer(frozenset({"kpis:read"})))
    forbidden = await stack.client.post("/api/predict/sales", json={"shop_id": OWN_SHOP})
    assert forbidden.status_code == 403
    anonymous = await stack.client.post(
        "/api/predict/sales", json={"shop_id": OWN_SHOP}, headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401
    assert stack.script.calls == []


@pytest.mark.parametrize(
    ("error", "status", "field"),
    [
        (NotFound("shop 'own-shop' is not registered"), 404, None),
        (InvalidArgument("horizon_days: must be 1 to 90, got 120"), 422, "horizon_days"),
        (InvalidArgument("the request makes no sense"), 422, "(request)"),
        (FailedPrecondition("needs at least 56 days of history, has 12"), 409, None),
    ],
)
async def test_grpc_statuses_become_problem_details(
    stack: Stack, error: ServiceError, status: int, field: str | None
) -> None:
    stack.script.errors.append(error)
    response = await stack.client.post("/api/predict/traffic", json={"shop_id": OWN_SHOP})
    assert response.status_code == status
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["status"] == status
    assert error.message.split(": ", 1)[-1] in problem["detail"]
    if field is not None:
        assert problem["errors"][0]["field"] == field
    assert len(stack.script.calls) == 1, "only UNAVAILABLE is retried"


async def test_unavailable_is_retried_with_backoff_then_succeeds(stack: Stack) -> None:
    stack.script.errors.extend([Unavailable("database restarting"), Unavailable("still")])
    response = await stack.client.get("/api/insights/segments", params={"shop_id": OWN_SHOP})
    assert response.status_code == 200, response.text
    assert [method for method, _ in stack.script.calls] == ["GetSegments"] * 3


async def test_unavailable_past_the_retries_is_503(stack: Stack) -> None:
    stack.script.errors.extend([Unavailable("down")] * 3)
    response = await stack.client.get("/api/insights/segments", params={"shop_id": OWN_SHOP})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["service"] == "insights"


async def test_a_stopped_service_is_503_and_the_other_still_answers(stack: Stack) -> None:
    await stack.servers[0].stop(None)
    down = await stack.client.post("/api/predict/sales", json={"shop_id": OWN_SHOP})
    assert down.status_code == 503
    assert down.json()["service"] == "forecast"
    assert "unavailable" in down.json()["detail"]
    up = await stack.client.get("/api/insights/segments", params={"shop_id": OWN_SHOP})
    assert up.status_code == 200


async def test_a_slow_service_hits_the_deadline_and_is_503(stack: Stack) -> None:
    stack.script.delay_seconds = DEADLINE_SECONDS * 4
    started = asyncio.get_running_loop().time()
    response = await stack.client.post("/api/predict/churn", json={"shop_id": OWN_SHOP})
    elapsed = asyncio.get_running_loop().time() - started
    assert response.status_code == 503
    assert "in time" in response.json()["detail"]
    assert elapsed < DEADLINE_SECONDS * 3, "the deadline bounds the wait; it is not retried"


async def test_bad_requests_are_refused_before_the_service_naming_the_field(stack: Stack) -> None:
    response = await stack.client.post(
        "/api/predict/sales", json={"shop_id": OWN_SHOP, "horizon_days": 365}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.horizon_days"
    unknown = await stack.client.post(
        "/api/insights/recommend", json={"shop_id": OWN_SHOP, "buyer": "typo"}
    )
    assert unknown.status_code == 422
    assert stack.script.calls == []
