"""Accuracy measures: definitions at their edges."""

from __future__ import annotations

import math

import numpy as np

from shopee_forecast.domain import accuracy


def test_mape_skips_zero_actuals_and_is_nan_when_all_are_zero() -> None:
    actual = np.array([100.0, 0.0, 50.0])
    predicted = np.array([110.0, 5.0, 40.0])
    assert math.isclose(accuracy.mape(actual, predicted), (10 + 20) / 2)
    assert math.isnan(accuracy.mape(np.zeros(3), predicted))


def test_smape_counts_a_day_where_both_are_zero_as_perfect() -> None:
    assert accuracy.smape(np.array([0.0, 100.0]), np.array([0.0, 100.0])) == 0
    assert math.isclose(accuracy.smape(np.array([100.0]), np.array([0.0])), 200)


def test_mase_is_one_for_the_seasonal_naive_error_level() -> None:
    rng = np.random.default_rng(3)
    history = 100 + rng.normal(0, 5, 70)
    scale = accuracy.naive_scale(history)
    errors = np.full(10, scale)
    assert math.isclose(accuracy.mase(np.zeros(10) + errors, np.zeros(10), scale), 1.0)
    assert math.isnan(accuracy.naive_scale(np.ones(30)))  # a flat history has no scale


def test_coverage_counts_the_bounds_as_inside() -> None:
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    assert accuracy.coverage(actual, np.array([1, 0, 4, 0.0]), np.array([1, 1, 5, 4.0])) == 0.5
