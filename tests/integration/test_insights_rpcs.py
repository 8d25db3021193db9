"""The insights service end to end: generated events in raw_events of a private, migrated
database, the real gRPC server in-process (build_server), every rpc and its error statuses."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
import psycopg
import pytest
import pytest_asyncio

from shopee.events.v1 import events_pb2
from shopee.insights.v1 import insights_pb2 as pb
from shopee.insights.v1 import insights_pb2_grpc
from shopee_common.grpc_server import build_server
from shopee_generator import GeneratorConfig, generate_history
from shopee_insights.adapters.corpora import AMAZON, PRDECT_ID
from shopee_insights.bootstrap import wired
from shopee_insights.domain.segments import NAMES
from shopee_insights.settings import InsightsSettings
from shopee_insights.training import PricingModel
from shopee_models.registry import ModelRegistry
from tests.integration.databases import copy_raw_events, migrated_database, shops_of

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CONFIG = GeneratorConfig.ending(date(2026, 10, 31), days=120, shops=1, scale=0.5, seed=11)
GHOST_SHOP = "no-such-shop"
# The public corpora (PRDECT-ID, Amazon sentences) join the shop's reviews in sentiment training.
DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"
# After the generated history: catalogue changes the models were not trained on.
AFTER_TRAINING = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Stack:
    stub: insights_pb2_grpc.InsightsServiceStub
    shop_id: str
    dsn: str
    registry: ModelRegistry


def load_events(dsn: str, events: list[events_pb2.Event]) -> None:
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        copy_raw_events(cursor, events)


@pytest.fixture(scope="module")
def database(database_url: str) -> Iterator[tuple[str, list[events_pb2.Event]]]:
    events = list(generate_history(CONFIG))
    with migrated_database(database_url, shops_of(events)) as dsn:
        load_events(dsn, events)
        yield dsn, events


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(
    database: tuple[str, list[events_pb2.Event]], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    dsn, events = database
    settings = InsightsSettings(
        database_url=dsn,
        insights_artefact_root=str(tmp_path_factory.mktemp("models")),
        insights_data_dir=str(DATA_DIR),
        # The catalogue tests change it right after other requests read it.
        insights_catalog_cache_seconds=0,
    )
    async with wired(settings, seed=3) as wiring:
        built = build_server(wiring.service)
        await built.server.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{built.port}") as channel:
            yield Stack(
                insights_pb2_grpc.InsightsServiceStub(channel),
                events[0].shop_id,
                dsn,
                wiring.engine.registry,
            )
        await built.server.stop(None)


async def expect_status(call: object, code: grpc.StatusCode, fragment: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    assert raised.value.code() == code, raised.value.details()
    assert fragment in (raised.value.details() or "")


def paid_buyers(events: list[events_pb2.Event]) -> list[str]:
    return sorted(
        {
            e.order.buyer_id
            for e in events
            if e.WhichOneof("payload") == "order" and e.order.status == events_pb2.ORDER_STATUS_PAID
        }
    )


def catalog_products(events: list[events_pb2.Event]) -> list[str]:
    return sorted({e.catalog.product_id for e in events if e.WhichOneof("payload") == "catalog"})


@pytest.mark.parametrize(
    "algorithm",
    [
        pb.CLUSTERING_ALGORITHM_KMEANS,
        pb.CLUSTERING_ALGORITHM_DBSCAN,
        pb.CLUSTERING_ALGORITHM_AGGLOMERATIVE,
    ],
)
async def test_segments_cover_every_buyer_with_profile_names(
    stack: Stack, database: tuple[str, list[events_pb2.Event]], algorithm: int
) -> None:
    response = await stack.stub.GetSegments(
        pb.SegmentsRequest(shop_id=stack.shop_id, algorithm=algorithm)  # type: ignore[arg-type]
    )
    assert response.model_version
    assert response.segments
    with psycopg.connect(stack.dsn) as connection:
        row = connection.execute(
            # Buyers of orders that were paid and not cancelled or returned afterwards.
            "SELECT count(DISTINCT buyer) FROM (SELECT payload->>'buyer_id' AS buyer, "
            "bool_or(payload->>'status' = 'ORDER_STATUS_PAID') AS paid, "
            "bool_or(payload->>'status' IN ('ORDER_STATUS_CANCELLED', 'ORDER_STATUS_RETURNED')) "
            "AS undone FROM raw_events WHERE kind = 'order' "
            "GROUP BY payload->>'buyer_id', payload->>'order_id') AS orders "
            "WHERE paid AND NOT undone"
        ).fetchone()
    assert row is not None
    assert sum(s.buyers for s in response.segments) == row[0]
    assert sum(s.revenue_share for s in response.segments) == pytest.approx(1.0)
    for segment in response.segments:
        assert segment.name.rstrip(" 0123456789") in NAMES
        assert segment.sample_buyer_ids
    if algorithm == pb.CLUSTERING_ALGORITHM_KMEANS:
        assert 3 <= len(response.segments) <= 8


async def test_recommendations_for_buyers_products_and_strangers(
    stack: Stack, database: tuple[str, list[events_pb2.Event]]
) -> None:
    events = database[1]
    buyer = paid_buyers(events)[0]
    personal = await stack.stub.Recommend(
        pb.RecommendRequest(shop_id=stack.shop_id, buyer_id=buyer, limit=5)
    )
    assert personal.strategy == pb.STRATEGY_ALS
    assert 0 < len(personal.items) <= 5
    assert all(item.reason.startswith("because you bought") for item in personal.items)
    assert all(item.because_product_id for item in personal.items)

    stranger = await stack.stub.Recommend(
        pb.RecommendRequest(shop_id=stack.shop_id, buyer_id="someone-new")
    )
    assert stranger.strategy == pb.STRATEGY_COLD_START
    assert len(stranger.items) == 10

    product = catalog_products(events)[0]
    together = await stack.stub.Recommend(
        pb.RecommendRequest(shop_id=stack.shop_id, product_id=product, limit=8)
    )
    assert together.strategy == pb.STRATEGY_BOUGHT_TOGETHER
    assert product not in {item.product_id for item in together.items}
    assert len(together.items) == 8


async def test_recommend_errors(stack: Stack) -> None:
    stub, shop = stack.stub, stack.shop_id
    await expect_status(
        stub.Recommend(pb.RecommendRequest(shop_id=shop, buyer_id="x", limit=101)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "limit",
    )
    await expect_status(
        stub.Recommend(pb.RecommendRequest(shop_id=shop)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "buyer_id or product_id",
    )
    await expect_status(
        stub.Recommend(pb.RecommendRequest(shop_id=shop, product_id="nope")),
        grpc.StatusCode.NOT_FOUND,
        "product 'nope'",
    )
    await expect_status(
        stub.Recommend(pb.RecommendRequest(shop_id=GHOST_SHOP, buyer_id="x")),
        grpc.StatusCode.NOT_FOUND,
        f"shop '{GHOST_SHOP}' is not registered",
    )


async def test_price_optimisation_stays_within_bounds(
    stack: Stack, database: tuple[str, list[events_pb2.Event]]
) -> None:
    product = catalog_products(database[1])[0]
    response = await stack.stub.OptimizePrice(
        pb.OptimizePriceRequest(shop_id=stack.shop_id, product_id=product)
    )
    current = response.current_price_minor
    assert current > 0
    assert round(current * 0.7) <= response.recommended_price_minor <= round(current * 1.3)
    assert response.elasticity_std_error > 0
    assert response.source in (pb.ELASTICITY_SOURCE_PRODUCT, pb.ELASTICITY_SOURCE_CATEGORY)
    assert response.observations > 0
    assert response.explanation

    await expect_status(
        stack.stub.OptimizePrice(
            pb.OptimizePriceRequest(
                shop_id=stack.shop_id, product_id=product, min_price_minor=500, max_price_minor=100
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "min_price_minor",
    )
    await expect_status(
        stack.stub.OptimizePrice(pb.OptimizePriceRequest(shop_id=stack.shop_id, product_id="nope")),
        grpc.StatusCode.NOT_FOUND,
        "product 'nope'",
    )
    # Bounds this large would make a price past int64.
    await expect_status(
        stack.stub.OptimizePrice(
            pb.OptimizePriceRequest(
                shop_id=stack.shop_id,
                product_id=product,
                min_price_minor=2**63 - 1,
                max_price_minor=2**63 - 1,
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "min_price_minor: at most 1000000000000000 minor units",
    )


async def test_marketing_allocation_respects_budget_and_bounds(stack: Stack) -> None:
    total = 10_000_000
    response = await stack.stub.OptimizeMarketing(
        pb.OptimizeMarketingRequest(shop_id=stack.shop_id, total_budget_minor=total)
    )
    channels = [a.channel for a in response.allocations]
    # The generated shop runs a paid-for live stream on about one day in five.
    assert set(channels) == {
        "ads_search",
        "ads_discovery",
        "affiliate",
        "ads_external",
        "live_stream",
    }
    live = next(a for a in response.allocations if a.channel == "live_stream")
    assert live.historical_roas > 0
    assert sum(a.budget_minor for a in response.allocations) <= total + len(channels)
    assert response.expected_revenue_minor == pytest.approx(
        sum(a.expected_revenue_minor for a in response.allocations), abs=len(channels)
    )

    bounded = await stack.stub.OptimizeMarketing(
        pb.OptimizeMarketingRequest(
            shop_id=stack.shop_id,
            total_budget_minor=total,
            mode=pb.ALLOCATION_MODE_BANDIT,
            channels=[
                pb.ChannelBounds(channel="ads_search", min_budget_minor=3_000_000),
                pb.ChannelBounds(channel="affiliate", max_budget_minor=1_000_000),
            ],
        )
    )
    budgets = {a.channel: a.budget_minor for a in bounded.allocations}
    assert set(budgets) == {"ads_search", "affiliate"}
    assert budgets["ads_search"] >= 3_000_000 - 1
    assert budgets["affiliate"] <= 1_000_000 + 1
    assert bounded.mode == pb.ALLOCATION_MODE_BANDIT

    for request, fragment in (
        (pb.OptimizeMarketingRequest(shop_id=stack.shop_id), "total_budget_minor"),
        (
            pb.OptimizeMarketingRequest(
                shop_id=stack.shop_id,
                total_budget_minor=100,
                channels=[pb.ChannelBounds(channel="tv")],
            ),
            "'tv' has no spend history",
        ),
        (
            pb.OptimizeMarketingRequest(
                shop_id=stack.shop_id,
                total_budget_minor=100,
                channels=[pb.ChannelBounds(channel="flash_sale")],
            ),
            "flash_sale: campaigns of this kind have no spend to allocate (their cost is the "
            "discount)",
        ),
        (
            pb.OptimizeMarketingRequest(
                shop_id=stack.shop_id,
                total_budget_minor=100,
                channels=[pb.ChannelBounds(channel="ads_search", min_budget_minor=500)],
            ),
            "minimums add up to 500",
        ),
        (
            pb.OptimizeMarketingRequest(shop_id=stack.shop_id, total_budget_minor=2**63 - 1),
            "total_budget_minor: at most 1000000000000000 minor units",
        ),
    ):
        await expect_status(
            stack.stub.OptimizeMarketing(request), grpc.StatusCode.INVALID_ARGUMENT, fragment
        )


async def test_sentiment_of_the_shop_and_of_free_texts(stack: Stack) -> None:
    response = await stack.stub.GetSentiment(
        pb.SentimentRequest(shop_id=stack.shop_id, from_date="2026-08-01", to_date="2026-10-31")
    )
    assert response.overall.texts > 0
    shares = response.overall
    assert shares.positive_share + shares.neutral_share + shares.negative_share == pytest.approx(1)
    assert {a.aspect for a in response.aspects} <= {"delivery", "quality", "price", "service"}
    assert response.aspects
    assert response.trend
    assert all(date.fromisoformat(p.week).weekday() == 0 for p in response.trend)
    assert sum(p.summary.texts for p in response.trend) == response.overall.texts
    assert response.products

    if not all((DATA_DIR / corpus).exists() for corpus in (PRDECT_ID, AMAZON)):
        # Without them the model learns from the generated shop's reviews alone, and whether it
        # calls these free texts right is chance (the project's layout has them beside the repo).
        pytest.skip(f"the public corpora are not in {DATA_DIR}")
    scored = await stack.stub.ScoreTexts(
        pb.ScoreTextsRequest(
            texts=[
                "Barang rusak dan pengiriman sangat lambat, kecewa sekali",
                "Great quality, fast delivery, very happy with the seller",
            ]
        )
    )
    assert scored.model_version == response.model_version
    negative, positive = scored.results
    assert negative.sentiment == pb.SENTIMENT_NEGATIVE
    assert negative.language == "id"
    assert "delivery" in negative.aspects
    assert positive.sentiment == pb.SENTIMENT_POSITIVE
    assert positive.language == "en"
    assert positive.score > 0 > negative.score


async def test_sentiment_errors(stack: Stack) -> None:
    stub, shop = stack.stub, stack.shop_id
    await expect_status(
        stub.GetSentiment(
            pb.SentimentRequest(shop_id=shop, from_date="2026-13-01", to_date="2026-12-01")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "from_date: expected YYYY-MM-DD",
    )
    await expect_status(
        stub.GetSentiment(
            pb.SentimentRequest(shop_id=shop, from_date="2026-10-01", to_date="2026-09-01")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "after to_date",
    )
    await expect_status(
        stub.GetSentiment(pb.SentimentRequest(shop_id=shop, product_id="nope")),
        grpc.StatusCode.NOT_FOUND,
        "product 'nope'",
    )
    # PostgreSQL text cannot hold NUL: refused before any query.
    await expect_status(
        stub.GetSentiment(pb.SentimentRequest(shop_id=shop, product_id="nope\x00")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "product_id: must not contain NUL",
    )
    await expect_status(
        stub.GetSegments(pb.SegmentsRequest(shop_id=f"{shop}\x00")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "shop_id: must not contain NUL",
    )
    await expect_status(
        stub.ScoreTexts(pb.ScoreTextsRequest()), grpc.StatusCode.INVALID_ARGUMENT, "texts"
    )
    await expect_status(
        stub.ScoreTexts(pb.ScoreTextsRequest(texts=["hi"], language="xx")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "'xx' is not supported",
    )


async def test_models_are_versioned_in_the_registry(stack: Stack) -> None:
    await stack.stub.GetSegments(pb.SegmentsRequest(shop_id=stack.shop_id))
    names = {v.model_name for v in await stack.registry.versions(f"insights/{stack.shop_id}/")}
    assert f"insights/{stack.shop_id}/segments-kmeans" in names
    assert f"insights/{stack.shop_id}/recommender" in names
    versions = await stack.registry.versions("insights/")
    missing = await asyncio.to_thread(
        lambda: [v.artefact_uri for v in versions if not os.path.exists(v.artefact_uri)]
    )
    assert versions
    assert not missing


# These change the shop's catalogue after training, so they come last.


def catalog_change(
    like: events_pb2.Event,
    product_id: str,
    minutes: int,
    *,
    stock: int,
    category: str = "",
    price_minor: int = 0,
    cost_minor: int = 0,
) -> events_pb2.Event:
    """A catalogue event of `like`'s shop, `minutes` after the history the models saw."""
    event = events_pb2.Event(
        event_id=f"after-training-{product_id}-{minutes}",
        shop_id=like.shop_id,
        time_zone=like.time_zone,
        catalog=events_pb2.CatalogEvent(
            product_id=product_id,
            category=category,
            price_minor=price_minor,
            cost_minor=cost_minor,
            stock=stock,
            status=events_pb2.PRODUCT_STATUS_ACTIVE,
        ),
    )
    event.occurred_at.FromDatetime(AFTER_TRAINING + timedelta(minutes=minutes))
    return event


async def test_a_product_sold_out_after_training_is_not_recommended(
    stack: Stack, database: tuple[str, list[events_pb2.Event]]
) -> None:
    stranger = pb.RecommendRequest(shop_id=stack.shop_id, buyer_id="someone-new")
    before = await stack.stub.Recommend(stranger)
    sold_out = before.items[0].product_id
    load_events(stack.dsn, [catalog_change(database[1][0], sold_out, 1, stock=0)])

    after = await stack.stub.Recommend(stranger)
    assert after.model_version == before.model_version  # the same model, today's stock
    assert sold_out not in {item.product_id for item in after.items}
    assert len(after.items) == len(before.items)


async def test_price_optimisation_starts_from_the_catalogue_of_today(
    stack: Stack, database: tuple[str, list[events_pb2.Event]]
) -> None:
    shop, like = stack.shop_id, database[1][0]
    # Trains the pricing model if no earlier test did.
    await expect_status(
        stack.stub.OptimizePrice(pb.OptimizePriceRequest(shop_id=shop, product_id="nope")),
        grpc.StatusCode.NOT_FOUND,
        "product 'nope'",
    )
    version = await stack.registry.active(f"insights/{shop}/pricing")
    assert version is not None
    model: PricingModel = await stack.registry.load(version)
    product = next(p for p in sorted(model.by_product) if model.categories[p] in model.by_category)
    category = model.categories[product]
    raised = round(model.prices[product] * 1.1)
    load_events(
        stack.dsn,
        [
            catalog_change(
                like,
                product,
                2,
                category=category,
                price_minor=raised,
                cost_minor=model.costs[product],
                stock=5,
            ),
            catalog_change(
                like,
                "new-in-category",
                3,
                category=category,
                price_minor=50_000,
                cost_minor=20_000,
                stock=9,
            ),
            catalog_change(
                like,
                "new-elsewhere",
                4,
                category="a new category",
                price_minor=50_000,
                cost_minor=20_000,
                stock=9,
            ),
        ],
    )

    changed = await stack.stub.OptimizePrice(
        pb.OptimizePriceRequest(shop_id=shop, product_id=product)
    )
    assert changed.current_price_minor == raised
    assert changed.source == pb.ELASTICITY_SOURCE_PRODUCT
    borrowed = await stack.stub.OptimizePrice(
        pb.OptimizePriceRequest(shop_id=shop, product_id="new-in-category")
    )
    assert borrowed.current_price_minor == 50_000
    assert borrowed.source == pb.ELASTICITY_SOURCE_CATEGORY
    assert borrowed.elasticity == pytest.approx(model.by_category[category].value)
    await expect_status(
        stack.stub.OptimizePrice(pb.OptimizePriceRequest(shop_id=shop, product_id="new-elsewhere")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "has no elasticity yet: it was added after the pricing model was trained",
    )
    assert await stack.registry.active(f"insights/{shop}/pricing") == version
