"""Answers from models: find the active version (training it on demand the first time), predict,
and cache forecasts in Redis by model version."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import structlog
from google.protobuf.timestamp_pb2 import Timestamp

from shopee.forecast.v1 import forecast_pb2
from shopee_common.grpc_server import FailedPrecondition
from shopee_common.shared_tasks import SharedTasks
from shopee_forecast.adapters.cache import ForecastCache, cache_key
from shopee_forecast.adapters.store import ForecastStore, Shop
from shopee_forecast.domain.accuracy import FloatArray
from shopee_forecast.domain.campaigns import Campaign, CampaignRegressors
from shopee_forecast.domain.churn import ChurnModel
from shopee_forecast.domain.inventory import RECENT_DEMAND_WINDOW_DAYS, Z_95, DemandForecast
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
from shopee_models.registry import ModelRegistry, ModelVersion, behind_its_data

TARGET_PROTO = {
    Target.GMV: forecast_pb2.TARGET_GMV,
    Target.ORDERS: forecast_pb2.TARGET_ORDERS,
    Target.VISITORS: forecast_pb2.TARGET_VISITORS,
    Target.UNITS: forecast_pb2.TARGET_UNITS,
}
log = structlog.get_logger("forecast")
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
        # One read of a catalogue's demand at a time per product list, likewise.
        self._demands = SharedTasks()
        # Per refit behind the data (a series, or a shop's products): the last counted day it was
        # started for. A refit that fails or is skipped is tried again only once another day is
        # counted, not at every call.
        self._refits_tried: dict[str, date] = {}

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

    def cancel_shared_work(self) -> None:
        """Cancel the on-demand fits and demand reads in flight (at shutdown, once no call waits
        for them)."""
        self._fits.cancel_all()
        self._demands.cancel_all()

    async def series_version(self, shop: Shop, key: SeriesKey) -> ModelVersion:
        """The series' active model version (registry metadata only), trained first if none. A
        version behind its series' data (`behind_its_data`: trained while the stream job was
        still catching up, or the nightly retrain has failed since) still answers, while a fit
        on the data now counted runs in the background for the next call."""

        async def train() -> SeriesTask | ChurnTask:
            [task] = await self.trainer.series_tasks(shop, [key])
            return task

        version = await self.registry.active(key.model_name)
        if version is None:
            if await self.store.history_bounds(shop) is None:
                raise FailedPrecondition(
                    f"shop {shop.shop_id!r} has no daily KPIs yet; forecasting needs history"
                )
            return await self._trained(key.model_name, train)
        counted = await self.store.history_bounds(shop, key.target.source)
        trained_to = date.fromisoformat(version.metadata["history_end"])
        counted_to = trained_to if counted is None else counted[1]
        if behind_its_data(trained_to, counted_to) and self._refit_due(key.model_name, counted_to):
            log.info(
                "refitting a model behind its data",
                model=key.model_name,
                history_end=trained_to.isoformat(),
                counted_to=counted_to.isoformat(),
            )
            self._fits.start(key.model_name, lambda: self._fit(key.model_name, train))
        return version

    async def _predict(
        self,
        shop: Shop,
        artefact: ForecastArtefact,
        horizon: int,
        campaigns: Sequence[Campaign] | None = None,
    ) -> pd.DataFrame:
        """The model's forecast of `horizon` days after its history, with the shop's campaigns
        (read here unless given: a call that predicts many products reads them once)."""
        trained = artefact.trained
        if campaigns is None:
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
        response = await self._response(shop, key, version, horizon)
        outcome = "hit" if response.from_cache else "miss"
        PREDICTION_SECONDS.labels("Forecast", outcome).observe(time.perf_counter() - started)
        return response

    async def _response(
        self,
        shop: Shop,
        key: SeriesKey,
        version: ModelVersion,
        horizon: int,
        campaigns: Sequence[Campaign] | None = None,
    ) -> forecast_pb2.ForecastResponse:
        """A version's forecast of `horizon` days from the cache (`from_cache` set), or predicted
        and cached."""
        cached_key = cache_key(version.model_name, version.version, horizon)
        cached = await self.cache.get(cached_key)
        if cached is not None:
            cached.from_cache = True
            return cached
        # Only a miss needs the artefact: loading it may read and unpickle it from storage.
        artefact: ForecastArtefact = await self.registry.load(version)
        table = await self._predict(shop, artefact, horizon, campaigns)
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
        return response

    async def churn_model(self, shop: Shop, horizon: int) -> tuple[ModelVersion, ChurnModel]:
        async def train() -> SeriesTask | ChurnTask:
            return await self.trainer.churn_task(shop, horizon)

        version = await self._trained(churn_model_name(shop.shop_id, horizon), train)
        model: ChurnModel = await self.registry.load(version)
        return version, model

    async def demands(
        self, shop: Shop, product_ids: Sequence[str]
    ) -> dict[str, ProductDemand | FailedPrecondition]:
        """Each product's demand over the next 90 days: its trained units model's forecast (the
        one Forecast serves at 90 days, from the same cache), else the mean and spread of its
        last 28 days (a flat forecast, named as such in `model_version`); a FailedPrecondition
        for a product without a model that appeared less than 28 days ago. Either way with the
        product's recent daily demand, which the advice's spread uses.

        A whole catalogue is many predictions: the registry, the campaigns and the products'
        units are read once for all of them, and the work goes on in the background when the
        caller gives up (the gateway's deadline), so that the next call finds the forecasts
        cached."""
        digest = hashlib.sha256("\n".join(product_ids).encode()).hexdigest()[:16]
        return await self._demands.run(
            f"demand/{shop.shop_id}/{digest}", lambda: self._read_demands(shop, product_ids)
        )

    async def _read_demands(
        self, shop: Shop, product_ids: Sequence[str]
    ) -> dict[str, ProductDemand | FailedPrecondition]:
        prefix = SeriesKey(shop.shop_id, Target.UNITS, "").model_name + "/"
        active = await self.registry.active_versions(prefix)
        bounds = await self.store.history_bounds(shop, Target.UNITS.source)
        ends = [date.fromisoformat(v.metadata["history_end"]) for v in active.values()]
        if bounds is not None:
            ends.append(bounds[1])
        since = min(ends, default=date.max) - timedelta(days=RECENT_DEMAND_WINDOW_DAYS - 1)
        units = await self.store.product_units_since(shop.shop_id, product_ids, since)
        first_days = await self.store.product_first_days(shop.shop_id, product_ids)
        campaigns: list[Campaign] | None = None
        demands: dict[str, ProductDemand | FailedPrecondition] = {}
        behind: list[SeriesKey] = []
        for product_id in product_ids:
            key = SeriesKey(shop.shop_id, Target.UNITS, product_id)
            sold = units.get(product_id, {})
            appeared = first_days.get(product_id)
            version = active.get(key.model_name)
            if version is None:
                demands[product_id] = recent_demand(key, bounds, sold, appeared)
                continue
            if bounds is not None and behind_its_data(
                date.fromisoformat(version.metadata["history_end"]), bounds[1]
            ):
                behind.append(key)
            if campaigns is None:
                campaigns = await self.store.campaigns(shop.shop_id)
            response = await self._response(shop, key, version, MAX_HORIZON_DAYS, campaigns)
            forecast = DemandForecast(
                history_end=date.fromisoformat(response.history_end),
                mean=np.array([point.expected for point in response.points]),
                lower_95=np.array([point.lower_95 for point in response.points]),
                upper_95=np.array([point.upper_95 for point in response.points]),
            )
            # Advice starts after the last complete day of the shop's data: a model whose
            # retrain has not run for days (a failed job) forecast days whose sales are known.
            # One too far behind to forecast those days (trained during a long catch-up) gives
            # way to the recent demand, as a product without a model, until it is retrained.
            first = bounds[1] + timedelta(days=1) if bounds else forecast.history_end
            if not forecast.reaches(first):
                demands[product_id] = recent_demand(key, bounds, sold, appeared)
                continue
            passed = forecast.days_from(first)
            known_until = forecast.history_end + timedelta(days=passed)
            forecast = forecast.skip(passed, recent_units(sold, appeared, known_until))
            demands[product_id] = ProductDemand(forecast, version.version)
        if behind and bounds is not None:
            self._refit_in_background(shop, behind, bounds[1])
        return demands

    def _refit_due(self, name: str, counted_to: date) -> bool:
        """Whether to start the refit `name` now: none runs, and none was started for the same
        counted day (and is remembered as started if so)."""
        if name in self._fits.running or self._refits_tried.get(name) == counted_to:
            return False
        self._refits_tried[name] = counted_to
        return True

    def _refit_in_background(self, shop: Shop, keys: list[SeriesKey], counted_to: date) -> None:
        """Refit product models behind their data, as `series_version` does one series: the
        advice answers meanwhile (from what the models forecast past the data, or the recent
        demand), and the next call's comes from the refitted models. One such refit per shop at
        a time."""
        name = f"{SeriesKey(shop.shop_id, Target.UNITS, '').model_name}/behind"
        if not self._refit_due(name, counted_to):
            return
        log.info(
            "refitting product models behind their data", shop_id=shop.shop_id, products=len(keys)
        )
        self._fits.start(name, lambda: self._refit(shop, keys))

    async def _refit(self, shop: Shop, keys: list[SeriesKey]) -> None:
        try:
            outcomes = await self.trainer.run(await self.trainer.series_tasks(shop, keys))
        except Exception:
            log.exception("refitting product models failed", shop_id=shop.shop_id)
            raise
        skipped = [outcome.skipped for outcome, version in outcomes if version is None]
        if skipped:
            log.info("product models not refitted", shop_id=shop.shop_id, reasons=skipped[:5])


@dataclass(frozen=True)
class ProductDemand:
    forecast: DemandForecast
    model_version: str


def recent_units(sold: Mapping[date, float], appeared: date | None, end: date) -> FloatArray:
    """A product's daily units over the RECENT_DEMAND_WINDOW_DAYS up to `end`, from the day it
    appeared (the days before it was listed are not days without sales)."""
    if appeared is None or appeared > end:
        return np.zeros(0)
    first = max(appeared, end - timedelta(days=RECENT_DEMAND_WINDOW_DAYS - 1))
    days = (end - first).days + 1
    return np.array([sold.get(first + timedelta(days=i), 0.0) for i in range(days)])


def recent_demand(
    key: SeriesKey,
    bounds: tuple[date, date] | None,
    sold: Mapping[date, float],
    appeared: date | None,
) -> ProductDemand | FailedPrecondition:
    """A product without a model: the mean and spread of its last 28 days, flat; or why not."""
    recent = recent_units(sold, appeared, bounds[1]) if bounds else np.zeros(0)
    if bounds is None or len(recent) < RECENT_DEMAND_DAYS:
        short = NotEnoughHistory(len(recent), RECENT_DEMAND_DAYS)
        return FailedPrecondition(f"{key.model_name}: {short}")
    last_days = recent[-RECENT_DEMAND_DAYS:]
    mean, spread = float(last_days.mean()), float(last_days.std(ddof=1))
    return ProductDemand(flat_demand(bounds[1], mean, spread, recent), RECENT_DEMAND_VERSION)


def flat_demand(history_end: date, mean: float, sigma: float, recent: FloatArray) -> DemandForecast:
    """A constant daily demand with a normal 95% interval, and the recent demand it came from."""
    means = np.full(MAX_HORIZON_DAYS, mean)
    return DemandForecast(
        history_end=history_end,
        mean=means,
        lower_95=np.clip(means - Z_95 * sigma, 0.0, None),
        upper_95=means + Z_95 * sigma,
        recent=recent,
    )
