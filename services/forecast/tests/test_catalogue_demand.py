"""A catalogue's demand for the inventory advice: one read of the registry, the campaigns and the
units for every product, each model's 90-day forecast from the forecast cache or put there, and
the predictions carried on when the caller gives up."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shopee.forecast.v1 import forecast_pb2
from shopee_common.grpc_server import FailedPrecondition
from shopee_forecast.adapters.store import Shop
from shopee_forecast.domain.models import SeasonalNaive
from shopee_forecast.domain.selection import TrainedSeries
from shopee_forecast.domain.series import SeriesKey, Target
from shopee_forecast.predictions import RECENT_DEMAND_VERSION, Predictor, ProductDemand
from shopee_forecast.training import ForecastArtefact
from shopee_models.registry import ModelVersion

SHOP = Shop("s1", "Asia/Jakarta", "ID")
LAST = date(2026, 6, 30)  # the shop's last complete day of data
MODELLED = [f"P{i}" for i in range(8)]
UNMODELLED, NEW = "P-flat", "P-new"


def _version(product_id: str, history_end: date) -> ModelVersion:
    return ModelVersion(
        model_name=SeriesKey(SHOP.shop_id, Target.UNITS, product_id).model_name,
        version=f"v-{product_id}",
        kind="demand_forecast",
        artefact_uri=f"memory://{product_id}",
        metadata={"history_end": history_end.isoformat()},
        backtest_scores={},
        status="active",
        trained_at=datetime(2026, 7, 1, tzinfo=UTC),
    )


def _artefact(product_id: str, history_end: date) -> ForecastArtefact:
    days = pd.date_range(history_end - timedelta(days=27), history_end, freq="D")
    history = pd.DataFrame({"ds": days, "y": np.tile([0.0, 1, 2, 3, 0, 1, 2], 4)})
    return ForecastArtefact(
        key=SeriesKey(SHOP.shop_id, Target.UNITS, product_id),
        time_zone=SHOP.time_zone,
        market=SHOP.market,
        trained=TrainedSeries(model=SeasonalNaive.fit(history)),
    )


class _Store:
    def __init__(self) -> None:
        self.reads: list[str] = []
        self.counted_to = LAST

    async def history_bounds(self, shop: Shop, source: str | None = None) -> tuple[date, date]:
        self.reads.append("bounds")
        return LAST - timedelta(days=400), self.counted_to

    async def product_first_days(self, shop_id: str, product_ids: list[str]) -> dict[str, date]:
        self.reads.append("first days")
        return {p: LAST - timedelta(days=2 if p == NEW else 300) for p in product_ids}

    async def product_units_since(
        self, shop_id: str, product_ids: list[str], since: date
    ) -> dict[str, dict[date, float]]:
        self.reads.append("units")
        return {p: {LAST - timedelta(days=i): 1.0 for i in range(0, 300, 3)} for p in product_ids}

    async def campaigns(self, shop_id: str) -> list[Any]:
        self.reads.append("campaigns")
        return []


class _Registry:
    """The MODELLED products' models, trained on the history up to `history_end`."""

    def __init__(self, history_end: date = LAST) -> None:
        self.history_end = history_end
        self.loads = 0

    async def active_versions(self, prefix: str) -> dict[str, ModelVersion]:
        assert prefix == "forecast/s1/units/"
        versions = (_version(product, self.history_end) for product in MODELLED)
        return {v.model_name: v for v in versions}

    async def load(self, version: ModelVersion) -> ForecastArtefact:
        self.loads += 1
        await asyncio.sleep(0.02)  # reading and unpickling an artefact takes a while
        product_id = version.artefact_uri.removeprefix("memory://")
        return _artefact(product_id, self.history_end)


class _Cache:
    def __init__(self) -> None:
        self.entries: dict[str, forecast_pb2.ForecastResponse] = {}

    async def get(self, key: str) -> forecast_pb2.ForecastResponse | None:
        cached = self.entries.get(key)
        return None if cached is None else _copy(cached)

    async def put(self, key: str, response: forecast_pb2.ForecastResponse) -> None:
        self.entries[key] = _copy(response)


def _copy(response: forecast_pb2.ForecastResponse) -> forecast_pb2.ForecastResponse:
    copy = forecast_pb2.ForecastResponse()
    copy.CopyFrom(response)
    return copy


class _Trainer:
    """Records the series refitted; `release` lets a refit finish."""

    def __init__(self) -> None:
        self.refits: list[list[str]] = []
        self.release = asyncio.Event()

    async def series_tasks(self, shop: Shop, keys: list[SeriesKey]) -> list[SeriesKey]:
        self.refits.append([key.product_id for key in keys])
        return keys

    async def run(self, tasks: list[SeriesKey]) -> list[tuple[Any, None]]:
        await self.release.wait()
        return []


def _predictor(history_end: date = LAST) -> tuple[Predictor, _Store, _Registry, _Cache]:
    store, registry, cache = _Store(), _Registry(history_end), _Cache()
    predictor = Predictor(store, registry, cache, trainer=_Trainer())  # type: ignore[arg-type]
    return predictor, store, registry, cache


async def test_models_behind_the_data_are_refitted_once_in_the_background() -> None:
    predictor, store, *_ = _predictor(LAST - timedelta(days=10))
    trainer: _Trainer = predictor.trainer  # type: ignore[assignment]
    first = await predictor.demands(SHOP, [*MODELLED, UNMODELLED])
    assert all(isinstance(first[p], ProductDemand) for p in MODELLED)  # answered meanwhile
    await asyncio.sleep(0)
    # The modelled products only: the others have no model to refit.
    assert trainer.refits == [MODELLED]
    await predictor.demands(SHOP, MODELLED[:3])
    assert trainer.refits == [MODELLED]  # not again while it runs
    trainer.release.set()
    await asyncio.sleep(0.01)
    # The models are still behind (this registry never changes): a refit that registered nothing
    # is not tried again for the same counted day, only once another is counted.
    await predictor.demands(SHOP, MODELLED[:3])
    await asyncio.sleep(0)
    assert trainer.refits == [MODELLED]
    store.counted_to = LAST + timedelta(days=1)
    await predictor.demands(SHOP, MODELLED[:3])
    await asyncio.sleep(0)
    assert trainer.refits == [MODELLED, MODELLED[:3]]

    # Two days behind is what the nightly retrain leaves: no refit.
    predictor, *_ = _predictor(LAST - timedelta(days=2))
    await predictor.demands(SHOP, MODELLED)
    await asyncio.sleep(0)
    assert predictor.trainer.refits == []  # type: ignore[attr-defined]


async def test_a_catalogue_is_read_once_and_each_forecast_cached() -> None:
    predictor, store, registry, cache = _predictor()
    products = [*MODELLED, UNMODELLED, NEW]
    demands = await predictor.demands(SHOP, products)
    assert sorted(store.reads) == ["bounds", "campaigns", "first days", "units"]
    assert registry.loads == len(MODELLED) == len(cache.entries)
    modelled = demands["P0"]
    assert isinstance(modelled, ProductDemand)
    assert modelled.model_version == "v-P0"
    # Seasonal-naive repeats the last week, 9 units (its mean a hair above the median).
    assert modelled.forecast.mean[:7].sum() == pytest.approx(9, abs=0.05)
    assert len(modelled.forecast.recent) == 301  # from the day it appeared, 300 days back
    flat = demands[UNMODELLED]
    assert isinstance(flat, ProductDemand)
    assert flat.model_version == "baseline:last-28-days"
    assert isinstance(demands[NEW], FailedPrecondition)
    # Asked again, the forecasts come from the cache: no artefact is loaded.
    again = await predictor.demands(SHOP, products)
    assert registry.loads == len(MODELLED)
    again_modelled = again["P0"]
    assert isinstance(again_modelled, ProductDemand)
    assert np.array_equal(again_modelled.forecast.mean, modelled.forecast.mean)


async def test_the_forecasts_are_made_after_the_caller_gives_up() -> None:
    predictor, _store, registry, cache = _predictor()
    caller = asyncio.create_task(predictor.demands(SHOP, MODELLED))
    await asyncio.sleep(0.05)
    caller.cancel()
    await asyncio.sleep(0.3)
    assert registry.loads == len(MODELLED) == len(cache.entries)
    assert predictor._demands.running == []


async def test_concurrent_callers_share_one_read() -> None:
    predictor, store, registry, _cache = _predictor()
    first, second = await asyncio.gather(
        predictor.demands(SHOP, MODELLED), predictor.demands(SHOP, MODELLED)
    )
    assert first is second
    assert registry.loads == len(MODELLED)
    assert store.reads.count("campaigns") == 1


async def test_the_advice_of_a_model_trained_days_ago_starts_after_the_last_data() -> None:
    fresh = (await _predictor()[0].demands(SHOP, ["P0"]))["P0"]
    stale = (await _predictor(LAST - timedelta(days=10))[0].demands(SHOP, ["P0"]))["P0"]
    assert isinstance(fresh, ProductDemand)
    assert isinstance(stale, ProductDemand)
    # The ten days the stale model forecast have data now: its advice starts after them, like
    # the fresh one's, and their demand is history.
    assert stale.forecast.history_end == fresh.forecast.history_end == LAST
    assert len(stale.forecast.mean) == len(fresh.forecast.mean) - 10
    assert np.array_equal(stale.forecast.recent, fresh.forecast.recent)


async def test_a_model_trained_months_before_the_data_gives_way_to_the_recent_demand() -> None:
    """A 90-day forecast made 100 days before the last data has no day left to advise from: the
    product is advised on its last 28 days, as one without a model, not with stock-outs in the
    past."""
    stale = (await _predictor(LAST - timedelta(days=100))[0].demands(SHOP, ["P0"]))["P0"]
    assert isinstance(stale, ProductDemand)
    assert stale.model_version == RECENT_DEMAND_VERSION
    assert stale.forecast.history_end == LAST
    # Still within reach: the model's own forecast, from the day after the data.
    behind = (await _predictor(LAST - timedelta(days=80))[0].demands(SHOP, ["P0"]))["P0"]
    assert isinstance(behind, ProductDemand)
    assert behind.model_version != RECENT_DEMAND_VERSION
    assert behind.forecast.history_end == LAST
