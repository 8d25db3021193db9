"""The forecast, model admin and insights routes against REAL in-process gRPC servers
(shopee_common's build_server with test servicers implementing the generated base classes):
translation both ways, the shop check before any call, roles, status mapping, retries on
UNAVAILABLE, a stopped server and a slow one."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NoReturn
from uuid import UUID, uuid4

import grpc
import httpx
import pytest
from fastapi import FastAPI

from shopee.forecast.v1 import forecast_pb2, forecast_pb2_grpc
from shopee.insights.v1 import insights_pb2, insights_pb2_grpc
from shopee_common.events import MAX_AMOUNT_MINOR
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
from shopee_gateway.repositories.catalog import CatalogRepository
from shopee_gateway.security.principal import Principal

OWN_SHOP, OTHER_SHOP = "own-shop", "other-tenant-shop"
DEADLINE_SECONDS = 0.5
# Training jobs: started through the gateway for OWN_SHOP, another tenant's, one of every shop.
NEW_JOB, OTHER_JOB, ALL_SHOPS_JOB = (
    "6f1c2b9e-0000-4000-8000-000000000001",
    "6f1c2b9e-0000-4000-8000-000000000002",
    "6f1c2b9e-0000-4000-8000-000000000003",
)

# The `sign_in` fixture (conftest.py): installs the callers an app knows, by access token.
SignIn = Callable[[FastAPI, Mapping[str, Principal]], None]


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
        # A product that sold nothing in its backtest has no MAPE: the forecast service sends NaN.
        mape = math.nan if request.target == forecast_pb2.TARGET_UNITS else 0.1
        response.backtest.add(
            model="prophet", mape=mape, folds=3, horizon_days=request.horizon_days
        )
        return response

    async def PredictChurn(self, request: Any, context: Any) -> forecast_pb2.ChurnResponse:
        await self.script.enter("PredictChurn", request)
        response = forecast_pb2.ChurnResponse(
            shop_id=request.shop_id, horizon_days=request.horizon_days, model_version="churn-1"
        )
        for rank, buyer in enumerate(request.buyer_ids):
            scored = response.buyers.add(
                buyer_id=buyer,
                probability=1 / (rank + 2),
                monetary_minor=10**12 + rank,
                value_at_risk_minor=10**11 + request.order_by,
            )
            scored.reasons.add(feature="recency_days", description="long gap", contribution=0.5)
        return response

    async def AdviseInventory(self, request: Any, context: Any) -> forecast_pb2.InventoryResponse:
        await self.script.enter("AdviseInventory", request)
        response = forecast_pb2.InventoryResponse(
            shop_id=request.shop_id,
            service_level=request.service_level,
            lead_time_days=request.lead_time_days,
        )
        for rank, product in enumerate(request.product_ids or ["P-active"]):
            response.items.add(
                product_id=product,
                stock_on_hand=10**12 + rank,
                reorder_point=12.5,
                suggested_order_quantity=30 + rank,
                expected_stockout_date="2025-12-20" if rank == 0 else "",
                reorder_now=rank == 0,
                model_version="units-1",
            )
        return response

    async def Retrain(self, request: Any, context: Any) -> forecast_pb2.RetrainResponse:
        await self.script.enter("Retrain", request)
        return forecast_pb2.RetrainResponse(job_id=NEW_JOB)

    async def GetTrainingJob(self, request: Any, context: Any) -> forecast_pb2.TrainingJob:
        await self.script.enter("GetTrainingJob", request)
        job = forecast_pb2.TrainingJob(
            job_id=request.job_id,
            state=forecast_pb2.JOB_STATE_RUNNING,
            series_done=3,
            series_total=8,
        )
        job.started_at.FromSeconds(1_764_547_200)
        return job

    async def ListModels(self, request: Any, context: Any) -> forecast_pb2.ListModelsResponse:
        await self.script.enter("ListModels", request)
        response = forecast_pb2.ListModelsResponse()
        model = response.models.add(
            series="forecast:gmv",
            model="prophet",
            version="v7",
            artefact_uri=f"/srv/artefacts/forecast/{request.shop_id}/gmv/v7.joblib",
        )
        model.trained_at.FromSeconds(1_764_547_200)
        model.backtest.add(model="prophet", mape=0.12, folds=3, horizon_days=30)
        return response


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
            items=[
                insights_pb2.Recommendation(product_id=f"P{i + 1}") for i in range(request.limit)
            ],
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


@dataclass
class TrainingJobs:
    """The jobs table as the gateway reads it: each job's shop (None: every shop)."""

    shops: dict[str, str | None]

    async def visible(self, job_id: UUID, shop_ids: Iterable[str]) -> bool:
        return self.shops.get(str(job_id)) in set(shop_ids)


class Catalog(CatalogRepository):
    """product_catalog as the gateway reads it: names of the own shop's products."""

    def __init__(self) -> None:
        """No pool: `names` answers from memory."""

    async def names(self, products: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        named = {(OWN_SHOP, "P1"): "Hydrating Serum 30ml"}
        return {key: named[key] for key in products if key in named}


def viewer(permissions: frozenset[str]) -> Principal:
    return Principal(str(uuid4()), uuid4(), "viewer", permissions, frozenset({OWN_SHOP}))


def member(role: str, permissions: set[str]) -> Principal:
    return Principal(str(uuid4()), uuid4(), role, frozenset(permissions), frozenset({OWN_SHOP}))


# As the roles are seeded (migration 0001): only admin holds shops:manage.
VIEWER = {"kpis:read", "insights:read", "forecasts:read"}
ANALYST = VIEWER | {"exports:create", "alerts:manage", "reports:manage"}
ADMIN = ANALYST | {"users:manage", "shops:manage"}


async def _serve(name: str, full_name: str, register: Any) -> tuple[grpc.aio.Server, int]:
    built = build_server(GrpcService(name=name, full_names=[full_name], register=register))
    await built.server.start()
    return built.server, built.port


@pytest.fixture
async def stack(sign_in: SignIn) -> AsyncIterator[Stack]:
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
    sign_in(app, {"viewer-token": viewer(frozenset({"forecasts:read", "insights:read"}))})
    app.state.training_jobs = TrainingJobs(
        {NEW_JOB: OWN_SHOP, OTHER_JOB: OTHER_SHOP, ALL_SHOPS_JOB: None}
    )
    app.state.catalog = Catalog()
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
    assert stack.script.calls[-1][1].order_by == forecast_pb2.CHURN_ORDER_PROBABILITY
    by_value = await stack.client.post(
        "/api/predict/churn",
        json={"shop_id": OWN_SHOP, "buyer_ids": ["b1"], "order_by": "value_at_risk"},
    )
    assert by_value.status_code == 200, by_value.text
    assert stack.script.calls[-1][1].order_by == forecast_pb2.CHURN_ORDER_VALUE_AT_RISK
    assert by_value.json()["buyers"][0]["value_at_risk_minor"] == 10**11 + 2
    unknown = await stack.client.post(
        "/api/predict/churn", json={"shop_id": OWN_SHOP, "order_by": "spend"}
    )
    assert unknown.status_code == 422
    assert "order_by" in unknown.text


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
    # Named from the catalogue, as the inventory advice is ('' where it has no name).
    assert [i["name"] for i in recommend.json()["items"]] == ["Hydrating Serum 30ml", "", ""]
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
        ("POST", "/api/predict/demand", {"shop_id": OTHER_SHOP, "product_id": "p1"}),
        ("POST", "/api/predict/inventory", {"shop_id": OTHER_SHOP}),
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


async def test_missing_permission_is_403_and_no_token_is_401(stack: Stack, sign_in: SignIn) -> None:
    sign_in(stack.app, {"viewer-token": viewer(frozenset({"kpis:read"}))})
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


PRICE = "/api/insights/optimize-price"
MARKETING = "/api/insights/optimize-marketing"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # Past int64: the request message could not even be built.
        (
            PRICE,
            {"product_id": "p1", "min_price_minor": 2**63},
            "body.min_price_minor",
        ),
        (
            PRICE,
            {"product_id": "p1", "max_price_minor": MAX_AMOUNT_MINOR + 1},
            "body.max_price_minor",
        ),
        (
            PRICE,
            {"product_id": "p1", "unit_cost_minor": MAX_AMOUNT_MINOR + 1},
            "body.unit_cost_minor",
        ),
        (MARKETING, {"total_budget_minor": 2**63}, "body.total_budget_minor"),
        (
            MARKETING,
            {"total_budget_minor": 100, "channels": [{"channel": "c", "min_budget_minor": 2**63}]},
            "body.channels.0.min_budget_minor",
        ),
        (
            MARKETING,
            {
                "total_budget_minor": 100,
                "channels": [{"channel": "c", "max_budget_minor": MAX_AMOUNT_MINOR + 1}],
            },
            "body.channels.0.max_budget_minor",
        ),
    ],
)
async def test_money_above_the_platform_cap_is_422_naming_the_field(
    stack: Stack, path: str, body: dict[str, Any], field: str
) -> None:
    response = await stack.client.post(path, json={"shop_id": OWN_SHOP, **body})
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert stack.script.calls == []


async def test_money_at_the_platform_cap_reaches_the_service(stack: Stack) -> None:
    price = await stack.client.post(
        PRICE,
        json={
            "shop_id": OWN_SHOP,
            "product_id": "p1",
            "min_price_minor": MAX_AMOUNT_MINOR,
            "max_price_minor": MAX_AMOUNT_MINOR,
            "unit_cost_minor": MAX_AMOUNT_MINOR,
        },
    )
    assert price.status_code == 200, price.text
    assert price.json()["recommended_price_minor"] == MAX_AMOUNT_MINOR
    marketing = await stack.client.post(
        MARKETING,
        json={
            "shop_id": OWN_SHOP,
            "total_budget_minor": MAX_AMOUNT_MINOR,
            "channels": [{"channel": "c", "max_budget_minor": MAX_AMOUNT_MINOR}],
        },
    )
    assert marketing.status_code == 200, marketing.text


async def test_demand_forecast_asks_for_the_products_units(stack: Stack) -> None:
    response = await stack.client.post(
        "/api/predict/demand", json={"shop_id": OWN_SHOP, "product_id": "P7", "horizon_days": 5}
    )
    assert response.status_code == 200, response.text
    [(_, request)] = stack.script.calls
    assert (request.target, request.product_id, request.horizon_days) == (
        forecast_pb2.TARGET_UNITS,
        "P7",
        5,
    )
    body = response.json()
    assert (body["shop_id"], body["product_id"], body["horizon_days"]) == (OWN_SHOP, "P7", 5)
    units = body["units"]
    assert units["target"] == "units"
    assert [p["date"] for p in units["points"]] == [f"2025-12-0{day}" for day in range(2, 7)]
    first = units["points"][0]
    assert (first["lower_95"], first["lower_80"], first["upper_80"], first["upper_95"]) == (
        first["value"] - 2,
        first["value"] - 1,
        first["value"] + 1,
        first["value"] + 2,
    )
    assert units["expected_total"] == sum(p["expected"] for p in units["points"])
    assert units["backtest"][0]["mape"] is None


async def test_inventory_advice_passes_the_policy_and_keeps_int64_quantities(stack: Stack) -> None:
    response = await stack.client.post(
        "/api/predict/inventory",
        json={
            "shop_id": OWN_SHOP,
            "product_ids": ["P1", "P2"],
            "service_level": 0.9,
            "lead_time_days": 10,
            "review_period_days": 7,
        },
    )
    assert response.status_code == 200, response.text
    request = stack.script.calls[-1][1]
    assert list(request.product_ids) == ["P1", "P2"]
    assert (request.lead_time_days, request.review_period_days) == (10, 7)
    assert request.service_level == pytest.approx(0.9)
    items = response.json()["items"]
    assert [item["product_id"] for item in items] == ["P1", "P2"]
    assert [item["name"] for item in items] == ["Hydrating Serum 30ml", ""]
    assert items[1]["stock_on_hand"] == 10**12 + 1  # int64 kept exact, as a JSON number
    assert [item["suggested_order_quantity"] for item in items] == [30, 31]
    assert [item["expected_stockout_date"] for item in items] == ["2025-12-20", ""]
    assert [item["reorder_now"] for item in items] == [True, False]
    assert response.json()["lead_time_days"] == 10


async def test_inventory_advice_sends_the_documented_defaults(stack: Stack) -> None:
    response = await stack.client.post("/api/predict/inventory", json={"shop_id": OWN_SHOP})
    assert response.status_code == 200, response.text
    request = stack.script.calls[-1][1]
    # Explicit, never 0: the service would read 0 as its own default, not as "no review period".
    assert (list(request.product_ids), request.lead_time_days, request.review_period_days) == (
        [],
        7,
        14,
    )
    assert request.service_level == pytest.approx(0.95)
    assert response.json()["items"][0]["product_id"] == "P-active"


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("POST", "/api/predict/demand", {"shop_id": OWN_SHOP}, "body.product_id"),
        (
            "POST",
            "/api/predict/demand",
            {"shop_id": OWN_SHOP, "product_id": "P1", "horizon_days": 91},
            "body.horizon_days",
        ),
        ("POST", "/api/predict/demand", {"shop_id": OWN_SHOP, "product_id": ""}, "body.product_id"),
        (
            "POST",
            "/api/predict/inventory",
            {"shop_id": OWN_SHOP, "service_level": 1.0},
            "body.service_level",
        ),
        (
            "POST",
            "/api/predict/inventory",
            {"shop_id": OWN_SHOP, "lead_time_days": 0},
            "body.lead_time_days",
        ),
        (
            "POST",
            "/api/predict/inventory",
            {"shop_id": OWN_SHOP, "review_period_days": 121},
            "body.review_period_days",
        ),
        ("POST", "/api/predict/inventory", {"shop_id": OWN_SHOP, "product": "P1"}, "body.product"),
        (
            "POST",
            "/api/models/retrain",
            {"shop_id": OWN_SHOP, "targets": ["refunds"]},
            "body.targets.0",
        ),
        ("POST", "/api/models/retrain", {}, "body.shop_id"),
        ("GET", "/api/models/jobs", {"job_id": "not-a-uuid"}, "query.job_id"),
        ("GET", "/api/models", {}, "query.shop_id"),
    ],
)
async def test_bad_input_to_the_new_routes_is_422_naming_the_field(
    stack: Stack, sign_in: SignIn, method: str, path: str, payload: dict[str, Any], field: str
) -> None:
    sign_in(stack.app, {"viewer-token": member("admin", ADMIN)})
    if method == "GET":
        response = await stack.client.get(path, params=payload)
    else:
        response = await stack.client.post(path, json=payload)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert stack.script.calls == []


async def test_an_admin_retrains_a_shop_and_follows_the_job(stack: Stack, sign_in: SignIn) -> None:
    sign_in(stack.app, {"viewer-token": member("admin", ADMIN)})
    started = await stack.client.post(
        "/api/models/retrain", json={"shop_id": OWN_SHOP, "targets": ["units", "gmv", "units"]}
    )
    assert started.status_code == 202, started.text
    assert started.json() == {
        "job_id": NEW_JOB,
        "status_url": f"/api/models/jobs?job_id={NEW_JOB}",
    }
    assert started.headers["location"] == started.json()["status_url"]
    [(_, request)] = stack.script.calls
    assert request.shop_id == OWN_SHOP, "never empty: that would retrain every shop"
    assert list(request.targets) == [forecast_pb2.TARGET_UNITS, forecast_pb2.TARGET_GMV]
    job = await stack.client.get(started.json()["status_url"])
    assert job.status_code == 200, job.text
    assert job.json() == {
        "job_id": NEW_JOB,
        "state": "running",
        "series_done": 3,
        "series_total": 8,
        "started_at": "2025-12-01T00:00:00Z",
        "finished_at": None,
        "error": "",
    }
    everything = await stack.client.post("/api/models/retrain", json={"shop_id": OWN_SHOP})
    assert everything.status_code == 202
    assert list(stack.script.calls[-1][1].targets) == [], "empty: every series, churn included"
    assert not stack.script.calls[-1][1].churn
    churn = await stack.client.post(
        "/api/models/retrain", json={"shop_id": OWN_SHOP, "targets": ["churn"]}
    )
    assert churn.status_code == 202
    request = stack.script.calls[-1][1]
    assert (list(request.targets), request.churn) == ([], True), "the churn models only"
    both = await stack.client.post(
        "/api/models/retrain", json={"shop_id": OWN_SHOP, "targets": ["gmv", "churn"]}
    )
    assert both.status_code == 202
    request = stack.script.calls[-1][1]
    assert (list(request.targets), request.churn) == ([forecast_pb2.TARGET_GMV], True)


async def test_an_admin_lists_the_shops_models_without_storage_paths(
    stack: Stack, sign_in: SignIn
) -> None:
    sign_in(stack.app, {"viewer-token": member("admin", ADMIN)})
    response = await stack.client.get("/api/models", params={"shop_id": OWN_SHOP})
    assert response.status_code == 200, response.text
    [model] = response.json()["models"]
    assert (model["series"], model["model"], model["version"]) == ("forecast:gmv", "prophet", "v7")
    assert model["trained_at"] == "2025-12-01T00:00:00Z"
    assert model["backtest"][0]["mape"] == pytest.approx(0.12)
    assert "artefact" not in response.text
    assert stack.script.calls[-1][1].shop_id == OWN_SHOP


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("POST", "/api/models/retrain", {"shop_id": OTHER_SHOP}),
        ("GET", "/api/models", {"shop_id": OTHER_SHOP}),
        ("GET", "/api/models/jobs", {"job_id": OTHER_JOB}),
        ("GET", "/api/models/jobs", {"job_id": ALL_SHOPS_JOB}),
        ("GET", "/api/models/jobs", {"job_id": str(uuid4())}),
    ],
)
async def test_an_admin_never_reaches_another_tenants_models_or_jobs(
    stack: Stack, sign_in: SignIn, method: str, path: str, payload: dict[str, Any]
) -> None:
    sign_in(stack.app, {"viewer-token": member("admin", ADMIN)})
    if method == "GET":
        response = await stack.client.get(path, params=payload)
    else:
        response = await stack.client.post(path, json=payload)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert stack.script.calls == []


@pytest.mark.parametrize(("role", "permissions"), [("analyst", ANALYST), ("viewer", VIEWER)])
async def test_model_admin_is_for_shop_admins_only(
    stack: Stack, sign_in: SignIn, role: str, permissions: set[str]
) -> None:
    sign_in(stack.app, {"viewer-token": member(role, permissions)})
    responses = [
        await stack.client.post("/api/models/retrain", json={"shop_id": OWN_SHOP}),
        await stack.client.get("/api/models/jobs", params={"job_id": NEW_JOB}),
        await stack.client.get("/api/models", params={"shop_id": OWN_SHOP}),
    ]
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert responses[0].json()["detail"] == "missing permission shops:manage"
    assert stack.script.calls == []
    readable = await stack.client.post(
        "/api/predict/demand", json={"shop_id": OWN_SHOP, "product_id": "P1"}
    )
    assert readable.status_code == 200, "forecasts stay readable"


@pytest.mark.parametrize(
    ("method", "path", "payload", "error", "status", "field"),
    [
        (
            "POST",
            "/api/predict/demand",
            {"shop_id": OWN_SHOP, "product_id": "P9"},
            NotFound("product 'P9' is not in shop 'own-shop''s catalog"),
            404,
            None,
        ),
        (
            "POST",
            "/api/predict/demand",
            {"shop_id": OWN_SHOP, "product_id": "P1"},
            FailedPrecondition("forecast/own-shop/units/P1: needs at least 28 days of history"),
            409,
            None,
        ),
        (
            "POST",
            "/api/predict/inventory",
            {"shop_id": OWN_SHOP},
            InvalidArgument("service_level: must be 0.5 to 0.999, got 0.3"),
            422,
            "service_level",
        ),
        (
            "POST",
            "/api/models/retrain",
            {"shop_id": OWN_SHOP},
            NotFound("shop 'own-shop' is not registered"),
            404,
            None,
        ),
        (
            "GET",
            "/api/models/jobs",
            {"job_id": NEW_JOB},
            NotFound(f"training job '{NEW_JOB}' does not exist"),
            404,
            None,
        ),
    ],
)
async def test_new_routes_map_grpc_statuses_to_problems(
    stack: Stack,
    sign_in: SignIn,
    method: str,
    path: str,
    payload: dict[str, Any],
    error: ServiceError,
    status: int,
    field: str | None,
) -> None:
    sign_in(stack.app, {"viewer-token": member("admin", ADMIN)})
    stack.script.errors.append(error)
    if method == "GET":
        response = await stack.client.get(path, params=payload)
    else:
        response = await stack.client.post(path, json=payload)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert error.message.split(": ", 1)[-1] in response.json()["detail"]
    if field is not None:
        assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("POST", "/api/predict/demand", {"shop_id": OWN_SHOP, "product_id": "P1"}),
        ("POST", "/api/predict/inventory", {"shop_id": OWN_SHOP}),
        ("POST", "/api/models/retrain", {"shop_id": OWN_SHOP}),
        ("GET", "/api/models/jobs", {"job_id": NEW_JOB}),
        ("GET", "/api/models", {"shop_id": OWN_SHOP}),
    ],
)
async def test_new_routes_answer_503_while_the_forecast_service_is_down(
    stack: Stack, sign_in: SignIn, method: str, path: str, payload: dict[str, Any]
) -> None:
    sign_in(stack.app, {"viewer-token": member("admin", ADMIN)})
    await stack.servers[0].stop(None)
    if method == "GET":
        response = await stack.client.get(path, params=payload)
    else:
        response = await stack.client.post(path, json=payload)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["service"] == "forecast"
