"""Model choice by rolling-origin backtest, and the forecasters' outputs."""

from __future__ import annotations

import io
from collections.abc import Callable

import joblib
import numpy as np
import pandas as pd
import pytest
from prophet.serialize import model_from_json

from shopee_forecast.domain.accuracy import Scores
from shopee_forecast.domain.models import (
    ETS,
    PROPHET,
    SEASONAL_NAIVE,
    ProphetModel,
    SeriesContext,
    fit_model,
)
from shopee_forecast.domain.selection import (
    MIN_HISTORY_DAYS,
    NotEnoughHistory,
    SeriesHistory,
    backtest,
    choose,
    plan_backtest,
    train_series,
)


def _score(model: str, mase: float, smape: float = 10.0) -> Scores:
    return Scores(model, 10.0, smape, mase, 0.8, 0.95, 3, 30)


def test_a_short_history_says_how_much_is_needed() -> None:
    with pytest.raises(
        NotEnoughHistory, match=f"needs at least {MIN_HISTORY_DAYS} days of history, has 20"
    ):
        plan_backtest(20)


def test_the_plan_shrinks_to_what_the_history_allows() -> None:
    assert plan_backtest(400, 30, 3).origins(400) == [370, 340, 310]
    short = plan_backtest(MIN_HISTORY_DAYS, 30, 3)
    assert (short.horizon_days, short.folds) == (7, 1)
    assert plan_backtest(100, 30, 3).folds == 1


def test_the_lowest_mase_wins_and_seasonal_naive_wins_ties() -> None:
    assert choose([_score(PROPHET, 0.8), _score(ETS, 0.9), _score(SEASONAL_NAIVE, 1.0)]) == PROPHET
    assert choose([_score(PROPHET, 1.0), _score(SEASONAL_NAIVE, 1.0)]) == SEASONAL_NAIVE
    assert choose([_score(PROPHET, float("nan"), 5), _score(ETS, float("nan"), 9)]) == PROPHET


def test_prophet_with_the_calendar_beats_seasonal_naive_on_sale_spikes(
    sales_history: Callable[..., SeriesHistory],
) -> None:
    history = sales_history(180)
    plan = plan_backtest(180, 21, 3)
    scores = {s.model: s for s in backtest(history, plan, (PROPHET, SEASONAL_NAIVE)).scores}
    assert scores[PROPHET].mase < scores[SEASONAL_NAIVE].mase
    assert scores[PROPHET].mape < 15
    assert 0.8 <= scores[PROPHET].coverage_95 <= 1.0


def test_training_refits_the_chosen_model_and_lists_it_first(
    sales_history: Callable[..., SeriesHistory], sales_frame: Callable[..., pd.DataFrame]
) -> None:
    trained = train_series(sales_history(150), horizon_days=14, folds=2)
    assert trained.scores[0].model == trained.chosen
    assert {s.model for s in trained.scores} == {PROPHET, ETS, SEASONAL_NAIVE}
    assert trained.model.history_end == sales_frame(150)["ds"].iloc[-1].date()


@pytest.mark.parametrize("name", [PROPHET, ETS, SEASONAL_NAIVE])
def test_every_model_forecasts_nested_non_negative_intervals(
    name: str, sales_frame: Callable[..., pd.DataFrame]
) -> None:
    train = sales_frame(120).assign(campaign_share=0.0, campaign_discount=0.0)
    model = fit_model(name, train, SeriesContext("ID"), 30)
    future = pd.DataFrame(
        {"ds": pd.date_range(train["ds"].iloc[-1] + pd.Timedelta(days=1), periods=30)}
    )
    table = model.predict(future.assign(campaign_share=0.0, campaign_discount=0.0))
    assert len(table) == 30
    columns = ["lower_95", "lower_80", "value", "upper_80", "upper_95"]
    values = table[columns].to_numpy()
    assert (values >= 0).all()
    assert (np.diff(values, axis=1) >= -1e-9).all()


def test_seasonal_naive_repeats_the_last_week(sales_frame: Callable[..., pd.DataFrame]) -> None:
    train = sales_frame(70)
    model = fit_model(SEASONAL_NAIVE, train, SeriesContext("ID"), 14)
    future = pd.DataFrame(
        {"ds": pd.date_range(train["ds"].iloc[-1] + pd.Timedelta(days=1), periods=14)}
    )
    values = model.predict(future)["value"].to_numpy()
    last_week = train["y"].to_numpy()[-7:]
    assert np.allclose(values, np.concatenate([last_week, last_week]))


def test_a_prophet_artefact_survives_joblib_and_forecasts_the_same(
    sales_frame: Callable[..., pd.DataFrame],
) -> None:
    train = sales_frame(90)
    model = fit_model(PROPHET, train, SeriesContext("MY"), 14)
    future = pd.DataFrame(
        {"ds": pd.date_range(train["ds"].iloc[-1] + pd.Timedelta(days=1), periods=14)}
    )
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    restored = joblib.load(buffer)
    assert restored._model is None
    np.random.seed(0)
    before = model.predict(future)["value"].to_numpy()
    np.random.seed(0)
    after = restored.predict(future)["value"].to_numpy()
    assert np.allclose(before, after, rtol=0.02)


def test_a_prophet_forecast_reads_only_the_holidays_ahead_and_is_unchanged(
    sales_frame: Callable[..., pd.DataFrame],
) -> None:
    train = sales_frame(400)
    model = fit_model(PROPHET, train, SeriesContext("ID"), 90)
    assert isinstance(model, ProphetModel)
    full = model_from_json(model.model_json)  # as fitted: the calendar of the whole history
    cut = ProphetModel(history_end=model.history_end, model_json=model.model_json)._prophet()
    assert len(cut.holidays) < len(full.holidays) / 2
    future = full.setup_dataframe(
        pd.DataFrame({"ds": pd.date_range(train["ds"].iloc[-1] + pd.Timedelta(days=1), periods=90)})
    )
    features, priors, components, modes = full.make_all_seasonality_features(future)
    cut_features, cut_priors, cut_components, cut_modes = cut.make_all_seasonality_features(future)
    pd.testing.assert_frame_equal(features, cut_features)
    pd.testing.assert_frame_equal(components, cut_components)
    assert (priors, modes) == (cut_priors, cut_modes)
    assert features.filter(like="_+0").to_numpy().sum() > 0  # sale days ahead are marked
    np.random.seed(0)
    expected = full.predictive_samples(future)["yhat"]
    np.random.seed(0)
    assert np.allclose(cut.predictive_samples(future)["yhat"], expected)
