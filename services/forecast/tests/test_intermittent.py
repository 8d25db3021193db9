"""Intermittent demand: TSB's daily distribution, the Syntetos-Boylan rule and the choice by RMSSE
of the mean for intermittent series only."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from shopee_forecast.domain.accuracy import Scores
from shopee_forecast.domain.campaigns import no_regressors
from shopee_forecast.domain.intervals import ModelIntervals
from shopee_forecast.domain.models import (
    ETS,
    PROPHET,
    SEASONAL_NAIVE,
    TSB,
    SeriesContext,
    Tsb,
    fit_model,
)
from shopee_forecast.domain.selection import (
    INTERMITTENCY_WINDOW_DAYS,
    REGULAR_MODELS,
    SeriesHistory,
    backtest,
    choose,
    is_intermittent,
    plan_backtest,
    train_series,
)
from shopee_forecast.predictions import backtest_proto

DAYS = 730


def _frame(values: np.ndarray) -> pd.DataFrame:
    ds = pd.date_range("2025-01-01", periods=len(values), freq="D")
    return pd.DataFrame({"ds": ds, "y": values.astype(np.float64)})


def _future(frame: pd.DataFrame, days: int = 90) -> pd.DataFrame:
    first = frame["ds"].iloc[-1] + pd.Timedelta(days=1)
    return pd.DataFrame({"ds": pd.date_range(first, periods=days, freq="D")})


def _poisson(rate: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(rate, DAYS)


def _ten_percent_of_days(seed: int) -> np.ndarray:
    """1 to 3 units on 10% of days: a mean of 0.2 a day."""
    rng = np.random.default_rng(seed)
    return (rng.random(DAYS) < 0.1) * rng.integers(1, 4, DAYS)


@pytest.mark.parametrize(
    ("series", "true_mean"), [(lambda s: _poisson(0.02, s), 0.02), (_ten_percent_of_days, 0.2)]
)
def test_tsb_expects_the_true_mean_where_the_quantiles_see_none(
    series: Callable[[int], np.ndarray], true_mean: float
) -> None:
    totals = []
    for seed in range(20):
        frame = _frame(series(seed))
        table = fit_model(TSB, frame, SeriesContext(""), 90).predict(_future(frame))
        assert (table["value"] == 0).all()  # the median of a day that mostly sells nothing
        totals.append(table["expected"].sum())
    # Each history's own sample mean is off by up to a third at 0.02 a day (15 sales in two
    # years); over 20 of them, the forecast total is unbiased.
    assert np.mean(totals) == pytest.approx(90 * true_mean, rel=0.3)


def test_the_95_upper_bound_sees_demand_once_more_than_2_5_percent_of_days_have_it() -> None:
    sizes, weights = np.array([1.0, 2.0, 3.0]), np.full(3, 1 / 3)
    levels = np.array([0.025, 0.1, 0.5, 0.9, 0.975])
    assert Tsb(
        history_end=pd.Timestamp("2026-01-01").date(),
        probability=0.02,
        sizes=sizes,
        size_weights=weights,
    ).quantiles(levels).tolist() == [0, 0, 0, 0, 0]
    three_percent = Tsb(pd.Timestamp("2026-01-01").date(), 0.03, sizes, weights)
    assert three_percent.quantiles(levels).tolist() == [0, 0, 0, 0, 1]
    assert three_percent.mean == pytest.approx(0.06)
    ten_percent = Tsb(pd.Timestamp("2026-01-01").date(), 0.1, sizes, weights)
    # P(0) = 0.9, so the 97.5% point is the sizes' 75% point.
    assert ten_percent.quantiles(levels).tolist() == [0, 0, 0, 0, 3]


def test_tsb_gives_a_positive_95_bound_and_mean_for_a_slow_mover() -> None:
    frame = _frame(_ten_percent_of_days(3))
    table = ModelIntervals().apply(
        fit_model(TSB, frame, SeriesContext(""), 30).predict(_future(frame))
    )
    assert (table["upper_95"] > 0).all()
    assert (table["lower_95"] == 0).all()
    assert table["expected"].iloc[0] == pytest.approx(0.2, rel=0.3)


def test_tsb_lets_demand_that_stopped_fade() -> None:
    values = _poisson(2.0, 1).astype(np.float64)
    values[-90:] = 0
    model = fit_model(TSB, _frame(values), SeriesContext(""), 30)
    assert isinstance(model, Tsb)
    assert model.mean < 0.2  # Croston's method would still forecast about 2 a day


def test_a_series_without_demand_forecasts_none() -> None:
    frame = _frame(np.zeros(100))
    table = fit_model(TSB, frame, SeriesContext(""), 30).predict(_future(frame, 30))
    assert (table.drop(columns="ds").to_numpy() == 0).all()


def test_intermittent_means_demand_on_fewer_than_76_percent_of_recent_days() -> None:
    assert is_intermittent(_poisson(0.02, 0))
    assert is_intermittent(_ten_percent_of_days(0))
    assert not is_intermittent(_poisson(5.0, 0))
    assert is_intermittent(np.tile([0.0, 1.0, 1.0, 1.0], 100))  # ADI 4/3 = 1.33
    assert not is_intermittent(np.tile([0.0, 1.0, 1.0, 1.0, 1.0], 100))  # ADI 1.25
    # Only the last half year counts: a product that has slowed down is intermittent now.
    slowed = np.concatenate([np.ones(400), _ten_percent_of_days(1)[:INTERMITTENCY_WINDOW_DAYS]])
    assert is_intermittent(slowed)
    assert is_intermittent(np.zeros(100))


def _score(model: str, mase: float, rmsse: float) -> Scores:
    return Scores(model, 10.0, 50.0, mase, 0.8, 0.95, 3, 30, rmsse)


def test_an_intermittent_series_is_chosen_by_rmsse_of_the_mean_without_seasonal_naive() -> None:
    scores = [
        _score(PROPHET, 0.9, 0.70),
        _score(ETS, 0.8, 0.75),
        _score(SEASONAL_NAIVE, 0.3, 0.50),  # forecast nothing over a quiet backtest
        _score(TSB, 0.4, 0.72),
    ]
    assert choose(scores, intermittent=True) == PROPHET
    assert choose(scores) == SEASONAL_NAIVE  # the regular rule, by MASE
    tie = [_score(ETS, 0.8, 0.7), _score(TSB, 0.9, 0.7)]
    assert choose(tie, intermittent=True) == TSB


def test_regular_series_are_chosen_as_before_among_the_three_models(
    sales_history: Callable[..., SeriesHistory],
) -> None:
    history = sales_history(150)
    result = backtest(history, plan_backtest(150, 14, 2))
    assert not result.intermittent
    assert tuple(s.model for s in result.scores) == REGULAR_MODELS
    by_mase = min(result.scores, key=lambda s: s.mase).model
    assert result.chosen == by_mase == choose(result.scores)


def test_a_slow_mover_is_backtested_with_tsb_and_served_its_mean() -> None:
    frame = _frame(_poisson(0.1, 2))
    history = SeriesHistory(frame, SeriesContext(""), "UTC", no_regressors)
    result = backtest(history, plan_backtest(len(frame), 30, 3))
    assert result.intermittent
    assert {s.model for s in result.scores} == {PROPHET, ETS, SEASONAL_NAIVE, TSB}
    assert result.chosen != SEASONAL_NAIVE
    trained = train_series(history, horizon_days=30, folds=3, models=(SEASONAL_NAIVE, TSB))
    assert trained.chosen == TSB
    assert isinstance(trained.interval_scale, ModelIntervals)
    assert isinstance(trained.model, Tsb)
    table = trained.predict(_future(frame, 30))
    assert table["expected"].to_numpy() == pytest.approx(np.full(30, trained.model.mean))
    assert table["expected"].sum() == pytest.approx(3.0, rel=0.3)
    assert (table["upper_95"] > 0).all()


def test_the_api_gives_rmsse_only_where_it_was_scored() -> None:
    score = {
        "model": "tsb",
        "mape": 50.0,
        "smape": 60.0,
        "mase": 0.9,
        "coverage_80": 0.8,
        "coverage_95": 0.95,
        "folds": 3,
        "horizon_days": 30,
    }
    assert backtest_proto({**score, "rmsse": 0.83}).rmsse == 0.83
    # Registered before RMSSE was kept, or a flat history: no value rather than NaN.
    assert not backtest_proto(score).HasField("rmsse")
    assert not backtest_proto({**score, "rmsse": math.nan}).HasField("rmsse")
