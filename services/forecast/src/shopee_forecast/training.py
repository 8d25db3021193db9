"""Training: load a shop's series, backtest and fit them in worker processes, register the
chosen models. Used by the Retrain rpc, the schedule, on-demand fits and the CLI."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import structlog
from joblib.externals.loky import ProcessPoolExecutor, get_reusable_executor

from shopee_forecast.adapters.store import ForecastStore, Shop
from shopee_forecast.domain.campaigns import REGRESSORS, Campaign, CampaignRegressors
from shopee_forecast.domain.churn import (
    ChurnModel,
    NotEnoughOrders,
    needed_history_days,
    train_churn,
)
from shopee_forecast.domain.models import SeriesContext
from shopee_forecast.domain.selection import (
    NotEnoughHistory,
    SeriesHistory,
    TrainedSeries,
    train_series,
)
from shopee_forecast.domain.series import SHOP_TARGETS, SeriesKey, Target, daily_frame
from shopee_forecast.observability import SKIPPED_SERIES, TRAINED_SERIES, TRAINING_SECONDS
from shopee_forecast.settings import ForecastSettings
from shopee_models.registry import ModelRegistry, ModelVersion

log = structlog.get_logger("forecast")
DEFAULT_CHURN_HORIZON = 30
SALES_KIND = "sales_forecast"
KIND_BY_TARGET = {
    Target.GMV: SALES_KIND,
    Target.ORDERS: SALES_KIND,
    Target.VISITORS: "traffic_forecast",
    Target.UNITS: "demand_forecast",
}
CHURN_KIND = "churn"


def churn_model_name(shop_id: str, horizon_days: int) -> str:
    """ "forecast/<shop>/churn" for the default 30 days, "forecast/<shop>/churn-60d" otherwise."""
    suffix = "" if horizon_days == DEFAULT_CHURN_HORIZON else f"-{horizon_days}d"
    return f"forecast/{shop_id}/churn{suffix}"


@dataclass
class ForecastArtefact:
    """What the registry stores for a series: the fitted model and where it came from."""

    key: SeriesKey
    time_zone: str
    market: str
    trained: TrainedSeries


@dataclass(frozen=True)
class TrainingOptions:
    horizon_days: int = 30
    folds: int = 3
    # Seconds a series' backtest and fit may take (0: no limit; see `time_limit`).
    fit_seconds_limit: float = 0.0

    @classmethod
    def of(cls, settings: ForecastSettings) -> TrainingOptions:
        return cls(
            settings.forecast_backtest_horizon_days,
            settings.forecast_backtest_folds,
            settings.forecast_fit_seconds_limit,
        )


class FitTooLong(Exception):
    """A fit ran past its time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise FitTooLong in the block once `seconds` have passed, by SIGALRM: in a worker process
    of the pool, whose main thread runs the fits. Elsewhere (a thread; `seconds` 0) no limit, as
    signals reach only the main thread. A Stan fit running as a subprocess of the fit is left to
    end on its own (its iterations are capped)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise FitTooLong(f"the fit took longer than {seconds:g} s and was given up")

    previous = signal.signal(signal.SIGALRM, expire)
    # A timer already set (pytest-timeout's, say) is set again after the block, less the time
    # the block took.
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay > 0:
            left = max(outer_delay - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, outer_interval)


@dataclass(frozen=True)
class SeriesTask:
    key: SeriesKey
    history: SeriesHistory
    options: TrainingOptions


@dataclass(frozen=True)
class ChurnTask:
    shop_id: str
    orders: pd.DataFrame
    visits: pd.DataFrame
    last_day: Any
    horizon_days: int
    # Seconds its fit may take, as a series' (0: no limit; see `time_limit`).
    fit_seconds_limit: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """A worker's answer: the fitted thing, or why the series was skipped; and its fit time."""

    name: str
    kind: str
    result: ForecastArtefact | ChurnModel | None
    skipped: str
    seconds: float


def run_series_task(task: SeriesTask) -> Outcome:
    """Backtest and fit one series (runs in a worker process)."""
    started = time.perf_counter()
    kind = KIND_BY_TARGET[task.key.target]
    try:
        with time_limit(task.options.fit_seconds_limit):
            trained = train_series(task.history, task.options.horizon_days, task.options.folds)
    except (NotEnoughHistory, FitTooLong) as exc:
        return Outcome(task.key.model_name, kind, None, str(exc), time.perf_counter() - started)
    artefact = ForecastArtefact(
        task.key, task.history.time_zone, task.history.context.market, trained
    )
    return Outcome(task.key.model_name, kind, artefact, "", time.perf_counter() - started)


def run_churn_task(task: ChurnTask) -> Outcome:
    """Train and check one shop's churn model (runs in a worker process)."""
    started = time.perf_counter()
    name = churn_model_name(task.shop_id, task.horizon_days)
    try:
        with time_limit(task.fit_seconds_limit):
            model = train_churn(task.orders, task.visits, task.last_day, task.horizon_days)
    except (NotEnoughOrders, FitTooLong) as exc:
        return Outcome(name, CHURN_KIND, None, str(exc), time.perf_counter() - started)
    return Outcome(name, CHURN_KIND, model, "", time.perf_counter() - started)


def make_executor(workers: int) -> ProcessPoolExecutor:
    """A reusable process pool (loky: survives a crashed worker, starts processes lazily)."""
    executor: ProcessPoolExecutor = get_reusable_executor(
        max_workers=workers if workers > 0 else None, timeout=300
    )
    return executor


def series_history(
    key: SeriesKey,
    shop: Shop,
    values: list[tuple[Any, float]],
    bounds: tuple[date, date],
    campaigns: Sequence[Campaign],
) -> SeriesHistory:
    """The series over `bounds`, its first day to the last day its source is counted to
    (missing days are 0)."""
    frame = daily_frame(values, bounds[0], bounds[1])
    return SeriesHistory(
        frame=frame,
        context=SeriesContext(shop.market, REGRESSORS),
        time_zone=shop.time_zone,
        regressors_at=CampaignRegressors(tuple(campaigns), shop.time_zone, key.product_id),
    )


class Trainer:
    """Trains series and churn models in a process pool and registers them."""

    def __init__(
        self,
        store: ForecastStore,
        registry: ModelRegistry,
        executor: ProcessPoolExecutor,
        options: TrainingOptions,
    ) -> None:
        self.store = store
        self.registry = registry
        self.executor = executor
        self.options = options

    def stop_workers(self) -> None:
        """Shut the pool down without waiting for the fits in flight: loky kills the worker
        processes and fails the queued fits."""
        self.executor.shutdown(wait=False, kill_workers=True)

    async def series_tasks(self, shop: Shop, keys: Sequence[SeriesKey]) -> list[SeriesTask]:
        """Each series' history, from its start to the last day its source is counted to (a
        series whose source has nothing counted has no history, and says how much it needs)."""
        bounds = await self.store.history_bounds(shop)
        if bounds is None:
            return []
        counted = {
            source: await self.store.history_bounds(shop, source)
            for source in {key.target.source for key in keys}
        }
        campaigns = await self.store.campaigns(shop.shop_id)
        tasks = []
        for key in keys:
            first = await self.series_start(shop, key, bounds)
            source_bounds = counted[key.target.source]
            last = first - timedelta(days=1) if source_bounds is None else source_bounds[1]
            values = await self.store.daily_values(shop.shop_id, key.product_id, key.target.value)
            history = series_history(key, shop, values, (first, last), campaigns)
            tasks.append(SeriesTask(key, history, self.options))
        return tasks

    async def series_start(self, shop: Shop, key: SeriesKey, bounds: tuple[date, date]) -> date:
        """A shop series starts on the shop's first day; a product's on the day it first appeared,
        since the days before it was listed are not days without sales (a product not seen yet
        starts after the last day: no history)."""
        if not key.product_id:
            return bounds[0]
        appeared = await self.store.product_first_day(shop.shop_id, key.product_id)
        return bounds[1] + timedelta(days=1) if appeared is None else appeared

    async def shop_keys(self, shop: Shop, targets: Sequence[Target]) -> list[SeriesKey]:
        keys = [SeriesKey(shop.shop_id, t) for t in SHOP_TARGETS if t in targets]
        if Target.UNITS in targets:
            products = await self.store.sold_products(shop.shop_id)
            keys += [SeriesKey(shop.shop_id, Target.UNITS, p) for p in products]
        return keys

    async def churn_horizons(self, shop: Shop) -> list[int]:
        """The default churn horizon and every other one the shop has an active model for."""
        versions = await self.registry.versions(prefix=f"forecast/{shop.shop_id}/churn")
        active = {int(v.metadata["horizon_days"]) for v in versions if v.status == "active"}
        return sorted(active | {DEFAULT_CHURN_HORIZON})

    async def churn_task(self, shop: Shop, horizon_days: int) -> ChurnTask:
        """The shop's buyers as of the last day both their orders and, if the shop has traffic,
        their visits are counted to."""
        last_day = shop.today() - timedelta(days=1)
        for source in (Target.GMV.source, Target.VISITORS.source):
            bounds = await self.store.history_bounds(shop, source)
            if bounds is not None:
                last_day = min(last_day, bounds[1])
        orders = await self.store.orders(shop.shop_id)
        orders = orders[orders["date"] <= last_day]
        since = datetime.combine(
            last_day - timedelta(days=needed_history_days(horizon_days) + 31), datetime.min.time()
        ).replace(tzinfo=UTC)
        visits = await self.store.visits(
            shop.shop_id, since, sorted(set(orders["buyer_id"].tolist()))
        )
        return ChurnTask(
            shop.shop_id, orders, visits, last_day, horizon_days, self.options.fit_seconds_limit
        )

    async def run(
        self,
        tasks: Sequence[SeriesTask | ChurnTask],
        on_done: Callable[[Outcome, ModelVersion | None], Awaitable[None]] | None = None,
    ) -> list[tuple[Outcome, ModelVersion | None]]:
        """Run the tasks in the pool, register each result as it arrives."""
        loop = asyncio.get_running_loop()
        futures = [
            loop.run_in_executor(
                self.executor,
                run_churn_task if isinstance(task, ChurnTask) else run_series_task,  # type: ignore[arg-type]
                task,
            )
            for task in tasks
        ]
        results = []
        try:
            for future in asyncio.as_completed(futures):
                outcome = await future
                version = await self.register(outcome)
                results.append((outcome, version))
                if on_done is not None:
                    await on_done(outcome, version)
        finally:
            # Cancelled or failed: the fits not started are dropped, and the ones a shutdown of
            # the pool fails are not reported as exceptions nobody retrieved.
            for future in futures:
                future.cancel()
        return results

    async def register(self, outcome: Outcome) -> ModelVersion | None:
        TRAINING_SECONDS.labels(outcome.kind).observe(outcome.seconds)
        if outcome.result is None:
            SKIPPED_SERIES.labels(outcome.kind).inc()
            log.info("series skipped", model_name=outcome.name, reason=outcome.skipped)
            return None
        if isinstance(outcome.result, ChurnModel):
            return await self._register_churn(outcome.name, outcome.result, outcome.seconds)
        artefact = outcome.result
        trained = artefact.trained
        TRAINED_SERIES.labels(outcome.kind, trained.chosen).inc()
        return await self.registry.register(
            outcome.name,
            kind=outcome.kind,
            model=artefact,
            metadata={
                "model": trained.chosen,
                "series": artefact.key.label,
                "history_end": trained.model.history_end.isoformat(),
                "time_zone": artefact.time_zone,
                "market": artefact.market,
                "training_seconds": round(outcome.seconds, 3),
            },
            backtest_scores={"models": [score.as_dict() for score in trained.scores]},
        )

    async def _register_churn(self, name: str, model: ChurnModel, seconds: float) -> ModelVersion:
        TRAINED_SERIES.labels(CHURN_KIND, "hist_gradient_boosting").inc()
        holdout = model.holdout
        return await self.registry.register(
            name,
            kind=CHURN_KIND,
            model=model,
            metadata={
                "model": "hist_gradient_boosting",
                "series": name.removeprefix(f"forecast/{name.split('/')[1]}/").replace("-", ":"),
                "horizon_days": model.horizon_days,
                "scored_at": model.scored_at.isoformat(),
                "buyers_scored": len(model.scores),
                "training_seconds": round(seconds, 3),
            },
            backtest_scores={
                "roc_auc": holdout.roc_auc,
                "brier": holdout.brier,
                "baseline_roc_auc": holdout.baseline_roc_auc,
                "baseline_brier": holdout.baseline_brier,
                "holdout_buyers": holdout.buyers,
                "holdout_churn_rate": holdout.churn_rate,
            },
        )
