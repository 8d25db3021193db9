"""The forecasters: Prophet with the marketplace calendar and campaign regressors, and two
baselines kept beside it, ETS (statsmodels) and the seasonal-naive forecast.

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
import pandas as pd

from shopee_forecast.domain.accuracy import SEASON, FloatArray
from shopee_forecast.domain.calendar import holiday_frame

PROPHET = "prophet"
ETS = "ets"
SEASONAL_NAIVE = "seasonal_naive"
MODEL_NAMES = (PROPHET, ETS, SEASONAL_NAIVE)
# Quantiles of the intervals: 95% and 80% central intervals around the median.
QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)
FORECAST_COLUMNS = ("ds", "value", "lower_80", "upper_80", "lower_95", "upper_95")
PROPHET_SAMPLES = 400
# Trend changes may happen up to 5% before the end (Prophet: 20%): shops grow unevenly, and a
# 30-day forecast must follow the recent slope, not the one of months ago.
CHANGEPOINT_RANGE = 0.95


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
        regressor columns); columns FORECAST_COLUMNS."""


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
        fitted._model = model
        return fitted

    def _prophet(self) -> Any:
        if self._model is None:
            from prophet.serialize import model_from_json

            self._model = model_from_json(self.model_json)
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
    raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")
