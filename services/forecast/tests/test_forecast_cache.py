"""Forecast answers cached by model version: a hit is found from the registry's metadata alone
(the artefact is loaded only on a miss), and a new version never meets an old answer. A version
well behind the data counted still answers, while its refit runs in the background."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

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


TRAINED_TO = date(2026, 11, 24)


def _version(version: str, history_end: date = TRAINED_TO) -> ModelVersion:
    return ModelVersion(
        model_name=KEY.model_name,
        version=version,
        kind="sales_forecast",
        artefact_uri=f"memory://{version}",
        metadata={"history_end": history_end.isoformat()},
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
    def __init__(self) -> None:
        self.counted_to = TRAINED_TO  # what the stream job has counted the series' source to

    async def campaigns(self, shop_id: str) -> list[Campaign]:
        return []

    async def history_bounds(
        self, shop: Shop, source: str | None = None
    ) -> tuple[date, date] | None:
        return date(2025, 1, 1), self.counted_to


class _Trainer:
    """Each fit registers a version trained to the data counted."""

    def __init__(self, store: _Store, registry: _Registry) -> None:
        self.store, self.registry = store, registry
        self.fits = 0
        self.fitted = asyncio.Event()

    async def series_tasks(self, shop: Shop, keys: list[SeriesKey]) -> list[Any]:
        return [object()]

    async def run(self, tasks: list[Any]) -> list[tuple[Any, ModelVersion]]:
        self.fits += 1
        version = _version(f"v{self.fits + 1}", self.store.counted_to)
        self.registry.active_version = version
        self.fitted.set()
        return [(None, version)]


def _predictor(
    sales_frame: Callable[..., pd.DataFrame], store: _Store | None = None
) -> tuple[Predictor, _Registry, _Redis]:
    trained = TrainedSeries(model=SeasonalNaive.fit(sales_frame(70)))
    registry = _Registry(_version("v1"), ForecastArtefact(KEY, SHOP.time_zone, "ID", trained))
    redis = _Redis()
    store = store or _Store()
    predictor = Predictor(
        store=store,  # type: ignore[arg-type]
        registry=registry,  # type: ignore[arg-type]
        cache=ForecastCache(redis, ttl_seconds=3600),  # type: ignore[arg-type]
        trainer=_Trainer(store, registry),  # type: ignore[arg-type]
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


async def test_a_version_behind_its_data_answers_while_it_is_refitted(
    sales_frame: Callable[..., pd.DataFrame],
) -> None:
    store = _Store()
    predictor, _, _ = _predictor(sales_frame, store)
    trainer: _Trainer = predictor.trainer  # type: ignore[assignment]
    store.counted_to = TRAINED_TO + timedelta(days=2)  # a day or two behind: the nightly rhythm
    assert (await predictor.forecast(SHOP, KEY, 7)).model_version == "v1"
    await asyncio.sleep(0)
    assert trainer.fits == 0
    store.counted_to = TRAINED_TO + timedelta(days=30)  # e.g. trained mid catch-up
    answers = await asyncio.gather(*(predictor.forecast(SHOP, KEY, 7) for _ in range(3)))
    assert {a.model_version for a in answers} == {"v1"}, "the old version answers meanwhile"
    await asyncio.wait_for(trainer.fitted.wait(), timeout=10)
    assert trainer.fits == 1, "one refit, however many calls found the version behind"
    refreshed = await predictor.forecast(SHOP, KEY, 7)
    assert refreshed.model_version == "v2"
    assert trainer.fits == 1
