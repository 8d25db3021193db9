"""Interval calibration: conformal factors reach the nominal coverage, cross-fitting, edges."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopee_forecast.domain.accuracy import coverage
from shopee_forecast.domain.intervals import (
    MAX_FACTOR,
    IntervalScale,
    cross_fitted,
    fit_scale,
    with_expected,
)


def _fold(seed: int, half_width: float, days: int = 60) -> pd.DataFrame:
    """Forecasts of 100 whose intervals are `half_width` on the log scale, against actuals with
    10% log-normal noise."""
    rng = np.random.default_rng(seed)
    median = np.full(days, 100.0)
    log_median = np.log1p(median)
    return pd.DataFrame(
        {
            "value": median,
            "lower_80": np.expm1(log_median - half_width),
            "upper_80": np.expm1(log_median + half_width),
            "lower_95": np.expm1(log_median - 2 * half_width),
            "upper_95": np.expm1(log_median + 2 * half_width),
            "actual": np.expm1(log_median + rng.normal(0, 0.1, days)),
        }
    )


def _coverage(table: pd.DataFrame, level: str) -> float:
    return coverage(
        table["actual"].to_numpy(),
        table[f"lower_{level}"].to_numpy(),
        table[f"upper_{level}"].to_numpy(),
    )


def test_too_narrow_intervals_are_widened_to_their_level() -> None:
    folds = [_fold(seed, half_width=0.02) for seed in range(3)]
    assert _coverage(pd.concat(folds), "95") < 0.5
    scale = fit_scale(folds)
    assert scale.k80 > 1
    assert scale.k95 > 1
    fresh = scale.apply(_fold(99, half_width=0.02, days=2000))
    assert abs(_coverage(fresh, "80") - 0.8) < 0.05
    assert abs(_coverage(fresh, "95") - 0.95) < 0.03
    assert (fresh["lower_95"] <= fresh["lower_80"]).all()


def test_cross_fitting_scores_each_fold_with_the_others_factors() -> None:
    folds = [_fold(seed, half_width=0.5) for seed in range(3)]
    rescaled = cross_fitted(folds)
    assert len(rescaled) == 3
    assert _coverage(pd.concat(rescaled), "95") < 1.0  # too-wide intervals were narrowed
    # One fold: nothing else to learn from; the intervals stay as the model made them.
    (single,) = cross_fitted(folds[:1])
    pd.testing.assert_frame_equal(single.drop(columns="expected"), folds[0])


def _log_normal_days(sigma: float, days: int) -> pd.DataFrame:
    """Days whose log(1 + y) is normal around log(101) with sd `sigma`, with the quantiles that
    say so."""
    log_median = np.log1p(np.full(days, 100.0))
    return pd.DataFrame(
        {
            column: np.expm1(log_median + z * sigma)
            for column, z in (
                ("lower_95", -1.96),
                ("lower_80", -1.2816),
                ("value", 0.0),
                ("upper_80", 1.2816),
                ("upper_95", 1.96),
            )
        }
    )


def test_the_expected_value_is_the_mean_that_totals_add_up_to() -> None:
    rng = np.random.default_rng(4)
    days = 20_000
    for sigma in (0.2, 0.5):
        table = _log_normal_days(sigma, days)
        actual = np.expm1(np.log(101.0) + rng.normal(0, sigma, days))
        expected = with_expected(table)["expected"].to_numpy()
        # Within 1.5% of the true mean, where the medians' total falls 2% (sd 0.2) and 11% short.
        assert abs(expected.sum() / actual.sum() - 1) < 0.015
        assert table["value"].sum() / actual.sum() < 1 - sigma**2 / 3
    # A table the calibration made carries it too.
    assert "expected" in IntervalScale().apply(_log_normal_days(0.5, 10))


def test_the_expected_value_stays_inside_the_80_percent_interval() -> None:
    # A shop closed some days: the calibrated interval runs from 0 to far above the median.
    table = pd.DataFrame(
        {
            "lower_95": [0.0],
            "lower_80": [0.0],
            "value": [50.0],
            "upper_80": [5_000.0],
            "upper_95": [50_000.0],
        }
    )
    expected = float(with_expected(table)["expected"].iloc[0])
    assert expected == 0.4 * 50.0 + 0.3 * 5_000.0


def test_collapsed_intervals_get_a_width_and_no_overflow() -> None:
    zeros = pd.DataFrame(
        {c: np.zeros(30) for c in ("value", "lower_80", "upper_80", "lower_95", "upper_95")}
    )
    zeros["actual"] = np.r_[np.zeros(25), np.full(5, 40.0)]
    scale = fit_scale([zeros])
    assert scale.k95 <= MAX_FACTOR
    applied = scale.apply(zeros)
    assert np.isfinite(applied["upper_95"]).all()
    assert (applied["upper_95"] > 0).all()
