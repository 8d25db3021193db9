"""The forecasters: Prophet with the marketplace calendar and campaign regressors, two
baselines kept beside it, ETS (statsmodels) and the seasonal-naive forecast, and TSB for
intermittent demand (a product that sells on few days).

Every model takes a daily history (`ds`, `y` and the regressor columns) and forecasts the days
after it with the median and the 80% and 95% prediction intervals. Prophet and ETS work on
log(1 + y): shop series grow and spike multiplicatively (a sale doubles a day, it does not add a
constant), and intervals on that scale stay positive.
"""

from __future__ import annotations

import logging
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopee_forecast.domain.accuracy import SEASON, FloatArray
from shopee_forecast.domain.calendar import holiday_frame

# Prophet's plotting module logs an ERROR at import when plotly is missing; nothing here plots,
# and an error in every replica's log at start would read as a fault.
logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)

PROPHET = "prophet"
ETS = "ets"
SEASONAL_NAIVE = "seasonal_naive"
TSB = "tsb"
MODEL_NAMES = (PROPHET, ETS, SEASONAL_NAIVE, TSB)
# Models whose quantiles and mean are those of a fitted predictive distribution: their intervals
# are served as they are, without conformal rescaling (domain/intervals.py, ModelIntervals).
DISTRIBUTION_MODELS = frozenset({TSB})
# Quantiles of the intervals: 95% and 80% central intervals around the median.
QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)
FORECAST_COLUMNS = ("ds", "value", "lower_80", "upper_80", "lower_95", "upper_95")
PROPHET_SAMPLES = 400
# Trend changes may happen up to 5% before the end (Prophet: 20%): shops grow unevenly, and a
# 30-day forecast must follow the recent slope, not the one of months ago.
CHANGEPOINT_RANGE = 0.95
# TSB's smoothing constants, chosen per series by in-sample squared error: of the probability of
# a demand day (updated every day, so small values: at 0.005 a day half a year back still weighs
# 40% of the last one), and of the size of a demand (updated on demand days only).
TSB_PROBABILITY_ALPHAS = np.array([0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3])
TSB_SIZE_ALPHAS = np.array([0.02, 0.05, 0.1, 0.2, 0.3])


@dataclass(frozen=True)
class SeriesContext:
    """What a model needs to know about a series besides its values: the market whose calendar
    applies ('' for none, e.g. a series from outside the marketplace) and the regressor columns."""

    market: str
    regressors: tuple[str, ...] = ()


def _frame(ds: pd.Series, quantiles: FloatArray) -> pd.DataFrame:
    """A forecast table from per-day quantiles (rows: days; columns: QUANTILES order)."""
    clipped = np.clip(quantiles, 0.0, None)
    return pd.DataFrame(
        {
            "ds": pd.to_datetime(ds).to_numpy(),
            "value": clipped[:, 2],
            "lower_80": clipped[:, 1],
            "upper_80": clipped[:, 3],
            "lower_95": clipped[:, 0],
            "upper_95": clipped[:, 4],
        }
    )


@dataclass
class FittedModel(ABC):
    """A model fitted to a history that ends on `history_end`."""

    history_end: date

    @property
    @abstractmethod
    def name(self) -> str:
        """The model's name, one of MODEL_NAMES."""

    @abstractmethod
    def predict(self, future: pd.DataFrame) -> pd.DataFrame:
        """Forecast the days of `future` (`ds` = the days after history_end, in order, plus the
        regressor columns); columns FORECAST_COLUMNS, and `expected` (each day's mean) from a
        model that knows its distribution (DISTRIBUTION_MODELS)."""


@dataclass
class SeasonalNaive(FittedModel):
    """Each day repeats the same weekday of the last week; intervals from the empirical
    distribution of week-on-week changes, widened by the square root of weeks ahead."""

    last_season: FloatArray = field(default_factory=lambda: np.zeros(SEASON))
    change_quantiles: FloatArray = field(default_factory=lambda: np.zeros(len(QUANTILES)))

    @property
    def name(self) -> str:
        return SEASONAL_NAIVE

    @classmethod
    def fit(cls, history: pd.DataFrame) -> SeasonalNaive:
        values = history["y"].to_numpy(dtype=np.float64)
        changes = values[SEASON:] - values[:-SEASON]
        return cls(
            history_end=history["ds"].iloc[-1].date(),
            last_season=values[-SEASON:].copy(),
            change_quantiles=np.quantile(changes, QUANTILES),
        )

    def predict(self, future: pd.DataFrame) -> pd.DataFrame:
        steps = np.arange(len(future))
        point = self.last_season[steps % SEASON]
        weeks_ahead = np.sqrt(steps // SEASON + 1)
        spread = self.change_quantiles - self.change_quantiles[2]
        quantiles = point[:, None] + weeks_ahead[:, None] * spread[None, :]
        return _frame(future["ds"], quantiles)


def _smoothed_levels(values: FloatArray, alphas: FloatArray, initial: float) -> FloatArray:
    """Simple exponential smoothing of `values` with each of `alphas` (rows), from `initial`:
    the level before each value, then the final level (len(values) + 1 columns)."""
    levels = np.empty((len(alphas), len(values) + 1))
    level = np.full(len(alphas), initial)
    for index, value in enumerate(values):
        levels[:, index] = level
        level = level + alphas * (value - level)
    levels[:, -1] = level
    return levels


@dataclass
class Tsb(FittedModel):
    """Teunter, Syntetos & Babai (2011): exponential smoothing of the probability that a day has
    demand (every day, so it decays while a product does not sell, unlike Croston's method) and
    of the size of a demand (on demand days). A day's forecast is a distribution: no demand with
    probability 1 - p, else a size drawn from the recent demands, weighted as the smoothing
    weighs them, so that its mean is the smoothed size and the day's mean is p x size."""

    probability: float = 0.0
    sizes: FloatArray = field(default_factory=lambda: np.zeros(0))
    size_weights: FloatArray = field(default_factory=lambda: np.zeros(0))

    @property
    def name(self) -> str:
        return TSB

    @classmethod
    def fit(cls, history: pd.DataFrame) -> Tsb:
        values: FloatArray = history["y"].to_numpy(dtype=np.float64)
        history_end = history["ds"].iloc[-1].date()
        demand = values > 0
        sizes = values[demand]
        if len(sizes) == 0:
            return cls(history_end=history_end)
        # Both smoothings start from the whole history's averages (a common initialisation):
        # the first days then need no burn-in.
        probabilities = _smoothed_levels(
            demand.astype(np.float64), TSB_PROBABILITY_ALPHAS, float(demand.mean())
        )
        size_levels = _smoothed_levels(sizes, TSB_SIZE_ALPHAS, float(sizes.mean()))
        # The size known before each day: the level after the demands of the days before it.
        demands_before: npt.NDArray[np.int64] = np.cumsum(demand) - demand
        size_before = size_levels[:, demands_before]
        one_step = probabilities[:, None, :-1] * size_before[None, :, :]
        # Squared error: the mean is what TSB forecasts, and absolute error would be minimised by
        # forecasting no demand at all.
        errors = np.mean((values[None, None, :] - one_step) ** 2, axis=2)
        best_p, best_z = np.unravel_index(np.argmin(errors), errors.shape)
        alpha = float(TSB_SIZE_ALPHAS[best_z])
        # The smoothed size as a weighted mean of the sizes: alpha (1 - alpha)^age for each,
        # plus the initial level's remaining weight spread evenly (it was their plain mean).
        age = np.arange(len(sizes) - 1, -1, -1)
        weights = alpha * (1 - alpha) ** age + (1 - alpha) ** len(sizes) / len(sizes)
        return cls(
            history_end=history_end,
            probability=float(probabilities[best_p, -1]),
            sizes=sizes,
            size_weights=weights / weights.sum(),
        )

    @property
    def mean(self) -> float:
        """A day's expected demand: p x the smoothed size."""
        return self.probability * float(self.sizes @ self.size_weights) if len(self.sizes) else 0.0

    def quantiles(self, levels: FloatArray) -> FloatArray:
        """A day's quantiles: 0 up to the probability of no demand, then the sizes' quantiles."""
        if len(self.sizes) == 0 or self.probability <= 0:
            return np.zeros(len(levels))
        order = np.argsort(self.sizes, kind="stable")
        sorted_sizes, cumulative = self.sizes[order], np.cumsum(self.size_weights[order])
        within_sizes = (levels - (1 - self.probability)) / self.probability
        # The first size whose cumulative weight reaches the level; a hair below it, so that a
        # level equal to a cumulative weight is not pushed to the next size by rounding.
        picked = np.searchsorted(cumulative, np.clip(within_sizes, 0.0, 1.0) - 1e-12)
        size_quantiles = sorted_sizes[np.minimum(picked, len(sorted_sizes) - 1)]
        return np.where(within_sizes > 0, size_quantiles, 0.0)

    def predict(self, future: pd.DataFrame) -> pd.DataFrame:
        days = len(future)
        quantiles = np.tile(self.quantiles(np.array(QUANTILES)), (days, 1))
        return _frame(future["ds"], quantiles).assign(expected=np.full(days, self.mean))


@dataclass
class Ets(FittedModel):
    """Additive-error ETS with a damped trend and weekly seasonality on log(1 + y)."""

    results: Any = None

    @property
    def name(self) -> str:
        return ETS

    @classmethod
    def fit(cls, history: pd.DataFrame) -> Ets:
        from statsmodels.tsa.exponential_smoothing.ets import (  # type: ignore[import-untyped]
            ETSModel,
        )

        log_values = pd.Series(
            np.log1p(history["y"].to_numpy(dtype=np.float64)),
            index=pd.DatetimeIndex(history["ds"], freq="D"),
        )
        model = ETSModel(
            log_values,
            error="add",
            trend="add",
            damped_trend=True,
            seasonal="add",
            seasonal_periods=SEASON,
        )
        with warnings.catch_warnings():
            # Convergence chatter on short or flat series; the backtest judges the result.
            warnings.simplefilter("ignore")
            results = model.fit(disp=False, maxiter=200)
        return cls(history_end=history["ds"].iloc[-1].date(), results=results)

    def predict(self, future: pd.DataFrame) -> pd.DataFrame:
        start = int(self.results.nobs)
        prediction = self.results.get_prediction(start=start, end=start + len(future) - 1)
        frame95 = prediction.summary_frame(alpha=0.05)
        frame80 = prediction.summary_frame(alpha=0.2)
        log_quantiles = np.column_stack(
            [
                frame95["pi_lower"].to_numpy(),
                frame80["pi_lower"].to_numpy(),
                frame95["mean"].to_numpy(),
                frame80["pi_upper"].to_numpy(),
                frame95["pi_upper"].to_numpy(),
            ]
        )
        return _frame(future["ds"], np.expm1(log_quantiles))


@dataclass
class ProphetModel(FittedModel):
    """Prophet on log(1 + y) with the market's calendar as holidays and campaign regressors.

    Kept as Prophet's own JSON (its recommended serialisation) and rebuilt on first use.
    """

    model_json: str = ""
    _model: Any = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return PROPHET

    @classmethod
    def fit(cls, history: pd.DataFrame, context: SeriesContext, horizon_days: int) -> ProphetModel:
        from prophet import Prophet
        from prophet.serialize import model_to_json

        logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
        first, last = history["ds"].iloc[0].date(), history["ds"].iloc[-1].date()
        holidays = (
            holiday_frame(first, last + pd.Timedelta(days=horizon_days), context.market)
            if context.market
            else None
        )
        model = Prophet(
            holidays=holidays,
            weekly_seasonality=True,
            daily_seasonality=False,
            yearly_seasonality="auto",
            uncertainty_samples=PROPHET_SAMPLES,
            changepoint_range=CHANGEPOINT_RANGE,
        )
        train = history[["ds"]].copy()
        train["y"] = np.log1p(history["y"].to_numpy(dtype=np.float64))
        for regressor in context.regressors:
            # A regressor that never moved in training carries no information: leave it out.
            if history[regressor].std() > 0:
                model.add_regressor(regressor)
                train[regressor] = history[regressor].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(train)
        fitted = cls(history_end=last, model_json=model_to_json(model))
        fitted._model = _for_forecasting(model, last)
        return fitted

    def _prophet(self) -> Any:
        if self._model is None:
            from prophet.serialize import model_from_json

            self._model = _for_forecasting(model_from_json(self.model_json), self.history_end)
        return self._model

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_model"] = None  # the JSON is the artefact; the live model is rebuilt
        return state

    def predict(self, future: pd.DataFrame) -> pd.DataFrame:
        model = self._prophet()
        frame = future[["ds", *model.extra_regressors]].copy()
        frame["ds"] = pd.to_datetime(frame["ds"])
        samples = model.predictive_samples(frame)["yhat"]
        log_quantiles = np.quantile(samples, QUANTILES, axis=1).T
        return _frame(future["ds"], np.expm1(log_quantiles))


def _for_forecasting(model: Any, history_end: date) -> Any:
    """The fitted model with its holiday table cut to the rows that can mark a day after
    `history_end`, plus the first row of every other (holiday, window), so that its feature
    columns and their prior scales stay the same and its forecasts of those days are unchanged.
    Prophet expands every row of the table, with a `pd.to_datetime` per day of its window, at
    every prediction: two years of calendar took most of a 90-day forecast's time (0.17 of 0.29 s
    in a profile), and a catalogue's inventory advice predicts every product. Only days after
    the history are ever predicted."""
    holidays = model.holidays
    if holidays is None or holidays.empty:
        return model
    first_day = pd.Timestamp(history_end) + pd.Timedelta(days=1)
    ends = holidays["ds"] + pd.to_timedelta(holidays["upper_window"], unit="D")
    first_of_kind = ~holidays.duplicated(["holiday", "lower_window", "upper_window"])
    model.holidays = holidays[(ends >= first_day) | first_of_kind].reset_index(drop=True)
    return model


def fit_model(
    name: str, history: pd.DataFrame, context: SeriesContext, horizon_days: int
) -> FittedModel:
    """Fit model `name` (one of MODEL_NAMES) to `history` (ds, y, regressor columns)."""
    if name == PROPHET:
        return ProphetModel.fit(history, context, horizon_days)
    if name == ETS:
        return Ets.fit(history)
    if name == SEASONAL_NAIVE:
        return SeasonalNaive.fit(history)
    if name == TSB:
        return Tsb.fit(history)
    raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")
