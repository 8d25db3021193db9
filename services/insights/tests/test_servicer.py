"""Request validation and error statuses, with a fake engine (no database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import grpc
import numpy as np
import pandas as pd
import pytest
from google.protobuf.message import Message

from shopee.insights.v1 import insights_pb2 as pb
from shopee.insights.v1 import insights_pb2_grpc
from shopee_common.events import MAX_AMOUNT_MINOR
from shopee_common.grpc_server import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ServiceError,
    build_server,
)
from shopee_insights.adapters.repository import CONNECTION_ERRORS
from shopee_insights.bootstrap import insights_service
from shopee_insights.domain.marketing import ResponseCurves
from shopee_insights.domain.pricing import Elasticity
from shopee_insights.domain.recommend import AlsParameters, Recommender, fit_recommender
from shopee_insights.engine import Loaded
from shopee_insights.servicer import InsightsServicer, _bounds
from shopee_insights.training import PricingModel
from shopee_models.registry import ModelVersion

VERSION = ModelVersion(
    "insights/s/pricing",
    "v1",
    "test",
    "memory://",
    {},
    {},
    "active",
    datetime(2026, 1, 1, tzinfo=UTC),
)
ELASTIC = Elasticity(
    value=-2.0,
    std_error=0.1,
    p_value=0.001,
    observations=50,
    units=200,
    log_price_std=0.1,
    source="product",
)
BY_CATEGORY = Elasticity(
    value=-1.5,
    std_error=0.2,
    p_value=0.001,
    observations=400,
    units=900,
    log_price_std=0.1,
    source="category",
)
NEXT_REFRESH = datetime(2026, 1, 1, 6, tzinfo=UTC)
CATALOG_COLUMNS = ["name", "category", "price_minor", "cost_minor", "stock", "status"]


def catalog(**products: tuple[str, int, int, int]) -> pd.DataFrame:
    """Catalogue changes since training: product id -> (category, price, cost, stock)."""
    return pd.DataFrame(
        [
            (p, category, price, cost, stock, "PRODUCT_STATUS_ACTIVE")
            for p, (category, price, cost, stock) in products.items()
        ],
        columns=CATALOG_COLUMNS,
        index=pd.Index(list(products), name="product_id"),
    )


def tiny_recommender() -> Recommender:
    """Six buyers with one order each, four products (p0 in every order), all in stock at
    training."""
    bought = [(b, p) for b in range(6) for p in range(4) if p == 0 or (b + p) % 3 == 0]
    interactions = pd.DataFrame(
        {
            "buyer_id": [f"b{b}" for b, _ in bought],
            "product_id": [f"p{p}" for _, p in bought],
            "weight": 8.0,
            "purchase": True,
            "order_id": [f"o{b}" for b, _ in bought],
        }
    )
    products = catalog(**{f"p{p}": ("c", 1000, 600, 5) for p in range(4)})
    return fit_recommender(interactions, products, AlsParameters(factors=2, iterations=2))


class FakeEngine:
    """Knows one shop, 's', and one fitted marketing curve; trains nothing. Pricing: product 'p'
    (list price 1000, cost 600) and 'free' (list price 0, no cost), both with an elasticity.
    Texts: set `texts` (columns as `engine.score_frame` makes them)."""

    curves = ResponseCurves(
        channels=["c0"],
        vmax=np.array([10.0]),
        half_saturation=np.array([1.0]),
        covariance=np.zeros((2, 2)),
        base=0.0,
        historical_roas={"c0": 1.0},
        max_daily_spend={"c0": 1.0},
        days=30,
    )
    pricing = PricingModel(
        by_product={"p": ELASTIC, "free": ELASTIC},
        by_category={"c": BY_CATEGORY},
        categories={"p": "c", "free": "c"},
        prices={"p": 1000, "free": 0},
        costs={"p": 600, "free": 0},
    )

    def __init__(
        self,
        zone: str = "UTC",
        texts: pd.DataFrame | None = None,
        changes: pd.DataFrame | None = None,
        recommender: Recommender | None = None,
    ) -> None:
        self.zone = zone
        self.texts = texts
        self.changes = pd.DataFrame(columns=CATALOG_COLUMNS) if changes is None else changes
        self.recommender = recommender

    async def time_zone(self, shop_id: str) -> str:
        if shop_id != "s":
            raise NotFound(f"shop {shop_id!r} is not registered")
        return self.zone

    async def model(self, shop_id: str, area: str) -> Loaded:
        if area == "recommender":
            assert self.recommender is not None
            return Loaded(VERSION, self.recommender)
        if area == "marketing":
            return Loaded(VERSION, self.curves)
        assert area == "pricing"
        return Loaded(VERSION, self.pricing)

    async def catalog_changes(self, shop_id: str, version: ModelVersion) -> pd.DataFrame:
        return self.changes

    def next_training(self, version: ModelVersion, now: datetime) -> datetime | None:
        return NEXT_REFRESH

    async def scored_texts(self, shop_id: str, zone: str) -> tuple[str, pd.DataFrame]:
        assert self.texts is not None
        return "v1", self.texts


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def servicer() -> InsightsServicer:
    return InsightsServicer(FakeEngine(), seed=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("request_", "error", "fragment"),
    [
        (pb.RecommendRequest(shop_id="s", buyer_id="b", limit=-1), InvalidArgument, "limit"),
        (pb.RecommendRequest(shop_id="", buyer_id="b"), InvalidArgument, "shop_id"),
        (
            pb.RecommendRequest(shop_id="s", buyer_id="b", product_id="p"),
            InvalidArgument,
            "not both",
        ),
        (pb.RecommendRequest(shop_id="ghost", buyer_id="b"), NotFound, "not registered"),
    ],
)
def test_recommend_rejects_bad_input(
    request_: pb.RecommendRequest, error: type[ServiceError], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        run(servicer().Recommend(request_, None))


def test_score_texts_limits() -> None:
    with pytest.raises(InvalidArgument, match="at most 1000"):
        run(servicer().ScoreTexts(pb.ScoreTextsRequest(texts=["a"] * 1001), None))
    with pytest.raises(InvalidArgument, match=r"texts\[0\]"):
        run(servicer().ScoreTexts(pb.ScoreTextsRequest(texts=["a" * 5001]), None))


@pytest.mark.parametrize(
    "request_",
    [
        pb.OptimizePriceRequest(shop_id="s", product_id="free", unit_cost_minor=60),
        # Not "no unit cost" nor "the price bounds are empty: 500 to 0": the price is the cause.
        pb.OptimizePriceRequest(shop_id="s", product_id="free"),
        pb.OptimizePriceRequest(
            shop_id="s", product_id="free", unit_cost_minor=60, min_price_minor=500
        ),
    ],
)
def test_a_product_priced_0_has_no_price_to_optimise_from(
    request_: pb.OptimizePriceRequest,
) -> None:
    with pytest.raises(
        FailedPrecondition,
        match=r"^product 'free' has no list price in the catalog \(price 0\) to optimise from$",
    ):
        run(servicer().OptimizePrice(request_, None))
    priced = run(
        servicer().OptimizePrice(pb.OptimizePriceRequest(shop_id="s", product_id="p"), None)
    )
    assert priced.recommended_price_minor == 1200  # cost x e/(1+e) = 600 x 2


def optimize(product: str, changes: pd.DataFrame) -> pb.OptimizePriceResponse:
    engine = FakeEngine(changes=changes)
    request = pb.OptimizePriceRequest(shop_id="s", product_id=product)
    response: pb.OptimizePriceResponse = run(
        InsightsServicer(engine, seed=1).OptimizePrice(request, None)  # type: ignore[arg-type]
    )
    return response


def test_optimize_price_starts_from_the_price_changed_after_training() -> None:
    response = optimize("p", catalog(p=("c", 1500, 700, 3)))
    assert response.current_price_minor == 1500
    # cost x e/(1+e) = 700 x 2 = 1400, within 70%-130% of the current 1500.
    assert response.recommended_price_minor == 1400
    assert response.source == pb.ELASTICITY_SOURCE_PRODUCT


def test_a_product_added_after_training_borrows_its_categorys_elasticity() -> None:
    response = optimize("fresh", catalog(fresh=("c", 2000, 900, 10)))
    assert response.current_price_minor == 2000
    assert response.source == pb.ELASTICITY_SOURCE_CATEGORY
    assert response.elasticity == BY_CATEGORY.value


def test_a_new_product_without_a_category_elasticity_waits_for_the_next_refresh() -> None:
    with pytest.raises(
        FailedPrecondition,
        match=r"^product 'fresh' has no elasticity yet: it was added after the pricing model was "
        r"trained \(2026-01-01 00:00 UTC\), and its category 'toys' has too little sales or price "
        r"variation to lend one; the next refresh is at 2026-01-01 06:00 UTC$",
    ):
        optimize("fresh", catalog(fresh=("toys", 2000, 900, 10)))
    with pytest.raises(NotFound, match="product 'never' is not in shop 's'"):
        optimize("never", catalog(fresh=("toys", 2000, 900, 10)))


def recommend(request: pb.RecommendRequest, changes: pd.DataFrame) -> pb.RecommendResponse:
    engine = FakeEngine(changes=changes, recommender=tiny_recommender())
    response: pb.RecommendResponse = run(
        InsightsServicer(engine, seed=1).Recommend(request, None)  # type: ignore[arg-type]
    )
    return response


def test_a_product_sold_out_after_training_is_not_recommended() -> None:
    sold_out = catalog(p0=("c", 1000, 600, 0))
    for request in (
        pb.RecommendRequest(shop_id="s", buyer_id="someone-new"),
        pb.RecommendRequest(shop_id="s", product_id="p1"),
    ):
        assert "p0" in {i.product_id for i in recommend(request, catalog()).items}
        assert "p0" not in {i.product_id for i in recommend(request, sold_out).items}


def test_a_product_added_after_training_gets_its_categorys_popular_products() -> None:
    response = recommend(
        pb.RecommendRequest(shop_id="s", product_id="fresh"), catalog(fresh=("c", 900, 400, 5))
    )
    assert response.strategy == pb.STRATEGY_COLD_START
    assert response.items


# 20:00 UTC on 31 March is 03:00 on 1 April in Jakarta, the shop's zone: its today is 1 April.
JAKARTA_NOW = datetime(2026, 3, 31, 20, tzinfo=UTC)
REVIEW_DAYS = ("2025-11-02", "2025-11-03", "2026-01-01", "2026-01-02", "2026-02-15")


def sentiment_servicer() -> InsightsServicer:
    """The shop's reviews: one on each of REVIEW_DAYS (Jakarta days), of product 'p<day>'."""
    noon = pd.to_datetime([f"{day} 12:00" for day in REVIEW_DAYS]).tz_localize("Asia/Jakarta")
    occurred = pd.Series(noon.tz_convert("UTC"))
    texts = pd.DataFrame(
        {
            "product_id": [f"p{day}" for day in REVIEW_DAYS],
            "occurred_at": occurred,
            "local_date": occurred.dt.tz_convert("Asia/Jakarta").dt.date,
            "score": 0.5,
            "label": "positive",
            "aspects": [{} for _ in REVIEW_DAYS],
            "source": "review",
        }
    )
    engine = FakeEngine(zone="Asia/Jakarta", texts=texts)
    return InsightsServicer(engine, seed=1, clock=lambda: JAKARTA_NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("from_date", "to_date", "days"),
    [
        # Neither: the 90 days ending today (1 April in Jakarta), not on the newest review.
        ("", "", {"2026-01-02", "2026-02-15"}),
        # From 1 January to today.
        ("2026-01-01", "", {"2026-01-01", "2026-01-02", "2026-02-15"}),
        # The 90 days ending on to_date: 3 November to 31 January.
        ("", "2026-01-31", {"2025-11-03", "2026-01-01", "2026-01-02"}),
        ("2026-01-02", "2026-01-02", {"2026-01-02"}),
    ],
)
def test_each_missing_sentiment_date_defaults_on_its_own(
    from_date: str, to_date: str, days: set[str]
) -> None:
    request = pb.SentimentRequest(shop_id="s", from_date=from_date, to_date=to_date)
    response = run(sentiment_servicer().GetSentiment(request, None))
    assert {p.product_id for p in response.products} == {f"p{day}" for day in days}


@pytest.mark.parametrize(
    ("from_date", "to_date", "message"),
    [
        ("2026-03-02", "2026-03-01", r"^from_date 2026-03-02 is after to_date 2026-03-01$"),
        (
            "2026-04-02",
            "",
            r"^from_date 2026-04-02 is after to_date 2026-04-01 "
            r"\(today in the shop's time zone\)$",
        ),
        ("2026-13-01", "", r"^from_date: expected YYYY-MM-DD, got '2026-13-01'$"),
    ],
)
def test_sentiment_dates_out_of_order_or_malformed_are_invalid(
    from_date: str, to_date: str, message: str
) -> None:
    request = pb.SentimentRequest(shop_id="s", from_date=from_date, to_date=to_date)
    with pytest.raises(InvalidArgument, match=message):
        run(sentiment_servicer().GetSentiment(request, None))


def test_marketing_bounds() -> None:
    fake = FakeEngine().curves
    request = pb.OptimizeMarketingRequest(
        total_budget_minor=100,
        channels=[pb.ChannelBounds(channel="c0"), pb.ChannelBounds(channel="c0")],
    )
    with pytest.raises(InvalidArgument, match="appears twice"):
        _bounds(request, fake, 100.0)
    request = pb.OptimizeMarketingRequest(
        total_budget_minor=100,
        channels=[pb.ChannelBounds(channel="c0", min_budget_minor=50, max_budget_minor=10)],
    )
    with pytest.raises(InvalidArgument, match="above max_budget_minor 10"):
        _bounds(request, fake, 100.0)
    assert np.isclose(_bounds(pb.OptimizeMarketingRequest(), fake, 7.0)[0].high, 7.0)


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        (
            "flash_sale",
            r"^channels\[1\]\.channel: flash_sale: campaigns of this kind have no spend to "
            r"allocate \(their cost is the discount\); known: c0$",
        ),
        ("voucher", r"voucher: campaigns of this kind have no spend to allocate"),
        ("live_stream", r"live_stream: the shop has fewer than 12 days with live-stream spend"),
        ("tv", r"'tv' has no spend history; known: c0$"),
    ],
)
def test_marketing_names_why_a_channel_cannot_be_allocated(channel: str, message: str) -> None:
    request = pb.OptimizeMarketingRequest(
        total_budget_minor=100,
        channels=[pb.ChannelBounds(channel="c0"), pb.ChannelBounds(channel=channel)],
    )
    with pytest.raises(InvalidArgument, match=message):
        _bounds(request, FakeEngine.curves, 100.0)


def test_a_lost_database_is_one_of_the_outages_the_server_answers_unavailable() -> None:
    # shopee_common.grpc_server answers an exception listed in GrpcService.outages with
    # UNAVAILABLE (tested there); these are what asyncpg raises when PostgreSQL is gone.
    for lost in (
        ConnectionRefusedError("connection refused"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.PostgresConnectionError("connection lost"),
    ):
        assert isinstance(lost, CONNECTION_ERRORS)


class OutageEngine(FakeEngine):
    """An engine whose database is gone: every shop lookup raises `error`."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def time_zone(self, shop_id: str) -> str:
        raise self.error


@pytest.mark.parametrize(
    "outage",
    [
        ConnectionRefusedError("connection refused"),
        asyncpg.PostgresConnectionError("connection lost"),
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.exceptions.AdminShutdownError(
            "terminating connection due to administrator command"
        ),
        asyncpg.exceptions.CrashShutdownError(
            "terminating connection due to crash of another server process"
        ),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.InsufficientResourcesError("out of shared memory"),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_a_database_outage_is_unavailable(outage: Exception) -> None:
    built = build_server(insights_service(InsightsServicer(OutageEngine(outage))))  # type: ignore[arg-type]
    await built.server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{built.port}") as channel:
            stub = insights_pb2_grpc.InsightsServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await stub.GetSegments(pb.SegmentsRequest(shop_id="s"))
    finally:
        await built.server.stop(None)
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE, failed.value.details()
    assert type(outage).__name__ in (failed.value.details() or "")


TOO_MUCH = MAX_AMOUNT_MINOR + 1


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (
            pb.OptimizePriceRequest(
                shop_id="s", product_id="p", min_price_minor=2**63 - 1, max_price_minor=2**63 - 1
            ),
            "min_price_minor",
        ),
        (
            pb.OptimizePriceRequest(shop_id="s", product_id="p", max_price_minor=TOO_MUCH),
            "max_price_minor",
        ),
        (
            pb.OptimizePriceRequest(shop_id="s", product_id="p", unit_cost_minor=TOO_MUCH),
            "unit_cost_minor",
        ),
        (
            pb.OptimizeMarketingRequest(shop_id="s", total_budget_minor=TOO_MUCH),
            "total_budget_minor",
        ),
        (
            pb.OptimizeMarketingRequest(
                shop_id="s",
                total_budget_minor=100,
                channels=[pb.ChannelBounds(channel="c0", max_budget_minor=TOO_MUCH)],
            ),
            "channels[0].max_budget_minor",
        ),
        (
            pb.OptimizeMarketingRequest(
                shop_id="s",
                total_budget_minor=100,
                channels=[pb.ChannelBounds(channel="c0", min_budget_minor=2**63 - 1)],
            ),
            "channels[0].min_budget_minor",
        ),
    ],
)
def test_money_above_the_platform_cap_is_invalid_naming_the_field(
    request_: Message, field: str
) -> None:
    method = type(request_).__name__.removesuffix("Request")
    with pytest.raises(InvalidArgument) as raised:
        run(getattr(servicer(), method)(request_, None))
    assert raised.value.message.startswith(f"{field}: at most {MAX_AMOUNT_MINOR}")


def test_money_at_the_platform_cap_is_answered() -> None:
    request = pb.OptimizePriceRequest(
        shop_id="s",
        product_id="p",
        min_price_minor=MAX_AMOUNT_MINOR,
        max_price_minor=MAX_AMOUNT_MINOR,
        unit_cost_minor=MAX_AMOUNT_MINOR,
    )
    response = run(servicer().OptimizePrice(request, None))
    assert response.recommended_price_minor == MAX_AMOUNT_MINOR
    marketing = run(
        servicer().OptimizeMarketing(
            pb.OptimizeMarketingRequest(shop_id="s", total_budget_minor=MAX_AMOUNT_MINOR), None
        )
    )
    assert sum(a.budget_minor for a in marketing.allocations) <= MAX_AMOUNT_MINOR + 1


NUL = "\x00"


@pytest.mark.parametrize(
    "request_",
    [
        pb.SegmentsRequest(shop_id=f"s{NUL}"),
        pb.RecommendRequest(shop_id=f"s{NUL}", buyer_id="b"),
        pb.OptimizePriceRequest(shop_id=f"s{NUL}", product_id="p"),
        pb.OptimizeMarketingRequest(shop_id=f"s{NUL}", total_budget_minor=100),
        pb.SentimentRequest(shop_id=f"s{NUL}"),
    ],
    ids=lambda request: type(request).__name__,
)
def test_a_nul_in_the_shop_id_is_invalid(request_: Message) -> None:
    method = {"SegmentsRequest": "GetSegments", "SentimentRequest": "GetSentiment"}.get(
        type(request_).__name__, type(request_).__name__.removesuffix("Request")
    )
    with pytest.raises(InvalidArgument, match=r"^shop_id: must not contain NUL"):
        run(getattr(servicer(), method)(request_, None))


def test_a_nul_in_the_sentiment_product_id_is_invalid() -> None:
    request = pb.SentimentRequest(shop_id="s", product_id=f"p{NUL}")
    with pytest.raises(InvalidArgument, match=r"^product_id: must not contain NUL"):
        run(sentiment_servicer().GetSentiment(request, None))
