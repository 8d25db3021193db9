"""Campaign regressors: share of the local day, deepest discount, what was known when."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from shopee_forecast.domain.campaigns import Campaign, CampaignRegressors, campaign_regressors

ZONE = "Asia/Jakarta"  # UTC+7
DAYS = pd.date_range("2025-11-10", periods=3, freq="D")


def _campaign(
    start: datetime, end: datetime, announced: datetime, products: frozenset[str] = frozenset()
) -> Campaign:
    return Campaign("c1", announced, start, end, 25.0, products)


def test_a_flash_sale_covers_its_share_of_the_local_day() -> None:
    # 13:00-15:00 UTC on the 11th is 20:00-22:00 in Jakarta: 2 hours of the 11th.
    sale = _campaign(
        datetime(2025, 11, 11, 13, tzinfo=UTC),
        datetime(2025, 11, 11, 15, tzinfo=UTC),
        datetime(2025, 11, 4, tzinfo=UTC),
    )
    frame = campaign_regressors(DAYS, [sale], ZONE)
    assert frame["campaign_share"].round(4).tolist() == [0.0, round(2 / 24, 4), 0.0]
    assert frame["campaign_discount"].tolist() == [0.0, 0.25, 0.0]


def test_a_campaign_crossing_local_midnight_is_split_between_the_days() -> None:
    sale = _campaign(
        datetime(2025, 11, 10, 15, tzinfo=UTC),  # 22:00 local on the 10th
        datetime(2025, 11, 10, 19, tzinfo=UTC),  # 02:00 local on the 11th
        datetime(2025, 11, 1, tzinfo=UTC),
    )
    share = campaign_regressors(DAYS, [sale], ZONE)["campaign_share"].round(4).tolist()
    assert share == [round(2 / 24, 4), round(2 / 24, 4), 0.0]


def test_a_campaign_ending_at_local_midnight_leaves_the_next_day_alone() -> None:
    sale = _campaign(
        datetime(2025, 11, 10, 17, tzinfo=UTC),  # 00:00 local on the 11th
        datetime(2025, 11, 11, 17, tzinfo=UTC),  # 00:00 local on the 12th
        datetime(2025, 11, 1, tzinfo=UTC),
    )
    frame = campaign_regressors(DAYS, [sale], ZONE)
    assert frame["campaign_share"].tolist() == [0.0, 1.0, 0.0]
    assert frame["campaign_discount"].tolist() == [0.0, 0.25, 0.0]


def test_only_campaigns_announced_by_then_are_known() -> None:
    sale = _campaign(
        datetime(2025, 11, 11, 1, tzinfo=UTC),
        datetime(2025, 11, 11, 3, tzinfo=UTC),
        datetime(2025, 11, 9, 12, tzinfo=UTC),
    )
    before = campaign_regressors(DAYS, [sale], ZONE, known_at=datetime(2025, 11, 9, tzinfo=UTC))
    after = campaign_regressors(DAYS, [sale], ZONE, known_at=datetime(2025, 11, 10, tzinfo=UTC))
    assert before["campaign_share"].sum() == 0
    assert after["campaign_share"].sum() > 0


def test_product_series_see_their_own_and_shop_wide_campaigns() -> None:
    start, end = datetime(2025, 11, 11, 1, tzinfo=UTC), datetime(2025, 11, 11, 2, tzinfo=UTC)
    named = _campaign(start, end, start, frozenset({"P1"}))
    assert campaign_regressors(DAYS, [named], ZONE, product_id="P1")["campaign_share"].sum() > 0
    assert campaign_regressors(DAYS, [named], ZONE, product_id="P2")["campaign_share"].sum() == 0
    assert campaign_regressors(DAYS, [named], ZONE)["campaign_share"].sum() > 0
    shop_wide = _campaign(start, end, start)
    assert campaign_regressors(DAYS, [shop_wide], ZONE, product_id="P2")["campaign_share"].sum() > 0


def test_a_future_sale_day_gets_the_shops_usual_on_that_kind_of_day() -> None:
    # A day-long 25% sale on each mega sale of the last year, announced a week ahead.
    sales = []
    for day in (date(2024, 11, 11), date(2024, 12, 12), date(2025, 9, 9), date(2025, 10, 10)):
        start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(ZONE))
        sales.append(
            Campaign(
                f"mega-{day}", start - timedelta(days=7), start, start + timedelta(days=1), 25.0
            )
        )
    # On 1 November the 11.11 sale is not announced yet: it is a mega sale like the last four.
    frame = CampaignRegressors(tuple(sales), ZONE)(DAYS, datetime(2025, 11, 1, tzinfo=UTC))
    # The other days get the recent usual: one sale day (10.10) in the 28 days before.
    assert frame["campaign_share"].round(4).tolist() == [round(1 / 28, 4), 1.0, round(1 / 28, 4)]
    assert frame["campaign_discount"].iloc[1] == 0.25
