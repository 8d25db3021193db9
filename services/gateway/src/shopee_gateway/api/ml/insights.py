"""/api/insights/...: segments, recommendations, price and marketing optimisation and sentiment,
served by the insights service over gRPC."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from shopee.insights.v1 import insights_pb2
from shopee_gateway.api import examples as ex
from shopee_gateway.api.ml.dependencies import UpstreamsDep
from shopee_gateway.api.ml.schemas import (
    Algorithm,
    OptimizeMarketingRequest,
    OptimizeMarketingResponse,
    OptimizePriceRequest,
    OptimizePriceResponse,
    RecommendRequest,
    RecommendResponse,
    SegmentsResponse,
    SentimentResponse,
    ShopId,
)
from shopee_gateway.errors import problem_responses
from shopee_gateway.repositories.catalog import CatalogRepository
from shopee_gateway.security.dependencies import require, require_shop
from shopee_gateway.security.principal import Principal

router = APIRouter(prefix="/api/insights", tags=["insights"])
InsightsReader = Annotated[Principal, Depends(require("insights:read"))]
PROBLEMS = problem_responses(401, 403, 404, 409, 422, 503)

ALGORITHMS = {
    "kmeans": insights_pb2.CLUSTERING_ALGORITHM_KMEANS,
    "dbscan": insights_pb2.CLUSTERING_ALGORITHM_DBSCAN,
    "agglomerative": insights_pb2.CLUSTERING_ALGORITHM_AGGLOMERATIVE,
}
ALLOCATION_MODES = {
    "linear_program": insights_pb2.ALLOCATION_MODE_LINEAR_PROGRAM,
    "bandit": insights_pb2.ALLOCATION_MODE_BANDIT,
}


@router.get(
    "/segments", summary="Buyer segments (RFM + clustering) with profiles", responses=PROBLEMS
)
async def segments(
    principal: InsightsReader,
    upstreams: UpstreamsDep,
    shop_id: Annotated[ShopId, Query()],
    algorithm: Annotated[
        Algorithm, Query(description="Clustering algorithm.", examples=["kmeans"])
    ] = "kmeans",
) -> SegmentsResponse:
    """From the insights service's latest clustering of the shop's buyers: each segment's size,
    share of revenue, median recency, frequency and spend, and a few of its buyers."""
    require_shop(principal, shop_id)
    request = insights_pb2.SegmentsRequest(shop_id=shop_id, algorithm=ALGORITHMS[algorithm])
    return await upstreams.answer(
        "insights", upstreams.insights.GetSegments, request, SegmentsResponse
    )


@router.post(
    "/recommend",
    summary="Products to recommend to a buyer, or bought together with a product",
    responses=PROBLEMS,
)
async def recommend(
    body: RecommendRequest, principal: InsightsReader, upstreams: UpstreamsDep, http: Request
) -> RecommendResponse:
    """From the insights service's models of the shop: products bought together with
    `product_id`, or `buyer_id`'s personal picks (the shop's popular products for a buyer it does
    not know yet), each with its catalogue name, a score and a reason; `strategy` says which."""
    require_shop(principal, body.shop_id)
    request = insights_pb2.RecommendRequest(
        shop_id=body.shop_id,
        buyer_id=body.buyer_id or "",
        product_id=body.product_id or "",
        limit=body.limit,
    )
    answer = await upstreams.answer(
        "insights", upstreams.insights.Recommend, request, RecommendResponse
    )
    catalog: CatalogRepository = http.app.state.catalog
    await catalog.name(body.shop_id, answer.items)
    return answer


@router.post(
    "/optimize-price",
    summary="The profit-maximising price from the measured price elasticity",
    responses=PROBLEMS,
)
async def optimize_price(
    body: OptimizePriceRequest, principal: InsightsReader, upstreams: UpstreamsDep
) -> OptimizePriceResponse:
    """From the insights service's elasticity of the product (or of its category when the
    product's price history is thin): the recommended price within the bounds, and the expected
    change in units and profit."""
    require_shop(principal, body.shop_id)
    request = insights_pb2.OptimizePriceRequest(
        shop_id=body.shop_id,
        product_id=body.product_id,
        min_price_minor=body.min_price_minor or 0,
        max_price_minor=body.max_price_minor or 0,
        unit_cost_minor=body.unit_cost_minor or 0,
    )
    return await upstreams.answer(
        "insights", upstreams.insights.OptimizePrice, request, OptimizePriceResponse
    )


@router.post(
    "/optimize-marketing",
    summary="Split a marketing budget across channels from their fitted response curves",
    responses=PROBLEMS,
)
async def optimize_marketing(
    body: OptimizeMarketingRequest, principal: InsightsReader, upstreams: UpstreamsDep
) -> OptimizeMarketingResponse:
    """From the insights service's response curve of each channel: the budget per channel and
    the revenue and ROAS it is expected to bring, against each channel's historical ROAS."""
    require_shop(principal, body.shop_id)
    request = insights_pb2.OptimizeMarketingRequest(
        shop_id=body.shop_id,
        total_budget_minor=body.total_budget_minor,
        channels=[
            insights_pb2.ChannelBounds(
                channel=bounds.channel,
                min_budget_minor=bounds.min_budget_minor,
                max_budget_minor=bounds.max_budget_minor or 0,
            )
            for bounds in body.channels
        ],
        mode=ALLOCATION_MODES[body.mode],
    )
    return await upstreams.answer(
        "insights", upstreams.insights.OptimizeMarketing, request, OptimizeMarketingResponse
    )


@router.get(
    "/sentiment",
    summary="Review and chat sentiment: overall, by aspect, by week and by product",
    responses=PROBLEMS,
)
async def sentiment(
    principal: InsightsReader,
    upstreams: UpstreamsDep,
    shop_id: Annotated[ShopId, Query()],
    product_id: Annotated[
        str | None,
        Query(
            max_length=128,
            description="One product's texts; default: the whole shop.",
            examples=[ex.PRODUCT_ID],
        ),
    ] = None,
    from_date: Annotated[
        date | None,
        Query(
            description="First shop-local day, included; default 89 days before to_date "
            "(a 90-day window). Must not be after to_date.",
            examples=["2026-09-02"],
        ),
    ] = None,
    to_date: Annotated[
        date | None,
        Query(
            description="Last shop-local day, included; default today in the shop's time zone.",
            examples=["2026-11-30"],
        ),
    ] = None,
) -> SentimentResponse:
    """From the insights service's sentiment scores of the shop's reviews and buyer chats in the
    window: the overall mix, per aspect (delivery, quality, price, service), per ISO week and
    per product."""
    require_shop(principal, shop_id)
    request = insights_pb2.SentimentRequest(
        shop_id=shop_id,
        product_id=product_id or "",
        from_date=from_date.isoformat() if from_date else "",
        to_date=to_date.isoformat() if to_date else "",
    )
    return await upstreams.answer(
        "insights", upstreams.insights.GetSentiment, request, SentimentResponse
    )
