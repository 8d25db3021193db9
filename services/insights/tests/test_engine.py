"""The service layer with an in-memory registry and repository: train when missing, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shopee_common.grpc_server import FailedPrecondition, NotFound
from shopee_insights.domain.shop_data import ShopData
from shopee_insights.engine import EngineOptions, InsightsEngine
from shopee_models.registry import ModelVersion


class MemoryRegistry:
    def __init__(self) -> None:
        self.rows: list[ModelVersion] = []
        self.models: dict[str, object] = {}

    async def register(
        self, model_name: str, *, kind: str, model: object, **_: Any
    ) -> ModelVersion:
        version = ModelVersion(
            model_name, f"v{len(self.rows)}", kind, "memory://", {}, {}, "active", datetime.now(UTC)
        )
        self.rows = [r for r in self.rows if r.model_name != model_name] + [version]
        self.models[version.version] = model
        return version

    async def active(self, model_name: str) -> ModelVersion | None:
        return next((r for r in self.rows if r.model_name == model_name), None)

    async def load(self, version: ModelVersion) -> object:
        return self.models[version.version]


class MemoryRepository:
    def __init__(self, shops: dict[str, ShopData]) -> None:
        self.shops = shops
        self.loads = 0

    async def shop_time_zone(self, shop_id: str) -> str | None:
        return self.shops[shop_id].time_zone if shop_id in self.shops else None

    async def shop_ids(self) -> list[str]:
        return sorted(self.shops)

    async def load_shop(self, shop_id: str, time_zone: str, kinds: tuple[str, ...]) -> ShopData:
        self.loads += 1
        await asyncio.sleep(0)
        return self.shops[shop_id]


def engine_for(shops: dict[str, ShopData], age: timedelta | None = None) -> InsightsEngine:
    return InsightsEngine(
        MemoryRepository(shops),  # type: ignore[arg-type]
        MemoryRegistry(),  # type: ignore[arg-type]
        EngineOptions(max_model_age=age),
    )


async def test_concurrent_requests_share_one_training(shop: ShopData) -> None:
    engine = engine_for({shop.shop_id: shop})
    first, second = await asyncio.gather(
        engine.model(shop.shop_id, "segments-kmeans"), engine.model(shop.shop_id, "segments-kmeans")
    )
    assert first.version == second.version
    assert engine.repository.loads == 1  # type: ignore[attr-defined]
    again = await engine.model(shop.shop_id, "segments-kmeans")
    assert again.version == first.version


async def test_stale_models_are_retrained(shop: ShopData) -> None:
    engine = engine_for({shop.shop_id: shop}, age=timedelta(0))
    first = await engine.model(shop.shop_id, "segments-kmeans")
    second = await engine.model(shop.shop_id, "segments-kmeans")
    assert first.version.version != second.version.version


async def test_unknown_shops_and_thin_shops_get_precise_errors(shop: ShopData) -> None:
    thin = ShopData(
        shop_id="thin",
        time_zone="UTC",
        orders=shop.orders.head(5),
        traffic=shop.traffic.head(0),
        catalog=shop.catalog,
        campaigns=shop.campaigns.head(0),
        reviews=shop.reviews.head(0),
        chats=shop.chats.head(0),
    )
    engine = engine_for({"thin": thin})
    with pytest.raises(NotFound, match="'ghost' is not registered"):
        await engine.model("ghost", "segments-kmeans")
    with pytest.raises(FailedPrecondition, match="at least 20 buyers"):
        await engine.model("thin", "segments-kmeans")
    with pytest.raises(
        FailedPrecondition, match="at least 28 days of ads spend; shop 'thin' has 0"
    ):
        await engine.model("thin", "marketing")
