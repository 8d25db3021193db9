"""Request validation and error statuses, with a fake engine (no database)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import numpy as np
import pytest

from shopee.insights.v1 import insights_pb2 as pb
from shopee_common.grpc_server import InvalidArgument, NotFound, ServiceError
from shopee_insights.adapters.repository import CONNECTION_ERRORS
from shopee_insights.domain.marketing import ResponseCurves
from shopee_insights.servicer import InsightsServicer, _bounds, _date_range


class FakeEngine:
    """Knows one shop, 's', and one fitted marketing curve; trains nothing."""

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

    async def time_zone(self, shop_id: str) -> str:
        if shop_id != "s":
            raise NotFound(f"shop {shop_id!r} is not registered")
        return "UTC"


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


def test_dates_and_bounds() -> None:
    with pytest.raises(InvalidArgument, match="give both or neither"):
        _date_range("2026-01-01", "")
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


def test_a_lost_database_is_one_of_the_outages_the_server_answers_unavailable() -> None:
    # shopee_common.grpc_server answers an exception listed in GrpcService.outages with
    # UNAVAILABLE (tested there); these are what asyncpg raises when PostgreSQL is gone.
    for lost in (
        ConnectionRefusedError("connection refused"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.PostgresConnectionError("connection lost"),
    ):
        assert isinstance(lost, CONNECTION_ERRORS)
