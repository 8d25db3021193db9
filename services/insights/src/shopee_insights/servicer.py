"""gRPC transport: validates requests, asks the engine for models, shapes the answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import numpy as np
import pandas as pd
from google.protobuf.timestamp_pb2 import Timestamp

from shopee.insights.v1 import insights_pb2 as pb
from shopee.insights.v1 import insights_pb2_grpc
from shopee_common.events import MAX_AMOUNT_MINOR
from shopee_common.grpc_server import FailedPrecondition, InvalidArgument, NotFound
from shopee_insights.domain.marketing import (
    DISCOUNT_CAMPAIGNS,
    LIVE_STREAM,
    MIN_STREAM_DAYS,
    Bounds,
    ResponseCurves,
    allocate,
    thompson_allocate,
)
from shopee_insights.domain.pricing import optimal_price
from shopee_insights.domain.recommend import Recommender, Suggestion
from shopee_insights.domain.segments import Segmentation
from shopee_insights.engine import InsightsEngine
from shopee_insights.training import PricingModel
from shopee_models.registry import ModelVersion

MAX_LIMIT = 100
MAX_TEXTS = 1_000
MAX_TEXT_CHARS = 5_000
DEFAULT_SENTIMENT_DAYS = 90
ALGORITHMS = {
    pb.CLUSTERING_ALGORITHM_UNSPECIFIED: "kmeans",
    pb.CLUSTERING_ALGORITHM_KMEANS: "kmeans",
    pb.CLUSTERING_ALGORITHM_DBSCAN: "dbscan",
    pb.CLUSTERING_ALGORITHM_AGGLOMERATIVE: "agglomerative",
}
SENTIMENTS = {
    "negative": pb.SENTIMENT_NEGATIVE,
    "neutral": pb.SENTIMENT_NEUTRAL,
    "positive": pb.SENTIMENT_POSITIVE,
}


def _shop_id(value: str) -> str:
    if not value.strip():
        raise InvalidArgument("shop_id: required")
    return _query_text("shop_id", value)


def _query_text(field: str, value: str) -> str:
    """A request string that reaches a PostgreSQL query, whose text type cannot hold NUL."""
    if "\x00" in value:
        raise InvalidArgument(f"{field}: must not contain NUL (\\x00)")
    return value


def _money(field: str, value: int) -> int:
    """An amount in minor units, 0 to the platform's cap: answers computed from it (prices,
    budgets, revenues) then fit their int64 fields."""
    if value < 0:
        raise InvalidArgument(f"{field}: must not be negative, got {value}")
    if value > MAX_AMOUNT_MINOR:
        raise InvalidArgument(f"{field}: at most {MAX_AMOUNT_MINOR} minor units, got {value}")
    return value


class InsightsServicer(insights_pb2_grpc.InsightsServiceServicer):
    def __init__(
        self,
        engine: InsightsEngine,
        seed: int | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.rng = np.random.default_rng(seed)
        self.clock = clock

    async def GetSegments(
        self, request: pb.SegmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SegmentsResponse:
        shop_id = _shop_id(request.shop_id)
        if request.algorithm not in ALGORITHMS:
            raise InvalidArgument(f"algorithm: unknown value {request.algorithm}")
        await self.engine.time_zone(shop_id)
        loaded = await self.engine.model(shop_id, f"segments-{ALGORITHMS[request.algorithm]}")
        result: Segmentation = loaded.model
        computed = Timestamp()
        computed.FromDatetime(result.computed_at.to_pydatetime())
        return pb.SegmentsResponse(
            shop_id=shop_id,
            algorithm=request.algorithm or pb.CLUSTERING_ALGORITHM_KMEANS,
            model_version=loaded.version.version,
            computed_at=computed,
            silhouette=result.silhouette,
            segments=[
                pb.Segment(
                    segment_id=s.segment_id,
                    name=s.name,
                    description=s.description,
                    buyers=s.buyers,
                    revenue_share=s.revenue_share,
                    median_recency_days=s.median_recency_days,
                    median_frequency=s.median_frequency,
                    median_monetary_minor=s.median_monetary_minor,
                    sample_buyer_ids=s.sample_buyer_ids,
                )
                for s in result.segments
            ],
        )

    async def Recommend(
        self, request: pb.RecommendRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecommendResponse:
        shop_id = _shop_id(request.shop_id)
        if not 0 <= request.limit <= MAX_LIMIT:
            raise InvalidArgument(
                f"limit: must be 1 to {MAX_LIMIT} (0 means 10), got {request.limit}"
            )
        if request.buyer_id and request.product_id:
            raise InvalidArgument("give buyer_id or product_id, not both")
        if not request.buyer_id and not request.product_id:
            raise InvalidArgument("buyer_id or product_id: one is required")
        limit = request.limit or 10
        await self.engine.time_zone(shop_id)
        loaded = await self.engine.model(shop_id, "recommender")
        changes = await self.engine.catalog_changes(shop_id, loaded.version)
        trained: Recommender = loaded.model
        model = trained.with_current_catalog(changes)
        items: list[Suggestion]
        if request.product_id:
            if request.product_id in model.product_index:
                strategy = pb.STRATEGY_BOUGHT_TOGETHER
                items = model.bought_together(request.product_id, limit)
            elif request.product_id in changes.index:
                # Added since training: no co-purchases yet, so the popular ones of its category.
                strategy = pb.STRATEGY_COLD_START
                items = model.cold_start(limit, str(changes.at[request.product_id, "category"]))
            else:
                raise NotFound(f"product {request.product_id!r} is not in shop {shop_id!r}")
        elif model.knows_buyer(request.buyer_id):
            strategy = pb.STRATEGY_ALS
            items = model.for_buyer(request.buyer_id, limit)
        else:
            strategy = pb.STRATEGY_COLD_START
            items = model.cold_start(limit)
        return pb.RecommendResponse(
            shop_id=shop_id,
            strategy=strategy,
            model_version=loaded.version.version,
            items=[
                pb.Recommendation(
                    product_id=i.product_id,
                    score=i.score,
                    reason=i.reason,
                    because_product_id=i.because_product_id,
                )
                for i in items
            ],
        )

    async def OptimizePrice(
        self, request: pb.OptimizePriceRequest, context: grpc.aio.ServicerContext
    ) -> pb.OptimizePriceResponse:
        shop_id = _shop_id(request.shop_id)
        if not request.product_id:
            raise InvalidArgument("product_id: required")
        for field in ("min_price_minor", "max_price_minor", "unit_cost_minor"):
            _money(field, getattr(request, field))
        if (
            request.min_price_minor
            and request.max_price_minor
            and (request.min_price_minor > request.max_price_minor)
        ):
            raise InvalidArgument(
                f"min_price_minor ({request.min_price_minor}) is above max_price_minor "
                f"({request.max_price_minor})"
            )
        await self.engine.time_zone(shop_id)
        loaded = await self.engine.model(shop_id, "pricing")
        model: PricingModel = loaded.model
        product = request.product_id
        changes = await self.engine.catalog_changes(shop_id, loaded.version)
        listing = _listing(model, changes, product)
        if listing is None:
            raise NotFound(f"product {product!r} is not in shop {shop_id!r}")
        current = float(listing.price_minor)
        # First: the default bounds are shares of this price, and the cost or elasticity errors
        # would blame the wrong cause.
        if current <= 0:
            raise FailedPrecondition(
                f"product {product!r} has no list price in the catalog "
                f"(price {listing.price_minor}) to optimise from"
            )
        cost = float(request.unit_cost_minor or listing.cost_minor)
        if cost <= 0:
            raise FailedPrecondition(
                f"product {product!r} has no unit cost in the catalog; pass unit_cost_minor"
            )
        low = float(request.min_price_minor or round(current * 0.7))
        high = float(request.max_price_minor or round(current * 1.3))
        if low > high:
            raise InvalidArgument(f"the price bounds are empty: {low:.0f} to {high:.0f}")
        elasticity = model.by_product.get(product)
        source = pb.ELASTICITY_SOURCE_PRODUCT
        if elasticity is None:
            category = listing.category
            elasticity = model.by_category.get(category)
            source = pb.ELASTICITY_SOURCE_CATEGORY
            if elasticity is None and listing.added_since_training:
                raise FailedPrecondition(self._no_elasticity_yet(product, category, loaded.version))
            if elasticity is None:
                raise FailedPrecondition(
                    f"product {product!r} and its category {category!r} have too little sales "
                    "or price variation to measure an elasticity (a product needs 100 add-to-carts "
                    "and about 5% price spread)"
                )
        advice = optimal_price(elasticity.value, current, cost, low, high)
        caution = "" if elasticity.significant else " The elasticity is not significant at 5%."
        return pb.OptimizePriceResponse(
            shop_id=shop_id,
            product_id=product,
            current_price_minor=advice.current_price_minor,
            recommended_price_minor=advice.recommended_price_minor,
            elasticity=elasticity.value,
            elasticity_std_error=elasticity.std_error,
            source=source,
            significant=elasticity.significant,
            expected_units_change_pct=advice.expected_units_change_pct,
            expected_profit_change_pct=advice.expected_profit_change_pct,
            observations=elasticity.observations,
            explanation=advice.explanation[0].upper() + advice.explanation[1:] + "." + caution,
        )

    def _no_elasticity_yet(self, product: str, category: str, version: ModelVersion) -> str:
        retrained_at = self.engine.next_training(version, self.clock())
        return (
            f"product {product!r} has no elasticity yet: it was added after the pricing model "
            f"was trained ({_utc(version.trained_at)}), and its category {category!r} has too "
            "little sales or price variation to lend one; "
            + (
                f"the next refresh is at {_utc(retrained_at)}"
                if retrained_at is not None
                else "no refresh is scheduled (run `shopee-insights train shops`)"
            )
        )

    async def OptimizeMarketing(
        self, request: pb.OptimizeMarketingRequest, context: grpc.aio.ServicerContext
    ) -> pb.OptimizeMarketingResponse:
        shop_id = _shop_id(request.shop_id)
        if request.total_budget_minor <= 0:
            raise InvalidArgument(
                f"total_budget_minor: must be positive, got {request.total_budget_minor}"
            )
        total = float(_money("total_budget_minor", request.total_budget_minor))
        for i, channel in enumerate(request.channels):
            _money(f"channels[{i}].min_budget_minor", channel.min_budget_minor)
            _money(f"channels[{i}].max_budget_minor", channel.max_budget_minor)
        if request.mode not in (
            pb.ALLOCATION_MODE_UNSPECIFIED,
            pb.ALLOCATION_MODE_LINEAR_PROGRAM,
            pb.ALLOCATION_MODE_BANDIT,
        ):
            raise InvalidArgument(f"mode: unknown value {request.mode}")
        await self.engine.time_zone(shop_id)
        loaded = await self.engine.model(shop_id, "marketing")
        curves: ResponseCurves = loaded.model
        bounds = _bounds(request, curves, total)
        if request.mode == pb.ALLOCATION_MODE_BANDIT:
            allocations = thompson_allocate(curves, total, bounds, self.rng)
        else:
            allocations = allocate(curves, total, bounds)
        revenue = sum(a.expected_revenue for a in allocations)
        spent = sum(a.budget for a in allocations)
        return pb.OptimizeMarketingResponse(
            shop_id=shop_id,
            mode=request.mode or pb.ALLOCATION_MODE_LINEAR_PROGRAM,
            allocations=[
                pb.ChannelAllocation(
                    channel=a.channel,
                    budget_minor=round(a.budget),
                    expected_revenue_minor=round(a.expected_revenue),
                    expected_roas=a.expected_roas,
                    historical_roas=a.historical_roas,
                )
                for a in allocations
            ],
            expected_revenue_minor=round(revenue),
            expected_roas=revenue / spent if spent else 0.0,
            model_version=loaded.version.version,
        )

    async def GetSentiment(
        self, request: pb.SentimentRequest, context: grpc.aio.ServicerContext
    ) -> pb.SentimentResponse:
        shop_id = _shop_id(request.shop_id)
        _query_text("product_id", request.product_id)
        start = _parse_date("from_date", request.from_date)
        end = _parse_date("to_date", request.to_date)
        zone = await self.engine.time_zone(shop_id)
        today = self.clock().astimezone(ZoneInfo(zone)).date()
        first, last = _date_window(start, end, today)
        version, texts = await self.engine.scored_texts(shop_id, zone)
        product_unseen = request.product_id and request.product_id not in set(texts["product_id"])
        if product_unseen and not await self.engine.repository.product_exists(
            shop_id, request.product_id
        ):
            raise NotFound(f"product {request.product_id!r} is not in shop {shop_id!r}")
        chosen = texts[(texts["local_date"] >= first) & (texts["local_date"] <= last)]
        if request.product_id:
            chosen = chosen[chosen["product_id"] == request.product_id]
        response = await asyncio.to_thread(_sentiment_response, chosen, request.product_id)
        response.shop_id = shop_id
        response.product_id = request.product_id
        response.model_version = version
        return response

    async def ScoreTexts(
        self, request: pb.ScoreTextsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScoreTextsResponse:
        if not request.texts:
            raise InvalidArgument("texts: at least one text is required")
        if len(request.texts) > MAX_TEXTS:
            raise InvalidArgument(f"texts: at most {MAX_TEXTS} per call, got {len(request.texts)}")
        for i, text in enumerate(request.texts):
            if len(text) > MAX_TEXT_CHARS:
                raise InvalidArgument(
                    f"texts[{i}]: at most {MAX_TEXT_CHARS} characters, got {len(text)}"
                )
        sentiment = await self.engine.sentiment()
        language = request.language.split("-")[0].lower()
        if language and language not in sentiment.model.languages:
            raise InvalidArgument(
                f"language: {request.language!r} is not supported; supported: "
                f"{', '.join(sentiment.model.languages)} (or empty to detect)"
            )
        texts = list(request.texts)
        scores = await asyncio.to_thread(
            sentiment.model.score, texts, [language] * len(texts) if language else None
        )
        return pb.ScoreTextsResponse(
            model_version=sentiment.version.version,
            results=[
                pb.ScoredText(
                    sentiment=SENTIMENTS[s.label],
                    score=s.score,
                    aspects=sorted(s.aspects),
                    language=s.language,
                )
                for s in scores
            ],
        )


@dataclass(frozen=True)
class Listing:
    """A product's catalogue entry as OptimizePrice prices it."""

    price_minor: int
    cost_minor: int
    category: str
    added_since_training: bool


def _listing(model: PricingModel, changes: pd.DataFrame, product: str) -> Listing | None:
    """The product's entry now: its latest catalogue change since training, else as trained;
    None when the shop never listed it."""
    if product in changes.index:
        row = changes.loc[product].to_dict()
        return Listing(
            int(row["price_minor"]),
            int(row["cost_minor"]),
            str(row["category"]),
            added_since_training=product not in model.prices,
        )
    if product in model.prices:
        return Listing(
            model.prices[product],
            model.costs.get(product, 0),
            model.categories.get(product, ""),
            added_since_training=False,
        )
    return None


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _bounds(
    request: pb.OptimizeMarketingRequest, curves: ResponseCurves, total: float
) -> list[Bounds]:
    """Each channel's budget range; the amounts themselves were checked (`_money`) first."""
    if not request.channels:
        return [Bounds(c, 0.0, total) for c in curves.channels]
    seen: set[str] = set()
    bounds = []
    for i, channel in enumerate(request.channels):
        name = channel.channel
        if name in seen:
            raise InvalidArgument(f"channels[{i}].channel: {name!r} appears twice")
        seen.add(name)
        if name not in curves.channels:
            raise InvalidArgument(
                f"channels[{i}].channel: {_not_a_channel(name)}; known: "
                f"{', '.join(curves.channels)}"
            )
        if channel.max_budget_minor and channel.min_budget_minor > channel.max_budget_minor:
            raise InvalidArgument(
                f"channels[{i}]: min_budget_minor {channel.min_budget_minor} is above "
                f"max_budget_minor {channel.max_budget_minor}"
            )
        high = float(channel.max_budget_minor or max(total, channel.min_budget_minor))
        bounds.append(Bounds(name, float(channel.min_budget_minor), high))
    floor = sum(b.low for b in bounds)
    if floor > total:
        raise InvalidArgument(
            f"the channel minimums add up to {floor:.0f}, above total_budget_minor {total:.0f}"
        )
    return bounds


def _not_a_channel(name: str) -> str:
    if name in DISCOUNT_CAMPAIGNS:
        return (
            f"{name}: campaigns of this kind have no spend to allocate (their cost is the discount)"
        )
    if name == LIVE_STREAM:
        return (
            f"{name}: the shop has fewer than {MIN_STREAM_DAYS} days with live-stream spend, "
            "too few to fit a curve"
        )
    return f"{name!r} has no spend history"


def _parse_date(field: str, value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(f"{field}: expected YYYY-MM-DD, got {value!r}") from None


def _date_window(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """First and last shop-local day, both included; each bound defaults on its own: to_date to
    `today`, from_date to the start of the DEFAULT_SENTIMENT_DAYS days ending on to_date."""
    last = today if end is None else end
    first = last - timedelta(days=DEFAULT_SENTIMENT_DAYS - 1) if start is None else start
    if first > last:
        defaulted = " (today in the shop's time zone)" if end is None else ""
        raise InvalidArgument(f"from_date {first} is after to_date {last}{defaulted}")
    return first, last


def _summary(rows: pd.DataFrame) -> pb.SentimentSummary:
    count = len(rows)
    if not count:
        return pb.SentimentSummary(texts=0)
    labels = rows["label"].value_counts(normalize=True)
    return pb.SentimentSummary(
        texts=count,
        positive_share=float(labels.get("positive", 0.0)),
        neutral_share=float(labels.get("neutral", 0.0)),
        negative_share=float(labels.get("negative", 0.0)),
        mean_score=float(rows["score"].mean()),
    )


def _sentiment_response(rows: pd.DataFrame, product_id: str) -> pb.SentimentResponse:
    response = pb.SentimentResponse(overall=_summary(rows))
    aspects: dict[str, list[float]] = {}
    for found in rows["aspects"]:
        for aspect, value in found.items():
            aspects.setdefault(aspect, []).append(value)
    for aspect in sorted(aspects):
        values = np.array(aspects[aspect])
        response.aspects.append(
            pb.AspectSentiment(
                aspect=aspect,
                mentions=len(values),
                mean_score=float(values.mean()),
                negative_share=float((values < -0.2).mean()),
            )
        )
    if len(rows):
        weeks = pd.to_datetime(rows["local_date"]).dt.to_period("W-SUN").dt.start_time.dt.date
        for week, group in rows.groupby(weeks):
            response.trend.append(
                pb.SentimentTrendPoint(week=week.isoformat(), summary=_summary(group))
            )
    if not product_id:
        reviews = rows[(rows["source"] == "review") & (rows["product_id"] != "")]
        negatives = reviews.groupby("product_id")["label"].apply(
            lambda s: int((s == "negative").sum())
        )
        for product in negatives.sort_values(ascending=False, kind="stable").index:
            response.products.append(
                pb.ProductSentiment(
                    product_id=str(product),
                    summary=_summary(reviews[reviews["product_id"] == product]),
                )
            )
    return response
