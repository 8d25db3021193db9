"""Buyer churn: the probability that a buyer makes no purchase in the next N days.

Features are RFM and behaviour as of a cutoff day; the label is "no paid order in the N days
from the cutoff". Training stacks several past cutoffs whose label windows end before the
holdout cutoff (a time split: nothing the holdout labels depend on is seen in training).
scikit-learn's HistGradientBoostingClassifier, calibrated with CalibratedClassifierCV, is
compared with a recency-only logistic regression on the holdout (ROC AUC, Brier score).

Reasons per buyer: for each feature, the change in the model's churn log-odds when that buyer's
value is replaced by the typical (median) buyer's. It costs one batch prediction per feature,
reads directly as "how much this feature moves this buyer's risk", and for an additive model
equals the exact contribution; with interactions it is the effect of that one feature given the
others (an occlusion / one-at-a-time attribution, not a Shapley split).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin  # type: ignore[import-untyped]
from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.metrics import brier_score_loss, roc_auc_score  # type: ignore[import-untyped]
from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from shopee_forecast.domain.accuracy import FloatArray

PAID = "ORDER_STATUS_PAID"
RETURNED = "ORDER_STATUS_RETURNED"
CANCELLED = "ORDER_STATUS_CANCELLED"
FEATURES = (
    "recency_days",
    "frequency",
    "monetary_minor",
    "avg_order_value_minor",
    "tenure_days",
    "mean_gap_days",
    "overdue_ratio",
    "orders_90d",
    "visits_30d",
    "days_since_visit",
    "returns",
    "cancellations",
)
# The direction each feature may move the churn risk, where it is known before any data: more
# orders and visits lower it, a longer wait since the last order or visit raises it. Without these
# the boosting learnt bumps of its own sample (a buyer's reasons could say their 7 visits in a
# month raised their risk). The rest (spend, tenure, rhythm, returns) may go either way: a buyer
# whose usual gap has not passed yet is less likely to buy now than one who is due.
MONOTONIC = {
    "recency_days": 1,
    "frequency": -1,
    "orders_90d": -1,
    "visits_30d": -1,
    "days_since_visit": 1,
}
TRAINING_CUTOFFS = 4
CUTOFF_STEP_DAYS = 14
MIN_FEATURE_DAYS = 28
TOP_REASONS = 3
# What a buyer with one order lacks: both describe one fact ("no buying rhythm yet"), so for such
# a buyer they are one reason, whose contribution is that of replacing both together.
RHYTHM_FEATURES = ("mean_gap_days", "overdue_ratio")
# Buyers with no paid order in this many days before a cutoff are past churning: left out.
ACTIVE_DAYS = 365
EPSILON = 1e-6


class NotEnoughOrders(ValueError):
    """Too little order history (or only one outcome) to train and check a churn model."""


def needed_history_days(horizon_days: int) -> int:
    """Days of order history training needs: features, the training labels, the holdout labels."""
    return MIN_FEATURE_DAYS + (TRAINING_CUTOFFS - 1) * CUTOFF_STEP_DAYS + 2 * horizon_days


def _ordinals(dates: pd.Series) -> npt.NDArray[np.int64]:
    """Calendar days as integers (date.toordinal), so comparisons and min/max are vectorised."""
    return np.asarray(dates.map(date.toordinal), dtype=np.int64)


def features_at(orders: pd.DataFrame, visits: pd.DataFrame, cutoff: date) -> pd.DataFrame:
    """One row per buyer with a paid order in the ACTIVE_DAYS before `cutoff` (index buyer_id,
    columns FEATURES), from what happened before the cutoff.

    `orders`: buyer_id, day (date.toordinal of the shop-local day), status, gmv_minor;
    `visits`: visitor_id, day, visits.
    """
    today = cutoff.toordinal()
    before = orders[orders["day"] < today]
    paid = before[before["status"] == PAID]
    grouped = paid.groupby("buyer_id")
    first, last = grouped["day"].min(), grouped["day"].max()
    frame = pd.DataFrame(
        {
            "recency_days": (today - last).astype("float64"),
            "frequency": grouped.size().astype("float64"),
            "monetary_minor": grouped["gmv_minor"].sum().astype("float64"),
            "tenure_days": (today - first).astype("float64"),
        }
    )
    frame = frame[frame["recency_days"] <= ACTIVE_DAYS]
    frame["avg_order_value_minor"] = frame["monetary_minor"] / frame["frequency"]
    gaps = (frame["tenure_days"] - frame["recency_days"]) / (frame["frequency"] - 1)
    frame["mean_gap_days"] = gaps.where(frame["frequency"] > 1)
    frame["overdue_ratio"] = frame["recency_days"] / frame["mean_gap_days"].clip(lower=1)
    recent = paid[paid["day"] >= today - 90].groupby("buyer_id").size()
    frame["orders_90d"] = recent.reindex(frame.index, fill_value=0).astype("float64")
    for status, column in ((RETURNED, "returns"), (CANCELLED, "cancellations")):
        counts = before[before["status"] == status].groupby("buyer_id").size()
        frame[column] = counts.reindex(frame.index, fill_value=0).astype("float64")
    seen = visits[(visits["day"] < today) & visits["visitor_id"].isin(frame.index)]
    last_visit = seen.groupby("visitor_id")["day"].max()
    frame["days_since_visit"] = (today - last_visit).reindex(frame.index).astype("float64")
    month = seen[seen["day"] >= today - 30].groupby("visitor_id")["visits"].sum()
    frame["visits_30d"] = month.reindex(frame.index, fill_value=0).astype("float64")
    return frame[list(FEATURES)]


def labels_at(orders: pd.DataFrame, cutoff: date, horizon_days: int, buyers: pd.Index) -> pd.Series:
    """1 for each buyer with no paid order in [cutoff, cutoff + horizon_days), else 0."""
    today = cutoff.toordinal()
    window = orders[
        (orders["status"] == PAID)
        & (orders["day"] >= today)
        & (orders["day"] < today + horizon_days)
    ]
    return pd.Series((~buyers.isin(window["buyer_id"])).astype("int64"), index=buyers)


def with_days(orders: pd.DataFrame, visits: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tables with a `day` ordinal column added from their `date` column."""
    return (
        orders.assign(day=_ordinals(orders["date"])),
        visits.assign(day=_ordinals(visits["date"])),
    )


def _stack(
    orders: pd.DataFrame, visits: pd.DataFrame, cutoffs: list[date], horizon_days: int
) -> tuple[pd.DataFrame, pd.Series]:
    features, labels = [], []
    for cutoff in cutoffs:
        frame = features_at(orders, visits, cutoff)
        features.append(frame)
        labels.append(labels_at(orders, cutoff, horizon_days, frame.index))
    return pd.concat(features), pd.concat(labels)


class EmptyColumnsAsZero(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """Sets the columns that had no value in any row it was fitted on to 0.

    A shop whose buyers have no visitor-level traffic (orders from Seller Centre files only) has
    no visit features at all, and scikit-learn's HistGradientBoosting fails on a column without
    a single value ("window shape cannot be larger than input array shape" from binning it). A
    column constant while fitting is never split on, so the model is otherwise unchanged."""

    def fit(self, x: pd.DataFrame, y: object = None) -> EmptyColumnsAsZero:
        self.empty_ = np.isnan(np.asarray(x, dtype=np.float64)).all(axis=0)
        return self

    def transform(self, x: pd.DataFrame) -> FloatArray:
        values = np.array(x, dtype=np.float64)
        values[:, self.empty_] = 0.0
        return values


def _classifier(rows: int) -> CalibratedClassifierCV:
    boosted = make_pipeline(
        EmptyColumnsAsZero(),
        HistGradientBoostingClassifier(
            max_iter=200,
            learning_rate=0.05,
            max_leaf_nodes=15,
            l2_regularization=1.0,
            monotonic_cst=[MONOTONIC.get(feature, 0) for feature in FEATURES],
            random_state=0,
        ),
    )
    # Isotonic needs plenty of rows per fold; Platt scaling is safer on small shops.
    return CalibratedClassifierCV(boosted, method="isotonic" if rows >= 3000 else "sigmoid", cv=3)


def _recency_baseline() -> LogisticRegression:
    return LogisticRegression()


def _recency(frame: pd.DataFrame) -> FloatArray:
    return np.asarray(
        np.log1p(frame[["recency_days"]].to_numpy(dtype=np.float64)), dtype=np.float64
    )


@dataclass
class HoldoutScores:
    roc_auc: float
    brier: float
    baseline_roc_auc: float
    baseline_brier: float
    buyers: int
    churn_rate: float


@dataclass
class ChurnModel:
    """A calibrated churn classifier, its holdout scores and the shop's buyers scored with it."""

    horizon_days: int
    scored_at: date
    classifier: CalibratedClassifierCV
    typical: pd.Series  # median of each feature over the training rows
    holdout: HoldoutScores
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)  # see score()

    def probabilities(self, frame: pd.DataFrame) -> FloatArray:
        return np.asarray(
            self.classifier.predict_proba(frame[list(FEATURES)])[:, 1], dtype=np.float64
        )

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per buyer and feature: churn log-odds now minus with the typical value. A buyer
        without a buying rhythm has the effect of both rhythm features under the first and 0
        under the second (one fact, one reason)."""
        base = _logit(self.probabilities(frame))
        columns = {}
        for feature in FEATURES:
            columns[feature] = base - self._logit_with_typical(frame, [feature])
        no_rhythm = frame[list(RHYTHM_FEATURES)].isna().all(axis=1).to_numpy()
        if no_rhythm.any():
            both = base - self._logit_with_typical(frame, list(RHYTHM_FEATURES))
            first, second = RHYTHM_FEATURES
            columns[first] = np.where(no_rhythm, both, columns[first])
            columns[second] = np.where(no_rhythm, 0.0, columns[second])
        return pd.DataFrame(columns, index=frame.index)

    def _logit_with_typical(self, frame: pd.DataFrame, features: list[str]) -> FloatArray:
        swapped = frame.copy()
        swapped[features] = self.typical[features].to_numpy()
        return _logit(self.probabilities(swapped))


def _logit(p: FloatArray) -> FloatArray:
    clipped = np.clip(p, EPSILON, 1 - EPSILON)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=np.float64)


def _cutoffs(last: date) -> list[date]:
    """Training cutoffs ending at `last`, every CUTOFF_STEP_DAYS back."""
    return [last - timedelta(days=CUTOFF_STEP_DAYS * k) for k in range(TRAINING_CUTOFFS)]


def _holdout(
    classifier: CalibratedClassifierCV,
    baseline: LogisticRegression,
    test_x: pd.DataFrame,
    test_y: pd.Series,
) -> HoldoutScores:
    predicted = classifier.predict_proba(test_x)[:, 1]
    baseline_predicted = baseline.predict_proba(_recency(test_x))[:, 1]
    return HoldoutScores(
        roc_auc=float(roc_auc_score(test_y, predicted)),
        brier=float(brier_score_loss(test_y, predicted)),
        baseline_roc_auc=float(roc_auc_score(test_y, baseline_predicted)),
        baseline_brier=float(brier_score_loss(test_y, baseline_predicted)),
        buyers=len(test_y),
        churn_rate=float(test_y.mean()),
    )


def train_churn(
    orders: pd.DataFrame, visits: pd.DataFrame, last_day: date, horizon_days: int
) -> ChurnModel:
    """Train on past cutoffs, score the holdout cutoff, refit with the newest labels and score
    every active buyer as of the day after `last_day` (the last complete day).

    `orders`: buyer_id, date (shop-local), status, gmv_minor; `visits`: visitor_id, date, visits.
    """
    needed = needed_history_days(horizon_days)
    available = (last_day - orders["date"].min()).days + 1 if len(orders) else 0
    if available < needed:
        raise NotEnoughOrders(
            f"churn over {horizon_days} days needs at least {needed} days of order history, "
            f"has {available}"
        )
    orders, visits = with_days(orders, visits)
    holdout_cutoff = last_day + timedelta(days=1 - horizon_days)
    train_x, train_y = _stack(
        orders, visits, _cutoffs(holdout_cutoff - timedelta(days=horizon_days)), horizon_days
    )
    test_x = features_at(orders, visits, holdout_cutoff)
    test_y = labels_at(orders, holdout_cutoff, horizon_days, test_x.index)
    for name, labels in (("training", train_y), ("holdout", test_y)):
        if labels.nunique() < 2:
            raise NotEnoughOrders(
                f"the {name} buyers all have the same outcome; churn needs both buyers who "
                "came back and buyers who did not"
            )
    final_x, final_y = _stack(orders, visits, _cutoffs(holdout_cutoff), horizon_days)
    scored_at = last_day + timedelta(days=1)
    with threadpool_limits(1):
        # Shops train in parallel processes: one thread each avoids oversubscribing the cores.
        holdout = _holdout(
            _classifier(len(train_x)).fit(train_x, train_y),
            _recency_baseline().fit(_recency(train_x), train_y),
            test_x,
            test_y,
        )
        model = ChurnModel(
            horizon_days=horizon_days,
            scored_at=scored_at,
            classifier=_classifier(len(final_x)).fit(final_x, final_y),
            typical=final_x.median(numeric_only=True),
            holdout=holdout,
        )
        model.scores = score(model, features_at(orders, visits, scored_at))
    return model


def score(model: ChurnModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Per buyer, highest risk first: probability, the features, and the top reasons as
    (feature, contribution) pairs in `reasons` (the features that raise the risk most; if none
    does, the ones that move it most)."""
    if frame.empty:
        return frame.assign(probability=pd.Series(dtype="float64"), reasons=pd.Series(dtype=object))
    contributions = model.contributions(frame).to_numpy()
    reasons = []
    for row in contributions:
        ranked = np.argsort(-row)[:TOP_REASONS]
        chosen = [i for i in ranked if row[i] > 0] or [
            i for i in np.argsort(-np.abs(row)) if row[i] != 0
        ][:TOP_REASONS]
        reasons.append([(FEATURES[i], float(row[i])) for i in chosen])
    scored = frame.assign(probability=model.probabilities(frame))
    scored["reasons"] = pd.Series(reasons, index=frame.index, dtype=object)
    return scored.sort_values("probability", ascending=False)


def spend_pace(features: pd.DataFrame, horizon_days: int) -> pd.Series:
    """Per buyer, what they would spend in `horizon_days` at their pace so far, in minor units:
    total spend over the days since their first order. The days are at least the horizon, so a
    buyer new to the shop is expected to spend what they have spent so far, not a month's worth
    of a first day's order."""
    days = features["tenure_days"].clip(lower=horizon_days)
    return features["monetary_minor"] / days * horizon_days


def value_at_risk(scored: pd.DataFrame, horizon_days: int) -> pd.Series:
    """Per buyer, what churning would cost the shop in the horizon: the churn probability times
    their spend pace. It ranks the buyers worth winning back above the long-lapsed ones whose
    probability is near 1 and whose spend was small."""
    return scored["probability"] * spend_pace(scored, horizon_days)


def _count(value: float, one: str, many: str) -> str:
    number = round(value)
    return f"{number} {one if number == 1 else many}"


def _money(minor: float, currency: str) -> str:
    return f"{currency} {minor / 100:,.2f}".lstrip()


def describe(feature: str, value: float, typical: float, currency: str = "") -> str:
    """A plain-language reason, e.g. "no purchase for 74 days (typical: 21)"; amounts in the
    shop's `currency` when given ("spent THB 1,958.00 in total")."""
    if value != value:  # NaN: a feature the buyer has no data for
        missing = {
            **dict.fromkeys(RHYTHM_FEATURES, "only one order so far, no buying rhythm yet"),
            "days_since_visit": "no recorded shop visit",
        }
        return missing.get(feature, f"{feature.replace('_', ' ')} unknown")
    t = f"typical: {typical:,.0f}" if typical == typical else "typical: unknown"
    texts = {
        "recency_days": f"no purchase for {value:,.0f} days ({t})",
        "frequency": f"{_count(value, 'order', 'orders')} in total ({t})",
        "monetary_minor": (
            f"spent {_money(value, currency)} in total (typical: {_money(typical, currency)})"
        ),
        "avg_order_value_minor": (
            f"average order {_money(value, currency)} (typical: {_money(typical, currency)})"
        ),
        "tenure_days": f"first order {value:,.0f} days ago ({t})",
        "mean_gap_days": f"buys every {value:,.0f} days on average ({t})",
        "overdue_ratio": (
            f"time since the last order is {value:,.1f}x their usual gap (typical: {typical:,.1f}x)"
        ),
        "orders_90d": f"{_count(value, 'order', 'orders')} in the last 90 days ({t})",
        "visits_30d": f"{_count(value, 'shop visit', 'shop visits')} in the last 30 days ({t})",
        "days_since_visit": f"last visit {value:,.0f} days ago ({t})",
        "returns": f"returned {_count(value, 'order', 'orders')} ({t})",
        "cancellations": f"cancelled {_count(value, 'order', 'orders')} ({t})",
    }
    return texts[feature]
