from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopee_insights.domain.segments import (
    MIN_RHYTHM_GAPS,
    NAMES,
    Algorithm,
    _name,
    recency_scores,
    repeat_gaps,
    segment_buyers,
)
from shopee_insights.domain.shop_data import ShopData


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_every_buyer_lands_in_one_named_segment(shop: ShopData, algorithm: Algorithm) -> None:
    result = segment_buyers(shop.paid_lines, shop.last_event_at, algorithm)
    assert sum(s.buyers for s in result.segments) == shop.paid_lines["buyer_id"].nunique()
    assert sum(s.revenue_share for s in result.segments) == pytest.approx(1.0)
    names = [s.name for s in result.segments]
    assert len(set(names)) == len(names)
    assert all(n.rstrip(" 0123456789") in NAMES for n in names)
    assert -1.0 <= result.silhouette <= 1.0


def test_names_follow_the_profiles_not_the_cluster_order() -> None:
    profiles = pd.DataFrame(
        {"r": [0.9, 0.1, 0.95], "f": [0.9, 0.2, 0.05], "m": [0.95, 0.2, 0.3]}, index=[0, 1, 2]
    )
    names = [n for n, _ in _name(profiles)]
    reversed_names = [n for n, _ in _name(profiles.iloc[::-1])]
    assert names == reversed_names[::-1]
    assert names[0] == "Champions"
    assert names[2] == "New"


def test_recency_is_scored_against_the_shops_buying_rhythm() -> None:
    gaps = np.arange(1.0, 101.0)  # repeat purchases came 1 to 100 days apart
    recency = pd.Series([0.0, 25.0, 100.0, 400.0], index=["a", "b", "c", "d"])
    # The share of repeat purchases that waited longer than the buyer has.
    assert recency_scores(recency, gaps).tolist() == [1.0, 0.75, 0.0, 0.0]
    # Too few repeat purchases for a rhythm: ranked among the buyers.
    few = gaps[: MIN_RHYTHM_GAPS - 1]
    assert recency_scores(recency, few).tolist() == [0.75, 0.5, 0.25, 0.0]


def _lines(
    buyer: str, days_ago: list[int], amount: int, now: pd.Timestamp
) -> list[dict[str, object]]:
    return [
        {
            "buyer_id": buyer,
            "order_id": f"{buyer}-{i}",
            "occurred_at": now - pd.Timedelta(days=d),
            "paid_minor": amount,
        }
        for i, d in enumerate(days_ago)
    ]


def test_names_read_against_the_shops_rhythm_and_one_off_buyers_are_not_repeat_buyers() -> None:
    """The demo's shape: most buyers bought once, a year or more ago; repeat buyers (an order
    every 45 days or so) went quiet 8 to 10 months ago; the rest bought once in the last months.
    Ranked among the buyers, the first read as middling ("Need attention"), the second as
    "Loyal" and the third as "Potential loyalists", a name for buyers with a second order."""
    now = pd.Timestamp("2026-12-01", tz="UTC")
    rng = np.random.default_rng(3)
    lines = []
    for i in range(600):
        lines += _lines(f"gone{i}", [int(rng.integers(330, 520))], 30_000, now)
    for i in range(150):
        last = int(rng.integers(250, 320))
        lines += _lines(f"lapsed{i}", [last, last + int(rng.integers(30, 60))], 45_000, now)
    for i in range(250):
        lines += _lines(f"recent{i}", [int(rng.integers(10, 100))], 30_000, now)
    paid = pd.DataFrame(lines)
    assert len(repeat_gaps(paid)) == 150  # the shop's rhythm: 30 to 60 days
    result = segment_buyers(paid, now)
    named = {s.segment_id: s.name for s in result.segments}
    assert named[result.labels["gone0"]] in {"Hibernating", "Lost"}
    assert named[result.labels["lapsed0"]] in {"At risk", "Can't lose them"}
    assert named[result.labels["recent0"]] not in {"Potential loyalists", "Loyal", "Champions"}
