"""The forecast service through its real gRPC server (in-process, build_server) on a migrated
private PostgreSQL database and the real Redis: every rpc, with its error statuses.

The world: two generated shops; the first keeps 110 days of history, the second only its last
20 days (too little to forecast); the first also lists a new product, viewed once, 3 days before
the end. Small on purpose: Prophet fits are slow, and the full-size scoring lives in
bench/forecast.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from shopee.events.v1 import events_pb2
from shopee.forecast.v1 import forecast_pb2, forecast_pb2_grpc
from shopee_common.grpc_server import build_server
from shopee_forecast.app import ForecastApp, forecast_app
from shopee_forecast.settings import ForecastSettings
from shopee_generator.world import GeneratorConfig, generate_history
from tests.integration.databases import migrated_database, shops_of
from tests.integration.forecast_world import load_world

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

START = date(2025, 7, 1)
DAYS = 110
SHORT_DAYS = 20
NEW_PRODUCT_DAYS = 3


@dataclass
class World:
    events: list[events_pb2.Event]
    long_shop: str
    short_shop: str
    products: list[str]
    new_product: str


@dataclass
class Running:
    app: ForecastApp
    stub: forecast_pb2_grpc.ForecastServiceStub
    world: World


def _world() -> World:
    config = GeneratorConfig(
        start=START, days=DAYS, shops=2, scale=0.2, seed=11, products_per_shop=6, incidents=False
    )
    events = list(generate_history(config))
    long_shop, short_shop = sorted(shops_of(events))
    cutoff = START + timedelta(days=DAYS - SHORT_DAYS)
    kept = [
        e for e in events if e.shop_id == long_shop or e.occurred_at.ToDatetime().date() >= cutoff
    ]
    products = sorted(
        {e.catalog.product_id for e in kept if e.shop_id == long_shop and e.HasField("catalog")}
    )
    new_product = "99999999999"
    listed = START + timedelta(days=DAYS - NEW_PRODUCT_DAYS)
    kept += _new_listing(long_shop, shops_of(events)[long_shop], new_product, listed)
    return World(kept, long_shop, short_shop, products, new_product)


def _new_listing(shop_id: str, zone: str, product_id: str, day: date) -> list[events_pb2.Event]:
    """A catalog event listing the product and a view of it, at noon UTC of `day` (the same
    shop-local day in the generator's Asian zones)."""
    listing = events_pb2.Event(event_id=f"listing-{product_id}", shop_id=shop_id, time_zone=zone)
    listing.catalog.product_id = product_id
    listing.catalog.name = "Listed days ago"
    listing.catalog.stock = 40
    listing.catalog.status = events_pb2.PRODUCT_STATUS_ACTIVE
    view = events_pb2.Event(event_id=f"view-{product_id}", shop_id=shop_id, time_zone=zone)
    view.traffic.kind = events_pb2.TRAFFIC_KIND_PRODUCT_VIEW
    view.traffic.visitor_id = f"visitor-{product_id}"
    view.traffic.product_id = product_id
    for event in (listing, view):
        event.occurred_at.FromDatetime(datetime.combine(day, time(12), tzinfo=UTC))
    return [listing, view]


@pytest.fixture(scope="module")
def world() -> World:
    return _world()


@pytest.fixture(scope="module")
def database(platform_settings: ForecastSettings, world: World) -> Iterator[str]:
    server = platform_settings.database_url.get_secret_value()
    with migrated_database(server, shops_of(world.events)) as dsn:
        load_world(dsn, world.events)
        yield dsn


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(
    database: str, world: World, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    settings = ForecastSettings(
        environment="test",
        database_url=database,
        forecast_artefact_root=str(tmp_path_factory.mktemp("models")),
        forecast_retrain_cron="",
        forecast_backtest_horizon_days=14,
        # One fold and one worker process: each worker pays seconds of imports and Stan warm-up.
        forecast_backtest_folds=1,
        forecast_train_workers=1,
    )
    async with forecast_app(settings) as app:
        built = build_server(app.grpc_service())
        await built.server.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{built.port}") as channel:
            yield Running(app, forecast_pb2_grpc.ForecastServiceStub(channel), world)
        await app.runner.wait()
        await built.server.stop(0)


async def _status(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    return raised.value.code(), raised.value.details() or ""


async def test_a_sales_forecast_is_trained_on_demand_then_served_from_the_cache(
    running: Running,
) -> None:
    request = forecast_pb2.ForecastRequest(
        shop_id=running.world.long_shop, target=forecast_pb2.TARGET_GMV, horizon_days=30
    )
    first = await running.stub.Forecast(request)
    assert not first.from_cache
    assert first.history_end == (START + timedelta(days=DAYS - 1)).isoformat()
    assert first.time_zone
    assert len(first.points) == 30
    days = [date.fromisoformat(p.date) for p in first.points]
    assert days == [
        date.fromisoformat(first.history_end) + timedelta(days=i + 1) for i in range(30)
    ]
    for p in first.points:
        assert 0 <= p.lower_95 <= p.lower_80 <= p.value <= p.upper_80 <= p.upper_95
        assert p.value <= p.expected <= p.upper_80  # skewed: the mean above the median
    assert first.expected_total == pytest.approx(sum(p.expected for p in first.points))
    assert first.backtest[0].model == first.model
    assert {b.model for b in first.backtest} == {"prophet", "ets", "seasonal_naive"}
    assert all(b.folds == 1 and b.horizon_days == 14 for b in first.backtest)
    second = await running.stub.Forecast(request)
    assert second.from_cache
    assert second.model_version == first.model_version
    assert list(second.points) == list(first.points)
    key = f"shopee:forecast:v2:forecast/{running.world.long_shop}/gmv:{first.model_version}:30"
    assert await running.app.redis.exists(key) == 1


async def test_product_demand_and_traffic_forecasts(running: Running) -> None:
    units = await running.stub.Forecast(
        forecast_pb2.ForecastRequest(
            shop_id=running.world.long_shop,
            target=forecast_pb2.TARGET_UNITS,
            product_id=running.world.products[0],
            horizon_days=7,
        )
    )
    assert units.product_id == running.world.products[0]
    assert len(units.points) == 7
    visitors = await running.stub.Forecast(
        forecast_pb2.ForecastRequest(
            shop_id=running.world.long_shop, target=forecast_pb2.TARGET_VISITORS, horizon_days=90
        )
    )
    assert len(visitors.points) == 90
    assert visitors.points[0].value > 0


@pytest.mark.parametrize(
    ("shop", "fields", "code", "message"),
    [
        ("nope", {}, grpc.StatusCode.NOT_FOUND, "shop 'nope' is not registered"),
        (
            "long",
            {"horizon_days": 91},
            grpc.StatusCode.INVALID_ARGUMENT,
            "horizon_days: must be 1 to 90, got 91",
        ),
        ("long", {"target": 0}, grpc.StatusCode.INVALID_ARGUMENT, "target: must be one of"),
        (
            "long",
            {"target": 4},
            grpc.StatusCode.INVALID_ARGUMENT,
            "product_id: required for TARGET_UNITS",
        ),
        (
            "long",
            {"target": 4, "product_id": "P404"},
            grpc.StatusCode.NOT_FOUND,
            "product 'P404' is not in shop",
        ),
        (
            "short",
            {},
            grpc.StatusCode.FAILED_PRECONDITION,
            "needs at least 63 days of history, has 20",
        ),
    ],
)
async def test_bad_forecast_requests_get_a_precise_status(
    running: Running, shop: str, fields: dict[str, object], code: grpc.StatusCode, message: str
) -> None:
    shop_id = {"long": running.world.long_shop, "short": running.world.short_shop}.get(shop, shop)
    request = forecast_pb2.ForecastRequest(
        **{"shop_id": shop_id, "target": forecast_pb2.TARGET_GMV, "horizon_days": 30, **fields}  # type: ignore[arg-type]
    )
    status, details = await _status(running.stub.Forecast(request))
    assert status == code
    assert message in details


async def test_a_product_listed_days_ago_is_too_new_to_forecast_or_advise_on(
    running: Running,
) -> None:
    shop, product = running.world.long_shop, running.world.new_product
    status, details = await _status(
        running.stub.Forecast(
            forecast_pb2.ForecastRequest(
                shop_id=shop, target=forecast_pb2.TARGET_UNITS, product_id=product, horizon_days=7
            )
        )
    )
    assert (status, details) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        f"forecast/{shop}/units/{product}: needs at least 63 days of history, "
        f"has {NEW_PRODUCT_DAYS}",
    )
    status, details = await _status(
        running.stub.AdviseInventory(
            forecast_pb2.InventoryRequest(shop_id=shop, product_ids=[product])
        )
    )
    assert (status, details) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        f"forecast/{shop}/units/{product}: needs at least 28 days of history, "
        f"has {NEW_PRODUCT_DAYS}",
    )


async def test_churn_scores_buyers_with_reasons_and_holdout_scores(running: Running) -> None:
    shop = running.world.long_shop
    response = await running.stub.PredictChurn(
        forecast_pb2.ChurnRequest(shop_id=shop, horizon_days=14, limit=5)
    )
    assert response.horizon_days == 14
    assert 0 < len(response.buyers) <= 5
    probabilities = [b.probability for b in response.buyers]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(b.reasons and b.reasons[0].description for b in response.buyers)
    # Amounts in reasons are in the shop's currency (the world's shops sell in IDR).
    everyone = await running.stub.PredictChurn(
        forecast_pb2.ChurnRequest(shop_id=shop, horizon_days=14, limit=1000)
    )
    money = [
        r.description
        for b in everyone.buyers
        for r in b.reasons
        if r.feature in ("monetary_minor", "avg_order_value_minor")
    ]
    assert money
    assert all(description.count("IDR ") == 2 for description in money), money[:3]
    assert 0 <= response.roc_auc <= 1
    assert 0 <= response.baseline_brier <= 1
    chosen = [response.buyers[-1].buyer_id, response.buyers[0].buyer_id]
    picked = await running.stub.PredictChurn(
        forecast_pb2.ChurnRequest(shop_id=shop, horizon_days=14, buyer_ids=chosen)
    )
    assert [b.buyer_id for b in picked.buyers] == chosen
    assert picked.model_version == response.model_version
    valuable = await running.stub.PredictChurn(
        forecast_pb2.ChurnRequest(
            shop_id=shop,
            horizon_days=14,
            limit=5,
            order_by=forecast_pb2.CHURN_ORDER_VALUE_AT_RISK,
        )
    )
    at_risk = [b.value_at_risk_minor for b in valuable.buyers]
    assert len(at_risk) == 5
    assert at_risk == sorted(at_risk, reverse=True)
    ranked = {b.buyer_id for b in valuable.buyers}
    assert all(
        b.value_at_risk_minor <= at_risk[-1] for b in response.buyers if b.buyer_id not in ranked
    )
    assert all(0 < b.value_at_risk_minor <= b.monetary_minor for b in valuable.buyers)
    # Asked for within 7 days, the 14-day horizon stays in the scheduled retrain.
    ttl = await running.app.redis.ttl(f"shopee:forecast:churn-asked:{shop}:14")
    assert 6 * 24 * 3600 < ttl <= 7 * 24 * 3600
    status, details = await _status(
        running.stub.PredictChurn(
            forecast_pb2.ChurnRequest(shop_id=shop, horizon_days=14, buyer_ids=["ghost"])
        )
    )
    assert status == grpc.StatusCode.NOT_FOUND
    assert "buyer 'ghost'" in details
    status, details = await _status(
        running.stub.PredictChurn(forecast_pb2.ChurnRequest(shop_id=shop, horizon_days=30))
    )
    assert status == grpc.StatusCode.FAILED_PRECONDITION
    assert "churn over 30 days needs at least 130 days of order history, has 110" in details
    status, details = await _status(
        running.stub.PredictChurn(forecast_pb2.ChurnRequest(shop_id=shop, limit=5000))
    )
    assert (status, details) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "limit: must be 1 to 1000, got 5000",
    )
    status, details = await _status(
        running.stub.PredictChurn(forecast_pb2.ChurnRequest(shop_id=shop, order_by=9))  # type: ignore[arg-type]
    )
    assert status == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("order_by: must be one of CHURN_ORDER_UNSPECIFIED")


async def test_inventory_advice_for_every_active_product(running: Running) -> None:
    shop = running.world.long_shop
    response = await running.stub.AdviseInventory(
        forecast_pb2.InventoryRequest(shop_id=shop, service_level=0.9, lead_time_days=5)
    )
    assert response.service_level == pytest.approx(0.9)
    # The product listed days ago is left out: too new for any advice.
    assert {i.product_id for i in response.items} == set(running.world.products)
    # Most urgent first: at or below the reorder point, then the earliest stock-out.
    urgency = [(not i.reorder_now, i.expected_stockout_date or "9999") for i in response.items]
    assert urgency == sorted(urgency)
    assert len(set(urgency)) > 1
    named = [i.product_id for i in reversed(response.items)]
    in_order_named = await running.stub.AdviseInventory(
        forecast_pb2.InventoryRequest(shop_id=shop, product_ids=named)
    )
    assert [i.product_id for i in in_order_named.items] == named
    for item in response.items:
        assert item.reorder_point == pytest.approx(item.lead_time_demand + item.safety_stock)
        assert item.reorder_now == (item.stock_on_hand <= item.reorder_point)
        assert item.model_version
    # The product forecast earlier has a trained model; the others fall back to recent demand.
    versions = {i.product_id: i.model_version for i in response.items}
    trained = running.world.products[0]
    assert not versions[trained].startswith("baseline:")
    # Its demand is the 90-day forecast Forecast serves, which the advice read from the
    # forecast cache or put there.
    forecast = await running.stub.Forecast(
        forecast_pb2.ForecastRequest(
            shop_id=shop, target=forecast_pb2.TARGET_UNITS, product_id=trained, horizon_days=90
        )
    )
    assert forecast.from_cache
    [advice] = [i for i in response.items if i.product_id == trained]
    lead_time_demand = sum(point.expected for point in forecast.points[:5])
    assert advice.lead_time_demand == pytest.approx(lead_time_demand)
    status, details = await _status(
        running.stub.AdviseInventory(forecast_pb2.InventoryRequest(shop_id=shop, service_level=0.3))
    )
    assert (status, details) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "service_level: must be 0.5 to 0.999, got 0.3",
    )
    status, _ = await _status(
        running.stub.AdviseInventory(
            forecast_pb2.InventoryRequest(shop_id=shop, product_ids=["P404"])
        )
    )
    assert status == grpc.StatusCode.NOT_FOUND


async def test_retraining_runs_in_the_background_and_registers_versions(running: Running) -> None:
    shop = running.world.long_shop
    before = await running.stub.ListModels(forecast_pb2.ListModelsRequest(shop_id=shop))
    started = await running.stub.Retrain(
        forecast_pb2.RetrainRequest(shop_id=shop, targets=[forecast_pb2.TARGET_ORDERS])
    )
    job = forecast_pb2.TrainingJob()
    for _ in range(240):
        job = await running.stub.GetTrainingJob(
            forecast_pb2.GetTrainingJobRequest(job_id=started.job_id)
        )
        if job.state in (forecast_pb2.JOB_STATE_SUCCEEDED, forecast_pb2.JOB_STATE_FAILED):
            break
        await asyncio.sleep(0.25)
    assert job.state == forecast_pb2.JOB_STATE_SUCCEEDED, job.error
    assert (job.series_done, job.series_total) == (1, 1)
    assert job.finished_at.seconds >= job.started_at.seconds > 0
    after = await running.stub.ListModels(forecast_pb2.ListModelsRequest(shop_id=shop))
    assert len(after.models) == len(before.models) + 1
    orders = [m for m in after.models if m.series == "forecast:orders"]
    assert orders
    assert orders[0].backtest[0].model == orders[0].model
    assert await asyncio.to_thread(Path(orders[0].artefact_uri).exists)
    assert {m.series for m in before.models} <= {m.series for m in after.models}


async def test_a_retrain_of_the_churn_models_alone(running: Running) -> None:
    """`churn` with no targets: the shop's churn models only (the default horizon, and any
    other one PredictChurn asked for lately), no series. This world's 110 days of orders are too
    few for the default 30 days, so the job says so."""
    shop = running.world.long_shop
    before = await running.stub.ListModels(forecast_pb2.ListModelsRequest(shop_id=shop))
    started = await running.stub.Retrain(forecast_pb2.RetrainRequest(shop_id=shop, churn=True))
    await running.app.runner.wait()
    job = await running.stub.GetTrainingJob(
        forecast_pb2.GetTrainingJobRequest(job_id=started.job_id)
    )
    assert job.state == forecast_pb2.JOB_STATE_SUCCEEDED
    assert job.series_done == job.series_total >= 1
    assert job.error.startswith("1 skipped: forecast/")
    assert f"forecast/{shop}/churn: churn over 30 days needs at least 130 days" in job.error
    after = await running.stub.ListModels(forecast_pb2.ListModelsRequest(shop_id=shop))
    old = {m.series: m.version for m in before.models}
    retrained = {m.series for m in after.models if old.get(m.series) != m.version}
    assert all(series.startswith("churn") for series in retrained), retrained
    assert len(retrained) == job.series_total - 1  # all but the skipped one


async def test_a_retrain_of_a_short_shop_succeeds_and_says_what_it_skipped(
    running: Running,
) -> None:
    started = await running.stub.Retrain(
        forecast_pb2.RetrainRequest(
            shop_id=running.world.short_shop, targets=[forecast_pb2.TARGET_GMV]
        )
    )
    await running.app.runner.wait()
    job = await running.stub.GetTrainingJob(
        forecast_pb2.GetTrainingJobRequest(job_id=started.job_id)
    )
    assert job.state == forecast_pb2.JOB_STATE_SUCCEEDED
    assert "needs at least 63 days of history, has 20" in job.error


async def test_unknown_jobs_shops_and_targets(running: Running) -> None:
    missing = str(uuid.uuid4())
    status, details = await _status(
        running.stub.GetTrainingJob(forecast_pb2.GetTrainingJobRequest(job_id=missing))
    )
    assert (status, details) == (
        grpc.StatusCode.NOT_FOUND,
        f"training job '{missing}' does not exist",
    )
    status, _ = await _status(
        running.stub.ListModels(forecast_pb2.ListModelsRequest(shop_id="nope"))
    )
    assert status == grpc.StatusCode.NOT_FOUND
    status, _ = await _status(running.stub.Retrain(forecast_pb2.RetrainRequest(shop_id="nope")))
    assert status == grpc.StatusCode.NOT_FOUND
    status, details = await _status(
        running.stub.Retrain(forecast_pb2.RetrainRequest(targets=[forecast_pb2.TARGET_UNSPECIFIED]))
    )
    assert status == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("targets: must be one of")


async def test_redis_down_is_unavailable_not_a_crash(
    running: Running, database: str, tmp_path: Path
) -> None:
    # The models trained above live in the registry; a service whose Redis is gone must say so.
    settings = ForecastSettings(
        environment="test",
        database_url=database,
        redis_url="redis://127.0.0.1:1/0",
        forecast_artefact_root=running.app.settings.forecast_artefact_root,
        forecast_retrain_cron="",
    )
    async with forecast_app(settings) as app:
        built = build_server(app.grpc_service())
        await built.server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{built.port}") as channel:
                stub = forecast_pb2_grpc.ForecastServiceStub(channel)
                status, details = await _status(
                    stub.Forecast(
                        forecast_pb2.ForecastRequest(
                            shop_id=running.world.long_shop,
                            target=forecast_pb2.TARGET_GMV,
                            horizon_days=30,
                        )
                    )
                )
        finally:
            await built.server.stop(0)
    assert status == grpc.StatusCode.UNAVAILABLE
    assert "a backing store is unavailable" in details


async def test_a_job_cut_short_by_shutdown_says_it_was_interrupted(running: Running) -> None:
    started = await running.stub.Retrain(
        forecast_pb2.RetrainRequest(shop_id=running.world.long_shop)
    )
    await running.app.stop()
    job = await running.stub.GetTrainingJob(
        forecast_pb2.GetTrainingJobRequest(job_id=started.job_id)
    )
    assert job.state == forecast_pb2.JOB_STATE_FAILED
    assert job.error == "interrupted: the service stopped"
