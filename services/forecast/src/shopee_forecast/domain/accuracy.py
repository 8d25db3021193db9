"""Forecast accuracy: MAPE, sMAPE, MASE and interval coverage, as in Hyndman & Athanasopoulos,
"Forecasting: Principles and Practice" (3rd ed.), section 5.8; RMSSE as in the M5 competition
(Makridakis, Spiliotis & Assimakopoulos 2022)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
SEASON = 7  # days: the weekly cycle is the seasonality every shop series has


@dataclass(frozen=True)
class Scores:
    """Backtest scores of one model on one series (means over every forecast day of every fold).

    `mape` ignores days whose actual is 0 (it is undefined there); NaN if every actual is 0.
    `rmsse` scores the `expected` (mean) forecast, the others the median (`value`).
    """

    model: str
    mape: float
    smape: float
    mase: float
    coverage_80: float
    coverage_95: float
    folds: int
    horizon_days: int
    rmsse: float = float("nan")

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def mape(actual: FloatArray, predicted: FloatArray) -> float:
    """Mean absolute percentage error over the days with a non-zero actual, in percent."""
    nonzero = actual != 0
    if not nonzero.any():
        return float("nan")
    return float(np.mean(np.abs((actual[nonzero] - predicted[nonzero]) / actual[nonzero])) * 100)


def smape(actual: FloatArray, predicted: FloatArray) -> float:
    """Symmetric MAPE in percent (0 to 200); a day where both are 0 counts as a perfect 0."""
    denominator = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(
        2 * np.abs(actual - predicted),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(np.mean(ratio) * 100)


def naive_scale(history: FloatArray, season: int = SEASON) -> float:
    """In-sample mean absolute error of the seasonal-naive forecast: MASE's denominator."""
    return _naive_error(history, season, np.abs)


def naive_squared_scale(history: FloatArray, season: int = SEASON) -> float:
    """In-sample mean squared error of the seasonal-naive forecast: RMSSE's denominator (M5 took
    the one-day naive forecast; the weekly one keeps RMSSE on MASE's footing)."""
    return _naive_error(history, season, np.square)


def _naive_error(
    history: FloatArray, season: int, loss: Callable[[FloatArray], FloatArray]
) -> float:
    """The mean `loss` of the in-sample seasonal-naive errors; NaN if there are none or all 0."""
    if len(history) <= season:
        return float("nan")
    scale = float(np.mean(loss(history[season:] - history[:-season])))
    return scale if scale > 0 else float("nan")


def rmsse(actual: FloatArray, predicted: FloatArray, squared_scale: float) -> float:
    """Root mean squared scaled error. Squared error is least for the mean, where absolute error
    (MASE) is least for the median: 0 on a series that sells on fewer than half of its days."""
    return float(np.sqrt(np.mean((actual - predicted) ** 2) / squared_scale))


def mase(actual: FloatArray, predicted: FloatArray, scale: float) -> float:
    """Mean absolute scaled error: below 1 beats the in-sample seasonal-naive forecast."""
    return float(np.mean(np.abs(actual - predicted)) / scale)


def coverage(actual: FloatArray, lower: FloatArray, upper: FloatArray) -> float:
    """Share of actuals inside [lower, upper]."""
    return float(np.mean((actual >= lower) & (actual <= upper)))
