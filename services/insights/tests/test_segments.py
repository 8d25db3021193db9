from __future__ import annotations

import pandas as pd
import pytest

from shopee_insights.domain.segments import NAMES, Algorithm, _name, segment_buyers
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
