"""Forecast answers cached by model version: a hit is found from the registry's metadata alone
(the artefact is loaded only on a miss), and a new version never meets an old answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd

from shopee_forecast.adapters.cache import ForecastCache
from shopee_forecast.adapters.store import Shop
from shopee_forecast.domain.campaigns import Campaign
from shopee_forecast.domain.models import SeasonalNaive
from shopee_forecast.domain.selection import TrainedSeries
from shopee_forecast.domain.series import SeriesKey, Target
from shopee_forecast.predictions import Predictor
from shopee_forecast.training import ForecastArtefact
from shopee_models.registry import ModelVersion

SHOP = Shop("s1", "Asia/Jakarta", "ID")
KEY = SeriesKey("s1", Target.GMV)


def _version(version: str) -> ModelVersion:
    return ModelVersion(
        model_name=KEY.model_name,
        version=version,
        kind="sales_forecast",
        artefact_uri=f"memory://{version}",
        metadata={},
        backtest_scores={},
        status="active",
        trained_at=datetime(2026, 11, 25, tzinfo=UTC),
    )


class _Registry:
    """The active version from metadata; counts artefact loads."""

    def __init__(self, active: ModelVersion, artefact: ForecastArtefact) -> None:
        self.active_version = active
        self.artefact = artefact
        self.loads: list[str] = []

    async def active(self, name: str) -> ModelVersion | None:
        return self.active_version if name == self.active_version.model_name else None

    async def load(self, version: ModelVersion) -> ForecastArtefact:
        self.loads.append(version.version)
        return self.artefact


class _Redis:
    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self.entries.get(key)

    async def set(self, key: str, value: bytes, ex: int) -> None:
        self.entries[key] = value


class _Store:
    async def campaigns(self, shop_id: str) -> list[Campaign]:
        return []


def _predictor(
    sales_frame: Callable[..., pd.DataFrame],
) -> tuple[Predictor, _Registry, _Redis]:
    trained = TrainedSeries(model=SeasonalNaive.fit(sales_frame(70)))
    registry = _Registry(_version("v1"), ForecastArtefact(KEY, SHOP.time_zone, "ID", trained))
    redis = _Redis()
    predictor = Predictor(
        store=_Store(),  # type: ignore[arg-type]
        registry=registry,  # type: ignore[arg-type]
        cache=ForecastCache(redis, ttl_seconds=3600),  # type: ignore[arg-type]
        trainer=None,  # type: ignore[arg-type]
    )
    return predictor, registry, redis


async def test_a_cache_hit_does_not_load_the_artefact(
    sales_frame: Callable[..., pd.DataFrame],
) -> None:
    predictor, registry, redis = _predictor(sales_frame)
    first = await predictor.forecast(SHOP, KEY, 14)
    assert not first.from_cache
    assert registry.loads == ["v1"]
    assert list(redis.entries) == ["shopee:forecast:v2:forecast/s1/gmv:v1:14"]

    second = await predictor.forecast(SHOP, KEY, 14)
    assert second.from_cache
    assert registry.loads == ["v1"]
    assert second.model_version == "v1"
    assert list(second.points) == list(first.points)


async def test_a_new_version_is_a_miss_that_loads_its_own_artefact(
    sales_frame: Callable[..., pd.DataFrame],
) -> None:
    predictor, registry, redis = _predictor(sales_frame)
    await predictor.forecast(SHOP, KEY, 14)
    registry.active_version = _version("v2")

    answer = await predictor.forecast(SHOP, KEY, 14)
    assert not answer.from_cache
    assert answer.model_version == "v2"
    assert registry.loads == ["v1", "v2"]
    assert "shopee:forecast:v2:forecast/s1/gmv:v2:14" in redis.entries
