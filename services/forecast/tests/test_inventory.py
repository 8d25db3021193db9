"""Reorder point, order quantity and stock-out date from a demand forecast."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from scipy.stats import norm  # type: ignore[import-untyped]

from shopee_forecast.domain.inventory import Z_95, DemandForecast, advise, stockout_date

END = date(2026, 1, 31)


def _flat(mean: float, sigma: float, days: int = 90) -> DemandForecast:
    means = np.full(days, mean)
    return DemandForecast(END, means, means - Z_95 * sigma, means + Z_95 * sigma)


def test_reorder_point_is_lead_time_demand_plus_z_sigma_root_l() -> None:
    advice = advise(
        _flat(10, 3), stock_on_hand=200, service_level=0.95, lead_time_days=9, review_period_days=14
    )
    z = norm.ppf(0.95)
    assert advice.lead_time_demand == pytest.approx(90)
    assert advice.safety_stock == pytest.approx(z * 3 * math.sqrt(9))
    assert advice.reorder_point == pytest.approx(90 + z * 9)
    assert advice.reorder_now is False
    # Order up to 23 days of demand plus its safety stock, less what is on hand.
    assert advice.suggested_order_quantity == math.ceil(230 + z * 3 * math.sqrt(23) - 200)


def test_stock_below_the_reorder_point_says_reorder_now() -> None:
    advice = advise(
        _flat(10, 3), stock_on_hand=50, service_level=0.99, lead_time_days=7, review_period_days=7
    )
    assert advice.reorder_now is True
    assert advice.suggested_order_quantity > 0


def test_a_higher_service_level_keeps_more_safety_stock() -> None:
    low = advise(_flat(5, 2), 100, 0.8, 7, 14)
    high = advise(_flat(5, 2), 100, 0.99, 7, 14)
    assert high.safety_stock > low.safety_stock
    assert high.reorder_point > low.reorder_point


def test_the_stockout_day_is_when_cumulative_demand_passes_the_stock() -> None:
    assert stockout_date(_flat(10, 1), 95) == date(2026, 2, 10)  # day 10 takes it to 100
    assert stockout_date(_flat(10, 1), 0) == date(2026, 2, 1)
    assert stockout_date(_flat(1, 1), 1000) is None  # not within 90 days


def test_lead_times_beyond_the_forecast_carry_its_last_week_on() -> None:
    short = _flat(4, 1, days=30)
    advice = advise(short, 0, 0.95, lead_time_days=60, review_period_days=0)
    assert advice.lead_time_demand == pytest.approx(240)
