"""Reorder point, order quantity and stock-out date from a demand forecast."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from scipy.stats import nbinom, norm, poisson  # type: ignore[import-untyped]

from shopee_forecast.domain.inventory import (
    Z_95,
    Advice,
    DemandForecast,
    advise,
    most_urgent_first,
    stockout_date,
)

END = date(2026, 1, 31)


def _flat(mean: float, sigma: float, days: int = 90) -> DemandForecast:
    means = np.full(days, mean)
    return DemandForecast(END, means, means - Z_95 * sigma, means + Z_95 * sigma)


def _negative_binomial(mean: float, variance: float, level: float) -> float:
    return float(nbinom.ppf(level, mean * mean / (variance - mean), mean / variance))


def test_reorder_point_is_the_service_levels_quantile_of_lead_time_demand() -> None:
    advice = advise(
        _flat(10, 5), stock_on_hand=200, service_level=0.95, lead_time_days=9, review_period_days=14
    )
    # Nine days of mean 10 and variance 25, independent: mean 90, variance 225.
    expected = _negative_binomial(90, 225, 0.95)
    assert advice.lead_time_demand == pytest.approx(90)
    assert advice.reorder_point == expected
    assert advice.safety_stock == pytest.approx(expected - 90)
    assert expected > 90 + norm.ppf(0.95) * 15  # skewed: above the normal approximation
    assert advice.reorder_now is False
    # Order up to the same quantile of 23 days' demand, less what is on hand.
    up_to = _negative_binomial(230, 23 * 25, 0.95)
    assert advice.suggested_order_quantity == math.ceil(up_to - 200)


def test_a_count_varies_at_least_as_much_as_poisson() -> None:
    advice = advise(_flat(10, 1), 0, 0.95, lead_time_days=9, review_period_days=14)
    assert advice.reorder_point == poisson.ppf(0.95, 90)


def test_lumpy_recent_demand_widens_what_the_forecast_alone_would_hold() -> None:
    # Half a year of one order a week, alternately of 2 and of 40 units: the mean of 21 a week
    # hides weeks of 40.
    weeks = [np.array([0, 0, 0, size, 0, 0, 0]) for size in (2, 40) * 13]
    recent = np.concatenate(weeks).astype(np.float64)
    calm = _flat(3, 1)
    lumpy = replace(calm, recent=recent)
    without, with_recent = (advise(f, 0, 0.95, 7, 14) for f in (calm, lumpy))
    assert without.reorder_point == poisson.ppf(0.95, 21)
    sums = np.convolve(recent, np.ones(7), mode="valid")
    variance = sums.var(ddof=1) * (21 / sums.mean()) ** 2
    assert with_recent.reorder_point == _negative_binomial(21, variance, 0.95)
    assert with_recent.reorder_point >= 40


def test_a_slow_mover_with_an_interval_of_zero_still_keeps_a_unit() -> None:
    # Sells on 2% of days: every daily quantile is 0, the mean 0.02.
    means = np.full(90, 0.02)
    slow = DemandForecast(END, means, np.zeros(90), np.zeros(90))
    advice = advise(slow, 0, 0.95, lead_time_days=7, review_period_days=14)
    assert advice.reorder_point == 1  # P(no sale in 7 days) = exp(-0.14) = 0.87 < 0.95
    assert advice.reorder_now is True
    assert advice.suggested_order_quantity >= 1


def test_short_recent_history_is_not_used() -> None:
    short = replace(_flat(10, 5), recent=np.array([0.0, 500.0] * 10))  # 20 days: too few
    assert advise(short, 0, 0.95, 7, 14) == advise(_flat(10, 5), 0, 0.95, 7, 14)


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


def test_a_forecast_drops_the_days_that_have_passed_and_says_when_too_few_are_left() -> None:
    forecast = _flat(4, 1, days=30)
    assert forecast.days_from(END + timedelta(days=1)) == 0  # starts on its first day
    assert forecast.days_from(END) == 0
    assert forecast.days_from(END + timedelta(days=11)) == 10
    # A week must be left from the first day to advise on: else the caller uses recent demand
    # (until 2026-12-07 it kept the last week, and dated stock-outs in the past).
    assert forecast.reaches(END + timedelta(days=24))
    assert not forecast.reaches(END + timedelta(days=25))
    assert forecast.days_from(END + timedelta(days=200)) == 199
    later = forecast.skip(10, np.ones(5))
    assert later.history_end == END + timedelta(days=10)
    assert len(later.mean) == 20
    assert later.recent.tolist() == [1.0] * 5


def test_a_shops_advice_reads_most_urgent_first() -> None:
    def advice_for(stock: int, mean: float = 2) -> Advice:
        return advise(_flat(mean, mean / 2), stock, 0.95, lead_time_days=7, review_period_days=14)

    below_reorder_point = advice_for(10)
    runs_out_soon, runs_out_later, never = advice_for(40), advice_for(100), advice_for(60, 0.01)
    assert below_reorder_point.reorder_now
    assert not runs_out_soon.reorder_now
    assert not runs_out_later.reorder_now
    assert never.expected_stockout_date is None
    ordered = sorted(
        [never, runs_out_later, runs_out_soon, below_reorder_point], key=most_urgent_first
    )
    assert ordered == [below_reorder_point, runs_out_soon, runs_out_later, never]
    # The same stock-out day: the larger order first.
    larger = replace(
        runs_out_soon, suggested_order_quantity=runs_out_soon.suggested_order_quantity + 5
    )
    assert sorted([runs_out_soon, larger], key=most_urgent_first) == [larger, runs_out_soon]
