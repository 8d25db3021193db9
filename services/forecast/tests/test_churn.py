"""Churn: RFM features at a cutoff, labels, the time-split model and its reasons."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from shopee_forecast.domain.churn import (
    CANCELLED,
    EPSILON,
    MONOTONIC,
    PAID,
    RETURNED,
    RHYTHM_FEATURES,
    NotEnoughOrders,
    describe,
    features_at,
    labels_at,
    needed_history_days,
    train_churn,
    value_at_risk,
    with_days,
)

CUTOFF = date(2025, 6, 1)


def _orders(rows: list[tuple[str, int, str, int]]) -> pd.DataFrame:
    """(buyer, days before CUTOFF, status, gmv) -> the orders table."""
    return pd.DataFrame(
        [(b, CUTOFF - timedelta(days=d), s, g) for b, d, s, g in rows],
        columns=["buyer_id", "date", "status", "gmv_minor"],
    )


def _tables(
    orders: pd.DataFrame, visits: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if visits is None:
        visits = pd.DataFrame(columns=["visitor_id", "date", "visits"])
    return with_days(orders, visits)


def test_features_are_rfm_and_behaviour_before_the_cutoff() -> None:
    orders = _orders(
        [
            ("ana", 40, PAID, 10_000),
            ("ana", 20, PAID, 30_000),
            ("ana", 19, RETURNED, 0),
            ("ana", 5, CANCELLED, 0),
            ("ana", -3, PAID, 50_000),  # after the cutoff: unseen
            ("ben", 400, PAID, 5_000),  # inactive for over a year: not a churn candidate
        ]
    )
    visits = pd.DataFrame(
        [("ana", CUTOFF - timedelta(days=2), 3), ("ana", CUTOFF - timedelta(days=45), 7)],
        columns=["visitor_id", "date", "visits"],
    )
    frame = features_at(*_tables(orders, visits), CUTOFF)
    assert list(frame.index) == ["ana"]
    ana = frame.loc["ana"]
    assert ana["recency_days"] == 20
    assert ana["frequency"] == 2
    assert ana["monetary_minor"] == 40_000
    assert ana["avg_order_value_minor"] == 20_000
    assert ana["tenure_days"] == 40
    assert ana["mean_gap_days"] == 20
    assert ana["overdue_ratio"] == 1
    assert ana["orders_90d"] == 2
    assert (ana["returns"], ana["cancellations"]) == (1, 1)
    assert (ana["visits_30d"], ana["days_since_visit"]) == (3, 2)


def test_a_buyer_churns_without_a_paid_order_in_the_window() -> None:
    orders = _orders(
        [("ana", 30, PAID, 1), ("ana", -5, PAID, 1), ("ben", 30, PAID, 1), ("ben", -40, PAID, 1)]
    )
    tables = _tables(orders)
    labels = labels_at(tables[0], CUTOFF, 30, pd.Index(["ana", "ben"]))
    assert labels.to_dict() == {"ana": 0, "ben": 1}


def _population(buyers: int, days: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, date]:
    """Buyers with their own purchase rate who may stop for good (the churn to be learned);
    visits follow the same rate, so they carry signal too."""
    rng = np.random.default_rng(seed)
    last = date(2025, 12, 31)
    dates = pd.date_range(last - timedelta(days=days - 1), last, freq="D").date
    rates = rng.gamma(2.0, 0.02, buyers)[:, None]
    alive = np.arange(days)[None, :] < rng.integers(0, days * 2, buyers)[:, None]
    bought = alive & (rng.random((buyers, days)) < rates)
    visited = alive & (rng.random((buyers, days)) < rates * 3)
    who, when = np.nonzero(bought)
    orders = pd.DataFrame(
        {
            "buyer_id": [f"b{i}" for i in who],
            "date": dates[when],
            "status": PAID,
            "gmv_minor": rng.integers(10_000, 90_000, len(who)),
        }
    )
    who, when = np.nonzero(visited)
    visits = pd.DataFrame({"visitor_id": [f"b{i}" for i in who], "date": dates[when], "visits": 1})
    return orders, visits, last


def test_the_model_learns_churn_and_explains_the_riskiest_buyers() -> None:
    orders, visits, last = _population(buyers=1200, days=needed_history_days(30) + 60, seed=4)
    model = train_churn(orders, visits, last, 30)
    holdout = model.holdout
    assert holdout.roc_auc > 0.65
    assert holdout.brier < 0.25
    scores = model.scores
    assert scores["probability"].is_monotonic_decreasing
    riskiest = scores.iloc[0]
    assert riskiest["reasons"]
    feature, contribution = riskiest["reasons"][0]
    assert contribution > 0
    assert describe(feature, riskiest[feature], model.typical[feature])


def test_a_buyer_without_a_buying_rhythm_has_it_as_one_reason() -> None:
    """A buyer with one order lacks both rhythm features: one fact, one reason, weighed by
    replacing both with the typical buyer's."""
    orders, visits, last = _population(buyers=1200, days=needed_history_days(30) + 60, seed=4)
    model = train_churn(orders, visits, last, 30)
    scores = model.scores
    one_order = scores[scores["mean_gap_days"].isna()]
    assert len(one_order) > 0
    contributions = model.contributions(one_order)
    assert (contributions["overdue_ratio"] == 0).all()
    swapped = one_order.copy()
    swapped[list(RHYTHM_FEATURES)] = model.typical[list(RHYTHM_FEATURES)].to_numpy()

    def log_odds(frame: pd.DataFrame) -> np.ndarray:
        p = np.clip(model.probabilities(frame), EPSILON, 1 - EPSILON)
        return np.log(p / (1 - p))

    both = log_odds(one_order) - log_odds(swapped)
    assert contributions["mean_gap_days"].to_numpy() == pytest.approx(both, abs=1e-9)
    for reasons in one_order["reasons"]:
        assert "overdue_ratio" not in [feature for feature, _ in reasons]
    # A buyer with a rhythm keeps both, each weighed alone.
    repeat = scores[scores["mean_gap_days"].notna()]
    assert (model.contributions(repeat)["overdue_ratio"] != 0).any()


def test_no_reason_runs_against_a_known_direction() -> None:
    """More orders or visits never raise a buyer's risk, a longer wait never lowers it: no
    buyer's reasons say "7 shop visits in the last 30 days" raised their risk."""
    orders, visits, last = _population(buyers=1200, days=needed_history_days(30) + 60, seed=4)
    model = train_churn(orders, visits, last, 30)
    scores = model.scores
    contributions = model.contributions(scores)
    for feature, direction in MONOTONIC.items():
        above_typical = np.sign(scores[feature] - model.typical[feature]).fillna(0)
        assert (np.sign(contributions[feature]) * above_typical * direction >= 0).all(), feature


def test_value_at_risk_weighs_the_probability_by_the_buyers_pace() -> None:
    """A long-lapsed small buyer near certain to churn is worth less than a regular big one at an
    even chance; a buyer new to the shop is expected to spend what they have spent so far."""
    orders = _orders(
        [("lapsed", 300, PAID, 20_000)]
        + [("regular", d, PAID, 150_000) for d in (200, 150, 100, 50, 20)]
        + [("new", 3, PAID, 50_000)]
    )
    scored = features_at(*_tables(orders), CUTOFF).assign(
        probability=pd.Series({"lapsed": 0.99, "regular": 0.5, "new": 0.8})
    )
    risk = value_at_risk(scored, 30)
    assert risk["lapsed"] == pytest.approx(0.99 * 20_000 / 300 * 30)
    assert risk["regular"] == pytest.approx(0.5 * 750_000 / 200 * 30)
    assert risk["new"] == pytest.approx(0.8 * 50_000)
    assert list(risk.sort_values(ascending=False).index) == ["regular", "new", "lapsed"]


def test_a_shop_without_visitor_traffic_still_gets_a_churn_model() -> None:
    """Orders only (a seller importing Seller Centre order files): the visit features have no
    value at all, which scikit-learn's gradient boosting cannot bin on its own."""
    orders, visits, last = _population(buyers=1200, days=needed_history_days(30) + 60, seed=4)
    model = train_churn(orders, visits.head(0), last, 30)
    assert model.holdout.roc_auc > 0.65
    reasons = {feature for reasons in model.scores["reasons"] for feature, _ in reasons}
    assert reasons
    assert not reasons & {"days_since_visit", "visits_30d"}


def test_too_little_history_says_how_much_is_needed() -> None:
    orders = _orders([("ana", 10, PAID, 1), ("ben", 3, PAID, 1)])
    needed = needed_history_days(30)
    with pytest.raises(
        NotEnoughOrders, match=f"needs at least {needed} days of order history, has 10"
    ):
        train_churn(
            orders,
            pd.DataFrame(columns=["visitor_id", "date", "visits"]),
            CUTOFF - timedelta(days=1),
            30,
        )


def test_reasons_read_plainly() -> None:
    assert describe("recency_days", 74, 21) == "no purchase for 74 days (typical: 21)"
    assert describe("frequency", 1, 5) == "1 order in total (typical: 5)"
    assert (
        describe("monetary_minor", 125_000, 300_000)
        == "spent 1,250.00 in total (typical: 3,000.00)"
    )
    assert (
        describe("avg_order_value_minor", 254_700, 36_008, "THB")
        == "average order THB 2,547.00 (typical: THB 360.08)"
    )
    assert (
        describe("mean_gap_days", float("nan"), 30) == "only one order so far, no buying rhythm yet"
    )
    assert (
        describe("overdue_ratio", 0.2, 1.1)
        == "time since the last order is 0.2x their usual gap (typical: 1.1x)"
    )
