"""The ML routes in the real gateway app on the real stack: anomalies read from PostgreSQL and
scoped to the caller's organisation; forecasts and insights over gRPC to in-process servers, with
tenants checked before any call and 503 when a service is down; training jobs kept within their
organisation by their row in forecast_training_jobs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import grpc
import httpx
import orjson
import psycopg
import pytest

from shopee.forecast.v1 import forecast_pb2, forecast_pb2_grpc
from shopee.insights.v1 import insights_pb2, insights_pb2_grpc
from shopee_common.grpc_server import GrpcService, build_server
from shopee_gateway.app import create_app
from tests.integration.gateway_fixtures import (
    World,
    build_world,
    gateway_settings,
    running,
    sign_in,
)
from tests.integration.service_process import free_port

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)
START = datetime(2026, 3, 3, tzinfo=UTC)


async def unimplemented(context: Any) -> NoReturn:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not used by the gateway")
    raise AssertionError("context.abort returned")


class Forecasts(forecast_pb2_grpc.ForecastServiceServicer):
    """Echoes the request into the answer and records which shops and jobs were asked about;
    Retrain records its job in the database as the forecast service does."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.shops: list[str] = []
        self.jobs_read: list[str] = []

    async def Forecast(self, request: Any, context: Any) -> forecast_pb2.ForecastResponse:
        self.shops.append(request.shop_id)
        response = forecast_pb2.ForecastResponse(
            shop_id=request.shop_id, target=request.target, model="seasonal_naive"
        )
        for day in range(request.horizon_days):
            response.points.add(date=f"2026-03-{10 + day:02d}", value=day)
        return response

    async def Retrain(self, request: Any, context: Any) -> forecast_pb2.RetrainResponse:
        self.shops.append(request.shop_id)
        async with await psycopg.AsyncConnection.connect(self.dsn) as connection:
            row = await (
                await connection.execute(
                    "INSERT INTO forecast_training_jobs (shop_id, trigger) VALUES (%s, 'rpc') "
                    "RETURNING id",
                    (request.shop_id or None,),
                )
            ).fetchone()
        assert row is not None
        return forecast_pb2.RetrainResponse(job_id=str(row[0]))

    async def GetTrainingJob(self, request: Any, context: Any) -> forecast_pb2.TrainingJob:
        self.jobs_read.append(request.job_id)
        return forecast_pb2.TrainingJob(job_id=request.job_id, state=forecast_pb2.JOB_STATE_QUEUED)

    # Not called by these tests.
    async def PredictChurn(self, request: Any, context: Any) -> forecast_pb2.ChurnResponse:
        await unimplemented(context)

    async def AdviseInventory(self, request: Any, context: Any) -> forecast_pb2.InventoryResponse:
        await unimplemented(context)

    async def ListModels(self, request: Any, context: Any) -> forecast_pb2.ListModelsResponse:
        await unimplemented(context)


class Insights(insights_pb2_grpc.InsightsServiceServicer):
    def __init__(self) -> None:
        self.shops: list[str] = []

    async def GetSegments(self, request: Any, context: Any) -> insights_pb2.SegmentsResponse:
        self.shops.append(request.shop_id)
        return insights_pb2.SegmentsResponse(shop_id=request.shop_id, algorithm=request.algorithm)

    # Not called by these tests.
    async def Recommend(self, request: Any, context: Any) -> insights_pb2.RecommendResponse:
        await unimplemented(context)

    async def OptimizePrice(self, request: Any, context: Any) -> insights_pb2.OptimizePriceResponse:
        await unimplemented(context)

    async def OptimizeMarketing(
        self, request: Any, context: Any
    ) -> insights_pb2.OptimizeMarketingResponse:
        await unimplemented(context)

    async def GetSentiment(self, request: Any, context: Any) -> insights_pb2.SentimentResponse:
        await unimplemented(context)

    async def ScoreTexts(self, request: Any, context: Any) -> insights_pb2.ScoreTextsResponse:
        await unimplemented(context)


def insert_anomalies(dsn: str, products: dict[str, str]) -> dict[str, list[str]]:
    """Two anomalies per shop of `products` (shop -> one of its products): a critical GMV drop
    of the shop, then a warning on the product's add-to-cart rate; ids by shop."""
    ids: dict[str, list[str]] = {}
    with psycopg.connect(dsn) as connection:
        for index, (shop, product) in enumerate(products.items()):
            for offset, (where, kpis, severity) in enumerate(
                [("", ["gmv", "aov"], "critical"), (product, ["add_to_cart_rate"], "warning")]
            ):
                anomaly_id = str(uuid.uuid4())
                start = START + HOUR * (index * 2 + offset)
                observed = {kpi: 1.0 for kpi in kpis}
                connection.execute(
                    "INSERT INTO anomalies (id, shop_id, product_id, kpis, bucket_start, "
                    "bucket_end, observed, expected, expected_low, expected_high, score, "
                    "severity, detector, explanation) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'test', %s)",
                    (
                        anomaly_id,
                        shop,
                        where,
                        kpis,
                        start,
                        start + HOUR,
                        orjson.dumps(observed).decode(),
                        orjson.dumps(observed).decode(),
                        orjson.dumps(observed).decode(),
                        orjson.dumps(observed).decode(),
                        5.0,
                        severity,
                        f"{shop} {severity}",
                    ),
                )
                ids.setdefault(shop, []).append(anomaly_id)
    return ids


@pytest.fixture(scope="module")
def world(database_url: str) -> Iterator[World]:
    """Organisations A and B with two shops and a user per role each (a private database)."""
    yield from build_world(database_url)


@pytest.fixture(scope="module")
def anomaly_ids(world: World) -> dict[str, list[str]]:
    shops = world.tenants["a"].shops + world.tenants["b"].shops
    return insert_anomalies(world.dsn, {shop: _a_product(world, shop) for shop in shops})


def _a_product(world: World, shop: str) -> str:
    return min(product for named_shop, product in world.names if named_shop == shop)


class Upstream:
    def __init__(self, dsn: str) -> None:
        self.forecasts, self.insights = Forecasts(dsn), Insights()
        self.forecast_server: grpc.aio.Server | None = None


@pytest.fixture
async def upstream(world: World) -> AsyncIterator[tuple[Upstream, int, int]]:
    state = Upstream(world.dsn)
    forecast = build_server(
        GrpcService(
            "forecast",
            ["shopee.forecast.v1.ForecastService"],
            lambda s: forecast_pb2_grpc.add_ForecastServiceServicer_to_server(state.forecasts, s),
        )
    )
    insights = build_server(
        GrpcService(
            "insights",
            ["shopee.insights.v1.InsightsService"],
            lambda s: insights_pb2_grpc.add_InsightsServiceServicer_to_server(state.insights, s),
        )
    )
    await forecast.server.start()
    await insights.server.start()
    state.forecast_server = forecast.server
    yield state, forecast.port, insights.port
    await forecast.server.stop(None)
    await insights.server.stop(None)


@pytest.fixture
async def client(
    world: World, upstream: tuple[Upstream, int, int]
) -> AsyncIterator[httpx.AsyncClient]:
    _, forecast_port, insights_port = upstream
    settings = gateway_settings(
        world.dsn,
        gateway_forecast_target=f"127.0.0.1:{forecast_port}",
        gateway_insights_target=f"127.0.0.1:{insights_port}",
        gateway_grpc_deadline_seconds=2.0,
    )
    async with running(create_app(settings)) as http:
        yield http


async def test_anomalies_are_scoped_to_the_callers_shops_and_filtered(
    client: httpx.AsyncClient, world: World, anomaly_ids: dict[str, list[str]]
) -> None:
    tenant_a, tenant_b = world.tenants["a"], world.tenants["b"]
    judged, unjudged = tenant_a.shops
    with psycopg.connect(world.dsn) as connection:
        connection.execute(
            "INSERT INTO anomaly_detector_state (shop_id, judged_until) VALUES (%s, %s)",
            (judged, START + 5 * HOUR),
        )
    headers = await sign_in(client, tenant_a.emails["viewer"])
    everything = await client.get("/api/anomalies", headers=headers)
    assert everything.status_code == 200, everything.text
    items = everything.json()["items"]
    # How far the detector has judged each shop asked about: "none found" is not "not judged".
    assert everything.json()["judged_until"] == {
        judged: (START + 5 * HOUR).isoformat().replace("+00:00", "Z"),
        unjudged: None,
    }
    assert {item["shop_id"] for item in items} == set(tenant_a.shops)
    assert sorted(item["id"] for item in items) == sorted(
        i for shop in tenant_a.shops for i in anomaly_ids[shop]
    )
    starts = [item["bucket_start"] for item in items]
    assert starts == sorted(starts, reverse=True), "newest first"
    shop = tenant_a.shops[0]
    critical = await client.get(
        "/api/anomalies", params={"shop_id": shop, "severity": "critical"}, headers=headers
    )
    assert [item["id"] for item in critical.json()["items"]] == anomaly_ids[shop][:1]
    by_kpi = await client.get(
        "/api/anomalies", params={"kpi": "add_to_cart_rate", "limit": 1}, headers=headers
    )
    [product_anomaly] = by_kpi.json()["items"]
    assert product_anomaly["kpis"] == ["add_to_cart_rate"]
    # Named as in the product's latest catalogue event; the shop's own anomalies have no name.
    product = product_anomaly["product_id"]
    assert product_anomaly["product_name"] == world.names[(product_anomaly["shop_id"], product)]
    assert product_anomaly["product_name"]
    assert {item["product_name"] for item in items if not item["product_id"]} == {""}
    window = await client.get(
        "/api/anomalies",
        params={"from": (START + HOUR).isoformat(), "to": (START + 2 * HOUR).isoformat()},
        headers=headers,
    )
    assert [item["id"] for item in window.json()["items"]] == [anomaly_ids[tenant_a.shops[0]][1]]
    foreign = await client.get(
        "/api/anomalies", params={"shop_id": tenant_b.shops[0]}, headers=headers
    )
    assert foreign.status_code == 404
    assert tenant_b.shops[0].encode() not in foreign.content.replace(
        f"shop '{tenant_b.shops[0]}' not found".encode(), b""
    )
    naive = await client.get(
        "/api/anomalies", params={"from": "2026-03-03T00:00:00"}, headers=headers
    )
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "from"


def insert_incomplete_periods(dsn: str, shops: list[str]) -> dict[str, list[int]]:
    """Per shop: a closed stretch without events (a day from START), then one still going on
    (from two days after START); ids by shop, oldest first."""
    ids: dict[str, list[int]] = {}
    with psycopg.connect(dsn) as connection:
        for shop in shops:
            for since, until, reason in (
                (START, START + 24 * HOUR, f"{shop}: no events for 24 h"),
                (START + 48 * HOUR, None, f"{shop}: events arrive 12 min late"),
            ):
                row = connection.execute(
                    "INSERT INTO data_incomplete (shop_id, since, lag_seconds, reason, "
                    "resolved_at) VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    (shop, since, 720.0, reason, until),
                ).fetchone()
                assert row is not None
                ids.setdefault(shop, []).append(row[0])
    return ids


async def test_data_incomplete_periods_are_scoped_to_the_callers_shops_and_filtered(
    client: httpx.AsyncClient, world: World
) -> None:
    tenant_a, tenant_b = world.tenants["a"], world.tenants["b"]
    ids = insert_incomplete_periods(world.dsn, tenant_a.shops + tenant_b.shops)
    headers = await sign_in(client, tenant_a.emails["viewer"])
    everything = await client.get("/api/data-incomplete", headers=headers)
    assert everything.status_code == 200, everything.text
    items = everything.json()["items"]
    assert sorted(item["id"] for item in items) == sorted(
        i for shop in tenant_a.shops for i in ids[shop]
    )
    assert [item["since"] for item in items] == sorted(
        (item["since"] for item in items), reverse=True
    ), "newest first"
    shop = tenant_a.shops[0]
    closed, going_on = (
        next(item for item in items if item["id"] == ids[shop][n]) for n in range(2)
    )
    assert closed["ongoing"] is False
    assert datetime.fromisoformat(closed["until"]) == START + 24 * HOUR
    assert closed["reason"] == f"{shop}: no events for 24 h"
    assert (going_on["ongoing"], going_on["until"]) == (True, None)
    ongoing = await client.get(
        "/api/data-incomplete", params={"shop_id": shop, "ongoing": "true"}, headers=headers
    )
    assert [item["id"] for item in ongoing.json()["items"]] == ids[shop][1:]
    # A window catches the periods overlapping it, and an ongoing one overlaps every later time.
    for window, expected in (
        ((START + 12 * HOUR, START + 13 * HOUR), ids[shop][:1]),
        ((START + 30 * HOUR, START + 40 * HOUR), []),
        ((START + 90 * HOUR, None), ids[shop][1:]),
    ):
        params = {"shop_id": shop, "from": window[0].isoformat()}
        if window[1] is not None:
            params["to"] = window[1].isoformat()
        found = await client.get("/api/data-incomplete", params=params, headers=headers)
        assert [item["id"] for item in found.json()["items"]] == expected, window
    foreign = await client.get(
        "/api/data-incomplete", params={"shop_id": tenant_b.shops[0]}, headers=headers
    )
    assert foreign.status_code == 404
    backwards = await client.get(
        "/api/data-incomplete",
        params={"from": START.isoformat(), "to": (START - HOUR).isoformat()},
        headers=headers,
    )
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "to"


async def test_predictions_check_the_tenant_first_and_report_a_down_service(
    client: httpx.AsyncClient, world: World, upstream: tuple[Upstream, int, int]
) -> None:
    state = upstream[0]
    tenant_a, tenant_b = world.tenants["a"], world.tenants["b"]
    headers = await sign_in(client, tenant_a.emails["analyst"])
    own = tenant_a.shops[0]
    sales = await client.post(
        "/api/predict/sales", json={"shop_id": own, "horizon_days": 3}, headers=headers
    )
    assert sales.status_code == 200, sales.text
    assert [p["value"] for p in sales.json()["orders"]["points"]] == [0.0, 1.0, 2.0]
    segments = await client.get("/api/insights/segments", params={"shop_id": own}, headers=headers)
    assert segments.status_code == 200, segments.text
    for shop in tenant_b.shops:
        foreign = await client.post("/api/predict/traffic", json={"shop_id": shop}, headers=headers)
        assert foreign.status_code == 404
        hidden = await client.get(
            "/api/insights/segments", params={"shop_id": shop}, headers=headers
        )
        assert hidden.status_code == 404
    assert set(state.forecasts.shops) == {own}
    assert state.insights.shops == [own]
    assert state.forecast_server is not None
    await state.forecast_server.stop(None)
    down = await client.post("/api/predict/traffic", json={"shop_id": own}, headers=headers)
    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json"
    assert down.json()["service"] == "forecast"


async def test_a_gateway_with_no_services_running_still_starts_and_answers_503(
    world: World,
) -> None:
    settings = gateway_settings(
        world.dsn,
        gateway_forecast_target=f"127.0.0.1:{free_port()}",
        gateway_insights_target=f"127.0.0.1:{free_port()}",
    )
    async with running(create_app(settings)) as http:
        headers = await sign_in(http, world.tenants["a"].emails["viewer"])
        shop = world.tenants["a"].shops[0]
        response = await http.get(
            "/api/insights/sentiment", params={"shop_id": shop}, headers=headers
        )
        assert response.status_code == 503
        assert (await http.get("/readyz")).status_code == 200


async def test_model_admin_is_for_admins_and_jobs_stay_within_the_organisation(
    client: httpx.AsyncClient, world: World, upstream: tuple[Upstream, int, int]
) -> None:
    state = upstream[0]
    tenant_a, tenant_b = world.tenants["a"], world.tenants["b"]
    admin_a = await sign_in(client, tenant_a.emails["admin"])
    own, foreign = tenant_a.shops[0], tenant_b.shops[0]
    started = await client.post("/api/models/retrain", json={"shop_id": own}, headers=admin_a)
    assert started.status_code == 202, started.text
    job = await client.get(started.headers["location"], headers=admin_a)
    assert job.status_code == 200, job.text
    assert (job.json()["job_id"], job.json()["state"]) == (started.json()["job_id"], "queued")
    admin_b = await sign_in(client, tenant_b.emails["admin"])
    b_job = await client.post("/api/models/retrain", json={"shop_id": foreign}, headers=admin_b)
    assert b_job.status_code == 202, b_job.text
    with psycopg.connect(world.dsn) as connection:
        row = connection.execute(
            "INSERT INTO forecast_training_jobs (shop_id, trigger) VALUES (NULL, 'schedule') "
            "RETURNING id"
        ).fetchone()
    assert row is not None
    for job_id in (b_job.json()["job_id"], str(row[0])):
        hidden = await client.get("/api/models/jobs", params={"job_id": job_id}, headers=admin_a)
        assert hidden.status_code == 404
        assert job_id not in hidden.text
    assert state.forecasts.jobs_read == [started.json()["job_id"]]
    refused = [
        await client.post("/api/models/retrain", json={"shop_id": foreign}, headers=admin_a),
        await client.get("/api/models", params={"shop_id": foreign}, headers=admin_a),
    ]
    assert [r.status_code for r in refused] == [404, 404]
    analyst = await sign_in(client, tenant_a.emails["analyst"])
    forbidden = [
        await client.post("/api/models/retrain", json={"shop_id": own}, headers=analyst),
        await client.get(started.headers["location"], headers=analyst),
    ]
    assert [r.status_code for r in forbidden] == [403, 403]
    assert state.forecasts.shops == [own, foreign]
