"""Answers from models: find the active version (training it on demand the first time), predict,
and cache forecasts in Redis by model version."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from google.protobuf.timestamp_pb2 import Timestamp

from shopee.forecast.v1 import forecast_pb2
from shopee_common.grpc_server import FailedPrecondition
from shopee_common.shared_tasks import SharedTasks
from shopee_forecast.adapters.cache import ForecastCache, cache_key
from shopee_forecast.adapters.store import ForecastStore, Shop
from shopee_forecast.domain.campaigns import CampaignRegressors
from shopee_forecast.domain.churn import ChurnModel
from shopee_forecast.domain.inventory import Z_95, DemandForecast
from shopee_forecast.domain.selection import MAX_HORIZON_DAYS, NotEnoughHistory
from shopee_forecast.domain.series import SeriesKey, Target
from shopee_forecast.observability import PREDICTION_SECONDS
from shopee_forecast.training import (
    ChurnTask,
    ForecastArtefact,
    SeriesTask,
    Trainer,
    churn_model_name,
)
from shopee_models.registry import ModelRegistry, ModelVersion

TARGET_PROTO = {
    Target.GMV: forecast_pb2.TARGET_GMV,
    Target.ORDERS: forecast_pb2.TARGET_ORDERS,
    Target.VISITORS: forecast_pb2.TARGET_VISITORS,
    Target.UNITS: forecast_pb2.TARGET_UNITS,
}
RECENT_DEMAND_DAYS = 28
RECENT_DEMAND_VERSION = f"baseline:last-{RECENT_DEMAND_DAYS}-days"


def timestamp(value: Any) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def backtest_proto(score: dict[str, Any]) -> forecast_pb2.BacktestScores:
    """A registry score as the API gives it; RMSSE only where it was scored (models registered
    before it was kept have none, and a flat history gives NaN)."""
    scores = forecast_pb2.BacktestScores(
        model=str(score["model"]),
        mape=float(score["mape"]),
        smape=float(score["smape"]),
        mase=float(score["mase"]),
        coverage_80=float(score["coverage_80"]),
        coverage_95=float(score["coverage_95"]),
        folds=int(score["folds"]),
        horizon_days=int(score["horizon_days"]),
    )
    rmsse = float(score.get("rmsse", math.nan))
    if math.isfinite(rmsse):
        scores.rmsse = rmsse
    return scores


class Predictor:
    def __init__(
        self, store: ForecastStore, registry: ModelRegistry, cache: ForecastCache, trainer: Trainer
    ) -> None:
        self.store = store
        self.registry = registry
        self.cache = cache
        self.trainer = trainer
        # One on-demand fit per model at a time; concurrent callers wait for the same one.
        self._fits = SharedTasks()

    async def _trained(
        self, name: str, train: Callable[[], Awaitable[SeriesTask | ChurnTask]]
    ) -> ModelVersion:
        version = await self.registry.active(name)
        if version is not None:
            return version
        return await self._fits.run(name, lambda: self._fit(name, train))

    async def _fit(
        self, name: str, train: Callable[[], Awaitable[SeriesTask | ChurnTask]]
    ) -> ModelVersion:
        task = await train()
        [(outcome, version)] = await self.trainer.run([task])
        if version is None:
            raise FailedPrecondition(f"{name}: {outcome.skipped}")
        return version

    def cancel_fits(self) -> None:
        """Cancel the on-demand fits in flight (at shutdown, once no call waits for them)."""
        self._fits.cancel_all()

    async def series_version(self, shop: Shop, key: SeriesKey) -> ModelVersion:
        """The series' active model version (registry metadata only), trained first if none."""

        async def train() -> SeriesTask | ChurnTask:
            [task] = await self.trainer.series_tasks(shop, [key])
            return task

        version = await self.registry.active(key.model_name)
        if version is None:
            if await self.store.history_bounds(shop) is None:
                raise FailedPrecondition(
                    f"shop {shop.shop_id!r} has no daily KPIs yet; forecasting needs history"
                )
            version = await self._trained(key.model_name, train)
        return version

    async def _predict(self, shop: Shop, artefact: ForecastArtefact, horizon: int) -> pd.DataFrame:
        trained = artefact.trained
        campaigns = await self.store.campaigns(shop.shop_id)
        regressors = CampaignRegressors(tuple(campaigns), shop.time_zone, artefact.key.product_id)
        first = trained.model.history_end + timedelta(days=1)
        days = pd.date_range(first, periods=horizon, freq="D")
        # Prophet's sampling is CPU work: keep it off the event loop.
        return await asyncio.to_thread(trained.predict, regressors(days, None))

    async def forecast(
        self, shop: Shop, key: SeriesKey, horizon: int
    ) -> forecast_pb2.ForecastResponse:
        started = time.perf_counter()
        version = await self.series_version(shop, key)
        cached_key = cache_key(version.model_name, version.version, horizon)
        cached = await self.cache.get(cached_key)
        if cached is not None:
            cached.from_cache = True
            PREDICTION_SECONDS.labels("Forecast", "hit").observe(time.perf_counter() - started)
            return cached
        # Only a miss needs the artefact: loading it may read and unpickle it from storage.
        artefact: ForecastArtefact = await self.registry.load(version)
        table = await self._predict(shop, artefact, horizon)
        response = forecast_pb2.ForecastResponse(
            shop_id=shop.shop_id,
            target=TARGET_PROTO[key.target],
            product_id=key.product_id,
            time_zone=shop.time_zone,
            model=artefact.trained.chosen,
            model_version=version.version,
            trained_at=timestamp(version.trained_at),
            points=[
                forecast_pb2.ForecastPoint(
                    date=day.date().isoformat(),
                    value=value,
                    lower_80=lower_80,
                    upper_80=upper_80,
                    lower_95=lower_95,
                    upper_95=upper_95,
                    expected=expected,
                )
                for day, value, lower_80, upper_80, lower_95, upper_95, expected in zip(
                    pd.to_datetime(table["ds"]),
                    table["value"].to_numpy(dtype=float).tolist(),
                    table["lower_80"].to_numpy(dtype=float).tolist(),
                    table["upper_80"].to_numpy(dtype=float).tolist(),
                    table["lower_95"].to_numpy(dtype=float).tolist(),
                    table["upper_95"].to_numpy(dtype=float).tolist(),
                    table["expected"].to_numpy(dtype=float).tolist(),
                    strict=True,
                )
            ],
            backtest=[backtest_proto(score.as_dict()) for score in artefact.trained.scores],
            history_end=artefact.trained.model.history_end.isoformat(),
            expected_total=float(table["expected"].sum()),
        )
        await self.cache.put(cached_key, response)
        PREDICTION_SECONDS.labels("Forecast", "miss").observe(time.perf_counter() - started)
        return response

    async def churn_model(self, shop: Shop, horizon: int) -> tuple[ModelVersion, ChurnModel]:
        async def train() -> SeriesTask | ChurnTask:
            return await self.trainer.churn_task(shop, horizon)

        version = await self._trained(churn_model_name(shop.shop_id, horizon), train)
        model: ChurnModel = await self.registry.load(version)
        return version, model

    async def demand(self, shop: Shop, product_id: str) -> tuple[DemandForecast, str]:
        """90 days of a product's demand: its trained units model if it has one, else the mean
        and spread of its last 28 days (a flat forecast, named as such in model_version);
        FAILED_PRECONDITION for a product without a model that appeared less than 28 days ago."""
        key = SeriesKey(shop.shop_id, Target.UNITS, product_id)
        version = await self.registry.active(key.model_name)
        if version is not None:
            artefact: ForecastArtefact = await self.registry.load(version)
            table = await self._predict(shop, artefact, MAX_HORIZON_DAYS)
            return (
                DemandForecast(
                    history_end=artefact.trained.model.history_end,
                    mean=table["expected"].to_numpy(dtype=np.float64),
                    lower_95=table["lower_95"].to_numpy(dtype=np.float64),
                    upper_95=table["upper_95"].to_numpy(dtype=np.float64),
                ),
                version.version,
            )
        return await self._recent_demand(shop, key), RECENT_DEMAND_VERSION

    async def _recent_demand(self, shop: Shop, key: SeriesKey) -> DemandForecast:
        bounds = await self.store.history_bounds(shop)
        appeared = await self.store.product_first_day(shop.shop_id, key.product_id)
        days = (bounds[1] - appeared).days + 1 if bounds and appeared else 0
        if bounds is None or days < RECENT_DEMAND_DAYS:
            # Days before the product appeared would read as zero demand.
            short = NotEnoughHistory(days, RECENT_DEMAND_DAYS)
            raise FailedPrecondition(f"{key.model_name}: {short}")
        last = bounds[1]
        first = last - timedelta(days=RECENT_DEMAND_DAYS - 1)
        values = dict(await self.store.daily_values(shop.shop_id, key.product_id, "units"))
        recent = np.array(
            [values.get(first + timedelta(days=i), 0.0) for i in range(RECENT_DEMAND_DAYS)]
        )
        mean, spread = float(recent.mean()), float(recent.std(ddof=1))
        return flat_demand(last, mean, spread)


def flat_demand(history_end: date, mean: float, sigma: float) -> DemandForecast:
    """A constant daily demand with a normal 95% interval."""
    means = np.full(MAX_HORIZON_DAYS, mean)
    return DemandForecast(
        history_end=history_end,
        mean=means,
        lower_95=np.clip(means - Z_95 * sigma, 0.0, None),
        upper_95=means + Z_95 * sigma,
    )
