"""Planned campaigns as daily regressors.

A campaign is known from its first PLANNED or STARTED event on; its window is the latest
starts_at/ends_at announced. Per shop-local day, `campaign_share` is how much of the day the
shop's campaigns cover (a 2-hour flash sale adds 1/12, a day-long sale 1) and
`campaign_discount` the deepest discount running that day (0 to 1).

Future days see the campaigns announced so far, but shops keep announcing (a flash sale a few
days ahead), so a day after the as-of time never gets less than the shop's recent usual: the
mean of each regressor over the 28 days before it ("business as usual"). Without that, the
future would look campaign-free and every forecast would be biased low. A future marketplace
sale day (a mega sale, another double date) also never gets less than the shop's mean over the
same kind of day in the last year: a shop that ran campaigns on past sale days is likely to run
them on the next, but announces them only days ahead (a week for a mega sale), and a sale day
seen as an ordinary one loses the part of its lift the model learned from its campaigns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopee_common.marketplace import is_double_date, is_mega_sale

REGRESSORS = ("campaign_share", "campaign_discount")
USUAL_DAYS = 28
SALE_DAYS_LOOKBACK = 365


@dataclass(frozen=True)
class Campaign:
    """A campaign as the shop announced it."""

    campaign_id: str
    announced_at: datetime
    starts_at: datetime
    ends_at: datetime
    discount_percent: float = 0.0
    product_ids: frozenset[str] = frozenset()

    def applies_to(self, product_id: str) -> bool:
        """Shop-wide campaigns (no products named) apply to every product."""
        return not product_id or not self.product_ids or product_id in self.product_ids


def campaign_regressors(
    days: pd.DatetimeIndex,
    campaigns: Iterable[Campaign],
    time_zone: str,
    known_at: datetime | None = None,
    product_id: str = "",
) -> pd.DataFrame:
    """The regressor columns for `days` (shop-local dates), from the campaigns announced by
    `known_at` (all of them if None) that apply to `product_id` ('' = the whole shop)."""
    zone = ZoneInfo(time_zone)
    share = np.zeros(len(days))
    discount = np.zeros(len(days))
    if len(days) == 0:
        return pd.DataFrame({"ds": days, "campaign_share": share, "campaign_discount": discount})
    first = days[0].date()
    for campaign in campaigns:
        if known_at is not None and campaign.announced_at > known_at:
            continue
        if not campaign.applies_to(product_id) or campaign.ends_at <= campaign.starts_at:
            continue
        local_start = campaign.starts_at.astimezone(zone)
        local_end = campaign.ends_at.astimezone(zone)
        day: date = local_start.date()
        while day <= local_end.date():
            index = (day - first).days
            if 0 <= index < len(days):
                day_start = datetime(day.year, day.month, day.day, tzinfo=zone)
                day_end = day_start + timedelta(days=1)
                overlap = (min(local_end, day_end) - max(local_start, day_start)).total_seconds()
                # A campaign ending at midnight touches the next day's date but none of its time.
                if overlap > 0:
                    share[index] += overlap / 86_400
                    discount[index] = max(discount[index], campaign.discount_percent / 100)
            day += timedelta(days=1)
    return pd.DataFrame({"ds": days, "campaign_share": share, "campaign_discount": discount})


@dataclass(frozen=True)
class CampaignRegressors:
    """The regressors of one series (a picklable callable, for worker processes)."""

    campaigns: tuple[Campaign, ...]
    time_zone: str
    product_id: str = ""

    def __call__(self, days: pd.DatetimeIndex, known_at: datetime | None) -> pd.DataFrame:
        """The regressors of `days` as known at `known_at` (None: now), with days after it
        raised to the recent usual, and sale days to the usual on their kind of day."""
        as_of = known_at or datetime.now(ZoneInfo("UTC"))
        frame = campaign_regressors(days, self.campaigns, self.time_zone, known_at, self.product_id)
        today = as_of.astimezone(ZoneInfo(self.time_zone)).date()
        future = np.asarray(days.date > today) if len(days) else np.zeros(0, dtype=bool)
        if not future.any():
            return frame
        recent = pd.date_range(today - timedelta(days=USUAL_DAYS - 1), today, freq="D")
        usual = campaign_regressors(recent, self.campaigns, self.time_zone, None, self.product_id)
        past_days = pd.date_range(today - timedelta(days=SALE_DAYS_LOOKBACK - 1), today, freq="D")
        past = campaign_regressors(past_days, self.campaigns, self.time_zone, None, self.product_id)
        kinds, past_kinds = _sale_kinds(days), _sale_kinds(past_days)
        for column in REGRESSORS:
            floor = np.full(len(days), usual[column].mean())
            for kind in ("mega_sale", "double_date"):
                same_kind = past[column][past_kinds == kind].mean()
                floor[kinds == kind] = np.maximum(floor[kinds == kind], same_kind)
            frame.loc[future, column] = np.maximum(frame.loc[future, column], floor[future])
        return frame


def _sale_kinds(days: pd.DatetimeIndex) -> npt.NDArray[np.str_]:
    """Per day, the kind of marketplace sale it is: "mega_sale", "double_date" or "" (none)."""
    return np.array(
        [
            "mega_sale" if is_mega_sale(day) else "double_date" if is_double_date(day) else ""
            for day in days.date
        ]
    )


def no_regressors(days: pd.DatetimeIndex, known_at: datetime | None) -> pd.DataFrame:
    """For series without campaigns (public data sets): no regressor columns."""
    return pd.DataFrame({"ds": days})
