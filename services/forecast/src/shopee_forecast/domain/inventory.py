"""Reorder advice from a demand forecast (Silver, Pyke & Peterson, "Inventory and Production
Management in Supply Chains", 4th ed., ch. 6: continuous review with a reorder point, and an
order-up-to level covering the lead time plus a review period).

Daily demand uncertainty comes from the forecast's 95% interval (sigma = width / (2 x 1.96));
days are taken as independent, so the lead-time sigma is the square root of the summed variances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy.stats import norm  # type: ignore[import-untyped]

from shopee_forecast.domain.accuracy import FloatArray

Z_95 = float(norm.ppf(0.975))
STOCKOUT_HORIZON_DAYS = 90


@dataclass(frozen=True)
class DemandForecast:
    """Daily demand from the day after `history_end`: means and 95% interval bounds."""

    history_end: date
    mean: FloatArray
    lower_95: FloatArray
    upper_95: FloatArray

    def sigma(self) -> FloatArray:
        return np.clip((self.upper_95 - self.lower_95) / (2 * Z_95), 0.0, None)


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


def _window(values: FloatArray, days: int) -> FloatArray:
    """The first `days` values; past the forecast, its last week's mean carries on."""
    if days <= len(values):
        return values[:days]
    tail = float(np.mean(values[-7:])) if len(values) else 0.0
    return np.concatenate([values, np.full(days - len(values), tail)])


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
    """Reorder point = lead-time demand + z x lead-time sigma; order up to the demand of the lead
    time plus the review period (with its own safety stock), less the stock on hand."""
    z = float(norm.ppf(service_level))
    mean, sigma = forecast.mean, forecast.sigma()
    lead_mean = float(np.sum(_window(mean, lead_time_days)))
    lead_sigma = math.sqrt(float(np.sum(_window(sigma, lead_time_days) ** 2)))
    cover = lead_time_days + review_period_days
    cover_mean = float(np.sum(_window(mean, cover)))
    cover_sigma = math.sqrt(float(np.sum(_window(sigma, cover) ** 2)))
    safety = z * lead_sigma
    reorder_point = lead_mean + safety
    order_up_to = cover_mean + z * cover_sigma
    return Advice(
        stock_on_hand=stock_on_hand,
        mean_daily_demand=float(np.mean(_window(mean, cover))),
        lead_time_demand=lead_mean,
        safety_stock=safety,
        reorder_point=reorder_point,
        suggested_order_quantity=max(0, math.ceil(order_up_to - stock_on_hand)),
        expected_stockout_date=stockout_date(forecast, stock_on_hand),
        reorder_now=stock_on_hand <= reorder_point,
    )
