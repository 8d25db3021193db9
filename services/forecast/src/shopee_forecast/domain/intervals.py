"""Interval calibration from the backtest (split-conformal scaling, after Romano, Patterson &
Candès 2019, "Conformalized Quantile Regression", applied to the models' own intervals).

Prophet's intervals come from a MAP fit whose noise estimate shrinks as its many calendar and
changepoint terms fit the history, so they are too narrow out of sample; ETS's and the naive
forecast's can be too wide. For each backtest day, the conformity score is how many half-widths
(on the log(1 + y) scale, each side on its own) the actual fell from the median; the interval is
widened or narrowed by the score's finite-sample quantile at its level. Reported backtest
coverage is cross-fitted (each fold is scaled with the factor learned on the other folds), so it
is never scored on the data that set it.

Every calibrated table also gets the `expected` value of each day, its mean. The median (`value`)
is what a day is as likely to exceed as to miss, but medians do not add up: daily sales are
skewed (a good day brings several times a median one, a bad one never less than 0), so a 30-day
total of medians falls short of the expected total (by 7% on average on the generator's shops,
more for a product's few daily units, whose lead-time demand the inventory advice sums). The
mean is taken from the calibrated forecast's 10, 50 and 90% points (MEAN_WEIGHTS), so it follows
the skew the intervals show and never leaves the 80% interval. Measured and rejected: a
log-normal formula (the median times exp(sigma^2 / 2)) and a mean over the 2.5 to 97.5% points;
on public series with zero days or a structural break, whose calibrated 95% bounds are many times
the median, both multiplied the median several times over. A model that forecasts a distribution
(TSB, models.DISTRIBUTION_MODELS) gives its own mean, and it is kept.

TSB's intervals are not rescaled (ModelIntervals): they are quantiles of its fitted distribution,
and the conformity score does not fit it. Its median and lower bounds are 0 while fewer than half
the days see demand, so every day without demand scores 0 and the factor is set by the few demand
days alone; when fewer than 5% of the days see demand, the 95% factor is 0 and would shrink the
interval to [0, 0] again, the over-confidence TSB is there to remove.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopee_forecast.domain.accuracy import FloatArray

LEVELS = {"80": 0.8, "95": 0.95}
# A model whose interval collapses to its median (a product that sold nothing for weeks) still
# gets a width to scale: 1% on the log scale. And no factor beyond 100 (a broken fold).
MIN_HALF_WIDTH = 0.01
MAX_FACTOR = 100.0
# The mean of a day's forecast, from its 10, 50 and 90% points: the distribution linear between
# them, the outer 10% on each side held at the 80% interval's bounds (trapezoid rule over
# probability). For log-normal days it is within 1% of the true mean up to a log-scale sd of 0.6
# (0.9% short there, 0.1% at 0.3); past the 80% interval it does not look, because calibrated
# 95% bounds can run to absurd heights on series with zero days (module docstring).
MEAN_COLUMNS = ("lower_80", "value", "upper_80")
MEAN_WEIGHTS = np.array([0.3, 0.4, 0.3])


def _log(values: pd.Series) -> FloatArray:
    return np.asarray(
        np.log1p(np.clip(values.to_numpy(dtype=np.float64), 0.0, None)), dtype=np.float64
    )


def conformity(table: pd.DataFrame, level: str) -> FloatArray:
    """Per row: |actual - median| in units of the interval's half-width on that side."""
    median, actual = _log(table["value"]), _log(table["actual"])
    lower, upper = _log(table[f"lower_{level}"]), _log(table[f"upper_{level}"])
    below = np.maximum(median - lower, MIN_HALF_WIDTH)
    above = np.maximum(upper - median, MIN_HALF_WIDTH)
    return np.where(actual < median, (median - actual) / below, (actual - median) / above)


@dataclass(frozen=True)
class IntervalScale:
    """Multipliers of the 80% and 95% half-widths (1 = the model's own intervals)."""

    k80: float = 1.0
    k95: float = 1.0

    def apply(self, table: pd.DataFrame) -> pd.DataFrame:
        """The forecast table with its intervals rescaled around the median."""
        scaled = table.copy()
        median = _log(table["value"])
        for level, k in (("80", self.k80), ("95", self.k95)):
            lower, upper = _log(table[f"lower_{level}"]), _log(table[f"upper_{level}"])
            below = np.maximum(median - lower, MIN_HALF_WIDTH)
            above = np.maximum(upper - median, MIN_HALF_WIDTH)
            scaled[f"lower_{level}"] = np.clip(np.expm1(median - k * below), 0.0, None)
            scaled[f"upper_{level}"] = np.expm1(median + k * above)
        # Keep the 80% interval inside the 95% one whatever the two factors did.
        scaled["lower_95"] = np.minimum(scaled["lower_95"], scaled["lower_80"])
        scaled["upper_95"] = np.maximum(scaled["upper_95"], scaled["upper_80"])
        return with_expected(scaled)


class ModelIntervals(IntervalScale):
    """The model's own intervals and mean, served as it forecast them (module docstring)."""

    def apply(self, table: pd.DataFrame) -> pd.DataFrame:
        return with_expected(table)


def with_expected(table: pd.DataFrame) -> pd.DataFrame:
    """The table with `expected`, each day's mean: the model's own if it gave one, else the mean
    over the quantiles (module docstring)."""
    if "expected" in table.columns:
        return table
    quantiles = table[list(MEAN_COLUMNS)].to_numpy(dtype=np.float64)
    return table.assign(expected=quantiles @ MEAN_WEIGHTS)


def fit_scale(tables: list[pd.DataFrame]) -> IntervalScale:
    """The conformal factors from backtest tables (value, actual, lower_/upper_ 80 and 95)."""
    if not tables:
        return IntervalScale()
    table = pd.concat(tables)
    factors = {}
    for level, coverage in LEVELS.items():
        scores = np.sort(conformity(table, level))
        rank = min(len(scores), math.ceil((len(scores) + 1) * coverage))
        factors[level] = min(float(scores[rank - 1]), MAX_FACTOR)
    return IntervalScale(k80=factors["80"], k95=factors["95"])


def cross_fitted(tables: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Each fold's table rescaled with the factors fitted on the other folds (as the model made
    it with a single fold: there is nothing else to learn from)."""
    if len(tables) < 2:
        return [with_expected(table) for table in tables]
    return [
        fit_scale(tables[:index] + tables[index + 1 :]).apply(table)
        for index, table in enumerate(tables)
    ]
