"""Model choice by rolling-origin backtest (Tashman 2000; Hyndman & Athanasopoulos 5.10).

Each model is fitted on the history up to an origin and forecasts the next `horizon_days`
with the campaigns known at that origin; origins step back `horizon_days` at a time. The model
with the lowest MASE over all folds is refitted on the whole history and kept, with its
intervals calibrated on the folds (domain/intervals.py).

Intermittent series (demand on few days: most of a catalogue's products) are told apart by the
Syntetos-Boylan rule and scored differently. MASE scores the median, and on a series that sells
on fewer than half of its days the median is 0: the model that forecasts nothing wins, and the
inventory advice orders nothing. For them TSB joins the candidates, and the choice is by RMSSE of
the `expected` (mean) forecast, which rewards the right mean, as the M5 competition did for the
same reason (Makridakis, Spiliotis & Assimakopoulos 2022).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from shopee_forecast.domain import accuracy
from shopee_forecast.domain.accuracy import FloatArray, Scores
from shopee_forecast.domain.intervals import (
    IntervalScale,
    ModelIntervals,
    cross_fitted,
    fit_scale,
)
from shopee_forecast.domain.models import (
    DISTRIBUTION_MODELS,
    ETS,
    MODEL_NAMES,
    PROPHET,
    SEASONAL_NAIVE,
    TSB,
    FittedModel,
    SeriesContext,
    fit_model,
)

MIN_TRAIN_DAYS = 56  # eight weeks: enough to see the weekly cycle and a paydays block
MIN_TEST_DAYS = 7
MIN_HISTORY_DAYS = MIN_TRAIN_DAYS + MIN_TEST_DAYS
MAX_HORIZON_DAYS = 90
REGULAR_MODELS = (PROPHET, ETS, SEASONAL_NAIVE)
INTERMITTENT_MODELS = MODEL_NAMES
# Syntetos & Boylan (2005): demand is intermittent when the average interval between demand days
# (ADI) exceeds 1.32 days, i.e. fewer than 76% of days see demand; counted over the last half
# year, long enough to see a dozen demands of a product that sells every other week, recent
# enough to follow one that has slowed down.
ADI_CUTOFF = 1.32
INTERMITTENCY_WINDOW_DAYS = 182

# Regressor columns for days (shop-local), as known at the end of a given shop-local day.
RegressorsAt = Callable[[pd.DatetimeIndex, datetime | None], pd.DataFrame]


class NotEnoughHistory(ValueError):
    """The series is too short to backtest and fit a model."""

    def __init__(self, available: int, needed: int = MIN_HISTORY_DAYS) -> None:
        super().__init__(f"needs at least {needed} days of history, has {available}")
        self.available = available
        self.needed = needed


def average_demand_interval(values: FloatArray) -> float:
    """Days per demand day over the last INTERMITTENCY_WINDOW_DAYS (inf if none had demand)."""
    recent = values[-INTERMITTENCY_WINDOW_DAYS:]
    demand_days = int(np.count_nonzero(recent > 0))
    return len(recent) / demand_days if demand_days else math.inf


def is_intermittent(values: FloatArray) -> bool:
    """Whether a daily series has intermittent demand (Syntetos-Boylan: ADI > 1.32)."""
    return average_demand_interval(values) > ADI_CUTOFF


@dataclass(frozen=True)
class BacktestPlan:
    horizon_days: int
    folds: int

    def origins(self, length: int) -> list[int]:
        """Index of the first forecast day of each fold, newest first."""
        return [length - self.horizon_days * (fold + 1) for fold in range(self.folds)]


def plan_backtest(length: int, horizon_days: int = 30, folds: int = 3) -> BacktestPlan:
    """The largest backtest up to (`horizon_days`, `folds`) that a `length`-day history allows."""
    if length < MIN_HISTORY_DAYS:
        raise NotEnoughHistory(length)
    horizon = min(horizon_days, length - MIN_TRAIN_DAYS)
    return BacktestPlan(horizon, max(1, min(folds, (length - MIN_TRAIN_DAYS) // horizon)))


@dataclass(frozen=True)
class SeriesHistory:
    """A daily series (`ds`, `y`, contiguous shop-local days) with what models need beside it."""

    frame: pd.DataFrame
    context: SeriesContext
    time_zone: str
    regressors_at: RegressorsAt

    def end_of_day(self, day: date) -> datetime:
        """The instant a shop-local day ends: what was announced by then was known that day."""
        return datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo(self.time_zone))

    def with_regressors(self, days: pd.DatetimeIndex, known_at: datetime | None) -> pd.DataFrame:
        return self.regressors_at(days, known_at)

    def future_days(self, last: date, horizon_days: int) -> pd.DatetimeIndex:
        return pd.date_range(last + timedelta(days=1), periods=horizon_days, freq="D")


@dataclass
class TrainedSeries:
    """The chosen model refitted on the whole history, and the backtest that chose it."""

    model: FittedModel
    scores: list[Scores] = field(default_factory=list)  # chosen model first
    interval_scale: IntervalScale = field(default_factory=IntervalScale)

    @property
    def chosen(self) -> str:
        return self.model.name

    def predict(self, future: pd.DataFrame) -> pd.DataFrame:
        """The model's forecast with the intervals calibrated by the backtest."""
        return self.interval_scale.apply(self.model.predict(future))


def _training_frame(history: SeriesHistory, end: int) -> pd.DataFrame:
    train = history.frame.iloc[:end].reset_index(drop=True)
    regressors = history.with_regressors(pd.DatetimeIndex(train["ds"]), None)
    return pd.concat([train, regressors.drop(columns="ds")], axis=1)


def forecast_after(
    history: SeriesHistory, model: FittedModel, horizon_days: int, known_at: datetime | None
) -> pd.DataFrame:
    """The model's forecast of the `horizon_days` after its history, with the campaigns known
    at `known_at` (all announced campaigns if None)."""
    days = history.future_days(model.history_end, horizon_days)
    return model.predict(history.with_regressors(days, known_at))


def interval_scale(name: str, folds: list[pd.DataFrame]) -> IntervalScale:
    """Model `name`'s interval calibration from its backtest folds (none for a model that
    forecasts a distribution: domain/intervals.py)."""
    return ModelIntervals() if name in DISTRIBUTION_MODELS else fit_scale(folds)


def served_folds(name: str, folds: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Model `name`'s backtest folds as the service would have answered them: intervals
    cross-fitted (each fold calibrated on the others) and `expected`."""
    if name in DISTRIBUTION_MODELS:
        return [ModelIntervals().apply(fold) for fold in folds]
    return cross_fitted(folds)


@dataclass(frozen=True)
class Backtest:
    """Each model's scores (in the order asked), its interval calibration, and its forecasts of
    each fold (value, intervals and `actual`; intervals as the model made them), and whether the
    series is intermittent (which decides how the scores choose)."""

    scores: list[Scores]
    scales: dict[str, IntervalScale]
    folds: dict[str, list[pd.DataFrame]]
    intermittent: bool = False

    @property
    def chosen(self) -> str:
        return choose(self.scores, self.intermittent)


def backtest(
    history: SeriesHistory, plan: BacktestPlan, models: Sequence[str] | None = None
) -> Backtest:
    """Rolling-origin scores of each model on the series, with calibrated intervals; `models`
    by default the candidates for the series' kind (REGULAR_ or INTERMITTENT_MODELS)."""
    values = history.frame["y"].to_numpy(dtype=np.float64)
    intermittent = is_intermittent(values)
    if models is None:
        models = INTERMITTENT_MODELS if intermittent else REGULAR_MODELS
    folds: dict[str, list[pd.DataFrame]] = {name: [] for name in models}
    scales: list[float] = []
    squared_scales: list[float] = []
    for origin in plan.origins(len(values)):
        train = _training_frame(history, origin)
        actual = values[origin : origin + plan.horizon_days]
        scales.extend([accuracy.naive_scale(values[:origin])] * plan.horizon_days)
        squared_scales.append(accuracy.naive_squared_scale(values[:origin]))
        known_at = history.end_of_day(train["ds"].iloc[-1].date())
        for name in models:
            fitted = fit_model(name, train, history.context, plan.horizon_days)
            predicted = forecast_after(history, fitted, plan.horizon_days, known_at)
            folds[name].append(predicted.assign(actual=actual))
    scale, squared_scale = _mean_or_nan(scales), _mean_or_nan(squared_scales)
    return Backtest(
        scores=[
            _scores(name, pd.concat(served_folds(name, folds[name])), scale, squared_scale, plan)
            for name in models
        ],
        scales={name: interval_scale(name, folds[name]) for name in models},
        folds=folds,
        intermittent=intermittent,
    )


def _mean_or_nan(values: list[float]) -> float:
    """The mean of the values that are not NaN (NaN when none is)."""
    return float(np.nanmean(values)) if not np.all(np.isnan(values)) else math.nan


def _scores(
    name: str, table: pd.DataFrame, scale: float, squared_scale: float, plan: BacktestPlan
) -> Scores:
    actual = table["actual"].to_numpy(dtype=np.float64)
    predicted = table["value"].to_numpy(dtype=np.float64)
    expected = table["expected"].to_numpy(dtype=np.float64)
    return Scores(
        model=name,
        mape=accuracy.mape(actual, predicted),
        smape=accuracy.smape(actual, predicted),
        mase=accuracy.mase(actual, predicted, scale) if scale == scale else float("nan"),
        coverage_80=accuracy.coverage(
            actual, table["lower_80"].to_numpy(), table["upper_80"].to_numpy()
        ),
        coverage_95=accuracy.coverage(
            actual, table["lower_95"].to_numpy(), table["upper_95"].to_numpy()
        ),
        folds=plan.folds,
        horizon_days=plan.horizon_days,
        rmsse=(
            accuracy.rmsse(actual, expected, squared_scale)
            if math.isfinite(squared_scale)
            else math.nan
        ),
    )


def choose(scores: Sequence[Scores], intermittent: bool = False) -> str:
    """The model with the lowest MASE (sMAPE when MASE is undefined, e.g. a flat history);
    on a tie the simplest model, seasonal-naive, wins. For an intermittent series, the lowest
    RMSSE of the mean (then as above), and on a tie TSB, the model made for such series;
    seasonal-naive is only scored there, for reference: repeating a week of sparse demand either
    forecasts none at all or repeats a one-off sale every week, and over a backtest of a few
    months without a sale the first scores best."""

    def finite(value: float) -> float:
        return value if math.isfinite(value) else math.inf

    def key(score: Scores) -> tuple[float, float, int]:
        return (finite(score.mase), score.smape, 0 if score.model == SEASONAL_NAIVE else 1)

    def intermittent_key(score: Scores) -> tuple[float, int, tuple[float, float, int]]:
        return (finite(score.rmsse), 0 if score.model == TSB else 1, key(score))

    if intermittent:
        candidates = [score for score in scores if score.model != SEASONAL_NAIVE] or scores
        return min(candidates, key=intermittent_key).model
    return min(scores, key=key).model


def train_series(
    history: SeriesHistory,
    horizon_days: int = 30,
    folds: int = 3,
    models: Sequence[str] | None = None,
) -> TrainedSeries:
    """Backtest `models` (by default the candidates for the series' kind) on the series, choose
    one, refit it on the whole history."""
    plan = plan_backtest(len(history.frame), horizon_days, folds)
    result = backtest(history, plan, models)
    chosen = result.chosen
    full = _training_frame(history, len(history.frame))
    model = fit_model(chosen, full, history.context, MAX_HORIZON_DAYS)
    ordered = sorted(result.scores, key=lambda score: score.model != chosen)
    return TrainedSeries(model=model, scores=ordered, interval_scale=result.scales[chosen])
