"""Reorder advice from a demand forecast (Silver, Pyke & Peterson, "Inventory and Production
Management in Supply Chains", 4th ed., ch. 6: continuous review with a reorder point, and an
order-up-to level covering the lead time plus a review period).

The reorder point is the service level's quantile of the lead time's demand, taken as negative
binomial (a count: skewed, never below 0, a positive quantile even for a product that sells once
a month) with the forecast's mean and the larger of two variances:
- the forecast's own, days independent (the daily sigma from its 95% interval, width / 3.92);
- the product's recent sums over windows of the same length, scaled to the forecast's mean (the
  same coefficient of variation). Days are not independent (a slow week, a one-off wholesale
  order, a level that drifts), and a daily interval cannot see demand beyond its 97.5% point.
With the days-independent normal approximation alone, reorder points at 95% covered 85 to 90%
of the backtest's lead times, and 99% as little as 85% (BENCHMARKS.md, "Inventory advice").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from scipy.stats import nbinom, norm, poisson  # type: ignore[import-untyped]

from shopee_forecast.domain.accuracy import FloatArray

Z_95 = float(norm.ppf(0.975))
STOCKOUT_HORIZON_DAYS = 90
# Days of a product's own history whose window sums measure how its demand varies: a year, so
# that seasons and one-off orders are seen; fewer once the product is younger.
RECENT_DEMAND_WINDOW_DAYS = 365
# A window sum's variance needs a few weeks of window positions to mean anything.
MIN_WINDOW_POSITIONS = 28


@dataclass(frozen=True)
class DemandForecast:
    """Daily demand from the day after `history_end`: means and 95% interval bounds; and the
    product's daily demand up to `history_end` (its last RECENT_DEMAND_WINDOW_DAYS at most)."""

    history_end: date
    mean: FloatArray
    lower_95: FloatArray
    upper_95: FloatArray
    recent: FloatArray = field(default_factory=lambda: np.zeros(0))

    def sigma(self) -> FloatArray:
        return np.clip((self.upper_95 - self.lower_95) / (2 * Z_95), 0.0, None)

    def days_from(self, first: date) -> int:
        """How many of the forecast's days come before `first` (a model trained days before the
        last data has forecast days whose demand is known)."""
        return max(0, (first - self.history_end).days - 1)

    def reaches(self, first: date) -> bool:
        """Whether at least a week of the forecast lies from `first` on: a model trained months
        before the last data (during a long catch-up, or after weeks of failed retrains) would
        otherwise put every stock-out in the past."""
        return self.days_from(first) <= len(self.mean) - 7

    def skip(self, days: int, recent: FloatArray) -> DemandForecast:
        """The forecast without its first `days` days, with the demand known up to its new
        start (`recent`)."""
        return DemandForecast(
            history_end=self.history_end + timedelta(days=days),
            mean=self.mean[days:],
            lower_95=self.lower_95[days:],
            upper_95=self.upper_95[days:],
            recent=recent,
        )


@dataclass(frozen=True)
class Advice:
    stock_on_hand: int
    mean_daily_demand: float
    lead_time_demand: float
    safety_stock: float
    reorder_point: float
    suggested_order_quantity: int
    expected_stockout_date: date | None
    reorder_now: bool


def most_urgent_first(advice: Advice) -> tuple[bool, date, int]:
    """Sort key of a shop's advice: at or below the reorder point first, then the earliest
    expected stock-out (none within 90 days last), then the largest suggested order."""
    return (
        not advice.reorder_now,
        advice.expected_stockout_date or date.max,
        -advice.suggested_order_quantity,
    )


def _window(values: FloatArray, days: int) -> FloatArray:
    """The first `days` values; past the forecast, its last week's mean carries on."""
    if days <= len(values):
        return values[:days]
    tail = float(np.mean(values[-7:])) if len(values) else 0.0
    return np.concatenate([values, np.full(days - len(values), tail)])


def demand_variance(forecast: DemandForecast, days: int) -> float:
    """The variance of the demand over the next `days`: the larger of the forecast's (days
    independent) and the recent `days`-sums' scaled to the forecast's mean."""
    independent = float(np.sum(_window(forecast.sigma(), days) ** 2))
    recent = forecast.recent
    if len(recent) < days + MIN_WINDOW_POSITIONS:
        return independent
    sums = np.convolve(recent, np.ones(days), mode="valid")
    recent_mean = float(sums.mean())
    if recent_mean <= 0:
        return independent
    mean = float(np.sum(_window(forecast.mean, days)))
    return max(independent, float(sums.var(ddof=1)) * (mean / recent_mean) ** 2)


def demand_quantile(mean: float, variance: float, level: float) -> float:
    """The `level` quantile of a count with this mean and variance: negative binomial, or
    Poisson when the variance is not above the mean (a count cannot vary less than that without
    a reason the history would show)."""
    if mean <= 0:
        return 0.0
    if variance <= mean:
        return float(poisson.ppf(level, mean))
    return float(nbinom.ppf(level, mean * mean / (variance - mean), mean / variance))


def stockout_date(forecast: DemandForecast, stock_on_hand: int) -> date | None:
    """The first day whose cumulative expected demand exceeds the stock, within 90 days."""
    if stock_on_hand <= 0:
        return forecast.history_end + timedelta(days=1)
    cumulative = np.cumsum(_window(forecast.mean, STOCKOUT_HORIZON_DAYS))
    beyond = np.nonzero(cumulative > stock_on_hand)[0]
    if len(beyond) == 0:
        return None
    return forecast.history_end + timedelta(days=int(beyond[0]) + 1)


def advise(
    forecast: DemandForecast,
    stock_on_hand: int,
    service_level: float,
    lead_time_days: int,
    review_period_days: int,
) -> Advice:
    """Reorder point = the service level's quantile of the lead time's demand; order up to the
    same quantile of the demand of the lead time plus the review period, less the stock on
    hand. The safety stock is what the reorder point holds above the mean demand."""
    lead_mean = float(np.sum(_window(forecast.mean, lead_time_days)))
    reorder_point = demand_quantile(
        lead_mean, demand_variance(forecast, lead_time_days), service_level
    )
    cover = lead_time_days + review_period_days
    cover_mean = float(np.sum(_window(forecast.mean, cover)))
    order_up_to = demand_quantile(cover_mean, demand_variance(forecast, cover), service_level)
    return Advice(
        stock_on_hand=stock_on_hand,
        mean_daily_demand=float(np.mean(_window(forecast.mean, cover))),
        lead_time_demand=lead_mean,
        safety_stock=reorder_point - lead_mean,
        reorder_point=reorder_point,
        suggested_order_quantity=max(0, math.ceil(order_up_to - stock_on_hand)),
        expected_stockout_date=stockout_date(forecast, stock_on_hand),
        reorder_now=stock_on_hand <= reorder_point,
    )
