"""Buyer x product interactions: what the recommender learns from, and how it is scored.

A purchase says more than an add-to-cart, which says more than a view, so each event adds its
weight to the buyer-product cell (`visitor_id` of traffic = `buyer_id` of orders). Evaluation
holds out the last days (or each buyer's last purchase) and asks for the held-out purchases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopee_insights.domain.shop_data import ShopData

PURCHASE_WEIGHT = 8.0
CART_WEIGHT = 3.0
VIEW_WEIGHT = 1.0
TRAFFIC_WEIGHTS = {
    "TRAFFIC_KIND_PRODUCT_VIEW": VIEW_WEIGHT,
    "TRAFFIC_KIND_ADD_TO_CART": CART_WEIGHT,
}
COLUMNS = ["buyer_id", "product_id", "weight", "purchase", "order_id", "occurred_at"]


def shop_interactions(data: ShopData) -> pd.DataFrame:
    """One row per interaction event: buyer_id, product_id, weight, purchase (bool), order_id
    ('' for traffic), occurred_at. Bot visitors (`guest-...`) and anonymous events are dropped."""
    lines = data.paid_lines
    purchases = pd.DataFrame(
        {
            "buyer_id": lines["buyer_id"],
            "product_id": lines["product_id"],
            "weight": PURCHASE_WEIGHT,
            "purchase": True,
            "order_id": lines["order_id"],
            "occurred_at": lines["occurred_at"],
        }
    )
    traffic = data.traffic[data.traffic["kind"].isin(list(TRAFFIC_WEIGHTS))]
    browsing = pd.DataFrame(
        {
            "buyer_id": traffic["visitor_id"],
            "product_id": traffic["product_id"],
            "weight": traffic["kind"].map(TRAFFIC_WEIGHTS).astype(float),
            "purchase": False,
            "order_id": "",
            "occurred_at": traffic["occurred_at"],
        }
    )
    frames = [frame for frame in (purchases, browsing) if len(frame)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    both = pd.concat(frames, ignore_index=True)
    keep = (both["buyer_id"] != "") & (both["product_id"] != "")
    keep &= ~both["buyer_id"].str.startswith("guest-")
    return both[keep].reset_index(drop=True)


@dataclass(frozen=True)
class Holdout:
    """Interactions to train on, and per test buyer the products they went on to buy."""

    train: pd.DataFrame
    relevant: dict[str, set[str]]


def split_by_time(interactions: pd.DataFrame, holdout_days: int) -> Holdout:
    """Train on everything before the last `holdout_days`; test buyers are those known in
    training who bought in the holdout, and what they bought there is relevant."""
    cutoff = interactions["occurred_at"].max() - pd.Timedelta(days=holdout_days)
    train = interactions[interactions["occurred_at"] <= cutoff]
    later = interactions[(interactions["occurred_at"] > cutoff) & interactions["purchase"]]
    known = set(train["buyer_id"])
    later = later[later["buyer_id"].isin(known)]
    relevant = later.groupby("buyer_id")["product_id"].agg(set)
    return Holdout(train=train, relevant={str(b): set(p) for b, p in relevant.items()})


def split_last_purchase(interactions: pd.DataFrame, min_purchases: int = 5) -> Holdout:
    """Leave-last-out: for buyers with at least `min_purchases` purchase lines, the products of
    their last order are held out; everything else trains (real data with thin histories)."""
    purchases = interactions[interactions["purchase"]].sort_values("occurred_at")
    counts = purchases.groupby("buyer_id").size()
    eligible = purchases[purchases["buyer_id"].isin(counts[counts >= min_purchases].index)]
    last_order = eligible.groupby("buyer_id")["order_id"].last()
    held = eligible[eligible["order_id"].eq(eligible["buyer_id"].map(last_order))]
    train = interactions.drop(index=held.index)
    relevant = held.groupby("buyer_id")["product_id"].agg(set)
    known = set(train["buyer_id"])
    return Holdout(
        train=train, relevant={str(b): set(p) for b, p in relevant.items() if b in known}
    )


def ndcg_at(ranked: list[str], relevant: set[str], k: int) -> float:
    """Binary-relevance NDCG@k: DCG of the list over the DCG of a perfect list."""
    gains = np.array([1.0 if p in relevant else 0.0 for p in ranked[:k]])
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = discounts[: min(len(relevant), k)].sum()
    return float((gains * discounts[: len(gains)]).sum() / ideal) if ideal else 0.0


def ranking_scores(
    rankings: dict[str, list[str]], relevant: dict[str, set[str]], k: int = 10
) -> dict[str, float]:
    """Mean precision@k, recall@k and NDCG@k over the test buyers (a missing ranking counts 0)."""
    precision: list[float] = []
    recall: list[float] = []
    ndcg: list[float] = []
    for buyer, wanted in relevant.items():
        ranked = rankings.get(buyer, [])[:k]
        hits = sum(1 for p in ranked if p in wanted)
        precision.append(hits / k)
        recall.append(hits / len(wanted))
        ndcg.append(ndcg_at(ranked, wanted, k))
    count = len(relevant)
    return {
        f"precision@{k}": float(np.mean(precision)) if count else 0.0,
        f"recall@{k}": float(np.mean(recall)) if count else 0.0,
        f"ndcg@{k}": float(np.mean(ndcg)) if count else 0.0,
        "buyers": float(count),
    }


def popularity_rankings(
    train: pd.DataFrame, buyers: list[str], exclude: dict[str, set[str]], k: int
) -> dict[str, list[str]]:
    """The baseline: most purchased products in training, minus what each buyer may not get."""
    counts = train[train["purchase"]].groupby("product_id").size().sort_values(ascending=False)
    order: list[str] = counts.index.tolist()
    return {b: [p for p in order if p not in exclude.get(b, set())][:k] for b in buyers}


def as_index(values: pd.Series) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Integer codes of a column and the labels they stand for."""
    codes, labels = pd.factorize(values, sort=True)
    return codes.astype(np.int64), [str(label) for label in labels]
