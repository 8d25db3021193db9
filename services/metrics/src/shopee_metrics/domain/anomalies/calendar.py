"""The marketplace calendar and planned campaigns, as the detector needs them (pure).

Which days are sales, paydays and the Eid holiday comes from the platform's shared calendar
(`shopee_common.marketplace`); here they become kinds of day: buyers hold back a day or two before a
mega sale and finish their carts after it, and in the markets that observe Ramadan shopping goes
quiet for the holiday week after Eid al-Fitr. Sellers announce their own campaigns (flash sales,
vouchers, live streams) ahead with a PLANNED event.

Traffic on sale days and in campaign hours is expected to be higher than the ordinary baseline by
an amount that varies from one sale to the next, so the detector never calls a rise in traffic
there an anomaly (nor a fall during the Eid holiday); the ratios of the KPI tree (conversion,
add-to-cart, checkout completion) are still judged, because sales do not make them collapse.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from shopee_common.marketplace import (
    RAMADAN_MARKETS,
    is_double_date,
    is_mega_sale,
    is_payday,
    ramadan_and_eid,
)

# Days around a mega sale when buyers wait for it, and when they finish their carts after it.
DAYS_BEFORE_MEGA_SALE = (1, 2)
DAYS_AFTER_SALE = (1, 2)
EID_HOLIDAY_DAYS = 7


class DayKind(StrEnum):
    ORDINARY = "ordinary"
    PAYDAY = "payday"
    DOUBLE_DATE = "double_date"
    MEGA_SALE = "mega_sale"
    BEFORE_MEGA_SALE = "before_mega_sale"
    AFTER_SALE = "after_sale"
    HOLIDAY = "holiday"
    # Not a day: an hour of an ordinary day (or payday) inside a planned campaign's window.
    CAMPAIGN = "campaign"


# Kinds whose hours feed the ordinary baseline; the rest are compared with their own history.
BASELINE_KINDS = frozenset({DayKind.ORDINARY, DayKind.PAYDAY})
# Kinds on which more traffic than usual is the plan, not an anomaly.
SALE_KINDS = frozenset(
    {DayKind.DOUBLE_DATE, DayKind.MEGA_SALE, DayKind.AFTER_SALE, DayKind.CAMPAIGN}
)
# Kinds on which less traffic than usual is expected.
QUIET_KINDS = frozenset({DayKind.HOLIDAY, DayKind.BEFORE_MEGA_SALE})
DAY_KINDS: tuple[DayKind, ...] = tuple(DayKind)


def is_eid_holiday(day: date, market: str) -> bool:
    """The week from Eid al-Fitr, in the markets that observe Ramadan."""
    if market not in RAMADAN_MARKETS:
        return False
    return 0 <= (day - ramadan_and_eid(day.year)[1]).days < EID_HOLIDAY_DAYS


def day_kind(day: date, market: str = "") -> DayKind:
    """What kind of marketplace day a local date is in a market (the strongest effect wins)."""
    if is_eid_holiday(day, market):
        return DayKind.HOLIDAY
    if is_mega_sale(day):
        return DayKind.MEGA_SALE
    if is_double_date(day):
        return DayKind.DOUBLE_DATE
    if any(is_mega_sale(day + timedelta(days=offset)) for offset in DAYS_BEFORE_MEGA_SALE):
        return DayKind.BEFORE_MEGA_SALE
    if any(is_mega_sale(day - timedelta(days=offset)) for offset in DAYS_AFTER_SALE) or (
        is_double_date(day - timedelta(days=1))
    ):
        return DayKind.AFTER_SALE
    if is_payday(day, market):
        return DayKind.PAYDAY
    return DayKind.ORDINARY


@dataclass(frozen=True, slots=True)
class PlannedCampaign:
    """A campaign announced ahead by the seller (a PLANNED campaign event)."""

    campaign_id: str
    name: str
    starts_at: datetime
    ends_at: datetime


class CampaignCalendar:
    """The planned campaign windows of one shop, for asking whether an hour overlaps one."""

    def __init__(self, campaigns: Iterable[PlannedCampaign] = ()) -> None:
        self._by_id: dict[str, PlannedCampaign] = {}
        self._starts: list[datetime] = []
        self._windows: list[PlannedCampaign] = []
        self.add(campaigns)

    def add(self, campaigns: Iterable[PlannedCampaign]) -> None:
        """Add or replace (by campaign id) planned campaigns."""
        changed = False
        for campaign in campaigns:
            if campaign.ends_at > campaign.starts_at:
                self._by_id[campaign.campaign_id] = campaign
                changed = True
        if changed:
            self._windows = sorted(self._by_id.values(), key=lambda c: c.starts_at)
            self._starts = [c.starts_at for c in self._windows]

    def active(self, start: datetime, end: datetime) -> list[PlannedCampaign]:
        """The campaigns whose window overlaps [start, end)."""
        upto = bisect_right(self._starts, end)
        return [c for c in self._windows[:upto] if c.ends_at > start and c.starts_at < end]

    def forget_before(self, instant: datetime) -> None:
        """Drop campaigns that ended before `instant` (they can no longer matter)."""
        kept = [c for c in self._windows if c.ends_at >= instant]
        if len(kept) != len(self._windows):
            self._by_id = {c.campaign_id: c for c in kept}
            self._windows = kept
            self._starts = [c.starts_at for c in kept]

    def __len__(self) -> int:
        return len(self._windows)
