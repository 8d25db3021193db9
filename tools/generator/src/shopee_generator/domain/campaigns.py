"""What each shop runs: double-date sales, flash sales, vouchers, live streams, always-on ads.

The plan for a date is drawn from a stream keyed by that date, so it is the same whatever day a
run starts on. Every campaign is announced (CampaignEvent PLANNED) some days before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from shopee.events.v1 import events_pb2
from shopee_generator.domain.calendar import is_double_date, is_mega_sale, payday_factor
from shopee_generator.domain.clock import DAY_MS, HOUR_MS, MINUTE_MS, local_midnight_ms
from shopee_generator.domain.seeds import Stream, rng_for
from shopee_generator.domain.shop import AdsChannelModel, Shop, round_price, to_minor

MAX_DURATION_DAYS = 3
# Days between the announcement and the start, by campaign type.
LEAD_DAYS = {"mega": 7, "double": 3, "flash": 2, "voucher": 1, "live": 1}
FLASH_SLOTS = ((0, 2), (12, 14), (18, 20), (21, 24))
ADS_BUDGET_BLOCK_DAYS = 14
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True)
class VoucherTerms:
    code: str
    percent: float
    min_spend_minor: int
    cap_minor: int
    funded_by: int  # events_pb2.VoucherFunding


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    kind: int  # events_pb2.CampaignKind
    name: str
    starts_ms: int
    ends_ms: int
    planned_ms: int
    discount_percent: float = 0.0
    product_indices: tuple[int, ...] = ()
    mega_sale: bool = False
    double_date: bool = False
    voucher: VoucherTerms | None = None
    # What running it costs the shop (live-stream host and production), minor units.
    spend_minor: int = 0
    # Extra visits while it runs (flash sales draw buyers to the shop).
    traffic_boost: float = 1.0

    @property
    def live_only(self) -> bool:
        """Live-stream prices are for the stream's viewers only."""
        return self.kind == events_pb2.CAMPAIGN_KIND_LIVE_STREAM


def _popular_first(shop: Shop) -> list[int]:
    return sorted(range(len(shop.products)), key=lambda i: -shop.products[i].popularity)


def _pick_products(shop: Shop, rng: np.random.Generator, count: int) -> tuple[int, ...]:
    weights = np.array([p.popularity for p in shop.products])
    count = min(count, len(weights))
    picked = rng.choice(len(weights), size=count, replace=False, p=weights / weights.sum())
    return tuple(sorted(int(i) for i in picked))


class CampaignPlanner:
    """The campaigns of one shop, by the local date they start on."""

    def __init__(self, seed: int, shop: Shop) -> None:
        self._seed = seed
        self._shop = shop
        self._typical_price = float(np.median([p.base_price_minor for p in shop.products]))
        self.starting_on = lru_cache(maxsize=64)(self._plan)

    def _id(self, prefix: str, day: date, number: int) -> str:
        return f"{prefix}-{self._shop.shop_id}-{day:%Y%m%d}-{number}"

    def _window(
        self, day: date, start_hour: float, hours: float, lead: int, rng: np.random.Generator
    ) -> tuple[int, int, int]:
        midnight = local_midnight_ms(day, self._shop.time_zone)
        announce_midnight = local_midnight_ms(day - timedelta(days=lead), self._shop.time_zone)
        planned = announce_midnight + 10 * HOUR_MS + int(rng.integers(0, 60)) * MINUTE_MS
        start = midnight + int(start_hour * HOUR_MS)
        return start, start + int(hours * HOUR_MS), planned

    def _money(self, amount_minor: float) -> int:
        return to_minor(round_price(amount_minor / 100, self._shop.market))

    def _plan(self, day: date) -> tuple[Campaign, ...]:
        rng = rng_for(self._seed, Stream.CAMPAIGNS, self._shop.index, day.toordinal())
        shop = self._shop
        brand = shop.market.brand.upper()
        campaigns: list[Campaign] = []
        if is_double_date(day):
            mega = is_mega_sale(day)
            lead = LEAD_DAYS["mega" if mega else "double"]
            start, end, planned = self._window(day, 0, 24, lead, rng)
            popular = _popular_first(shop)
            chosen = popular[: max(1, int(len(popular) * (0.6 if mega else 0.35)))]
            campaigns.append(
                Campaign(
                    campaign_id=self._id("sale", day, 1),
                    kind=events_pb2.CAMPAIGN_KIND_FLASH_SALE,
                    name=f"{day.month}.{day.day} {'Big Sale' if mega else 'Sale'}",
                    starts_ms=start,
                    ends_ms=end,
                    planned_ms=planned,
                    discount_percent=float(rng.integers(15, 36) if mega else rng.integers(10, 21)),
                    product_indices=tuple(sorted(chosen)),
                    mega_sale=mega,
                    double_date=True,
                )
            )
            if mega:
                percent = float(rng.choice([10, 12, 15]))
                campaigns.append(
                    Campaign(
                        campaign_id=self._id("vch", day, 2),
                        kind=events_pb2.CAMPAIGN_KIND_VOUCHER,
                        name=f"{day.month}.{day.day} Shopee Voucher",
                        starts_ms=start,
                        ends_ms=end,
                        planned_ms=planned,
                        discount_percent=percent,
                        mega_sale=True,
                        double_date=True,
                        voucher=VoucherTerms(
                            code=f"SHOPEE{day.month}{day.day}",
                            percent=percent,
                            min_spend_minor=self._money(self._typical_price),
                            cap_minor=self._money(self._typical_price * 0.5),
                            funded_by=events_pb2.VOUCHER_FUNDING_SHOPEE,
                        ),
                    )
                )
        elif rng.random() < 0.28:
            slot = FLASH_SLOTS[int(rng.integers(len(FLASH_SLOTS)))]
            start, end, planned = self._window(
                day, slot[0], slot[1] - slot[0], LEAD_DAYS["flash"], rng
            )
            campaigns.append(
                Campaign(
                    campaign_id=self._id("fs", day, 3),
                    kind=events_pb2.CAMPAIGN_KIND_FLASH_SALE,
                    name=f"Flash Sale {slot[0]:02d}:00-{slot[1] % 24:02d}:00",
                    starts_ms=start,
                    ends_ms=end,
                    planned_ms=planned,
                    discount_percent=float(rng.integers(20, 51)),
                    product_indices=_pick_products(shop, rng, int(rng.integers(3, 6))),
                    traffic_boost=1.35,
                )
            )
        if not is_double_date(day) and rng.random() < 0.08:
            percent = float(rng.choice([5, 8, 10, 12, 15]))
            start, end, planned = self._window(
                day, 0, 24 * MAX_DURATION_DAYS, LEAD_DAYS["voucher"], rng
            )
            campaigns.append(
                Campaign(
                    campaign_id=self._id("vch", day, 4),
                    kind=events_pb2.CAMPAIGN_KIND_VOUCHER,
                    name=f"Shop voucher {percent:.0f}% off",
                    starts_ms=start,
                    ends_ms=end,
                    planned_ms=planned,
                    discount_percent=percent,
                    voucher=VoucherTerms(
                        code=f"{brand[:4]}{percent:.0f}{_MONTHS[day.month - 1]}",
                        percent=percent,
                        min_spend_minor=self._money(self._typical_price * 1.5),
                        cap_minor=self._money(self._typical_price * 0.4),
                        funded_by=events_pb2.VOUCHER_FUNDING_SELLER,
                    ),
                )
            )
        if rng.random() < (0.8 if is_mega_sale(day) else 0.2):
            start_hour = 19 + int(rng.integers(0, 2))
            start, end, planned = self._window(day, start_hour, 2, LEAD_DAYS["live"], rng)
            campaigns.append(
                Campaign(
                    campaign_id=self._id("live", day, 5),
                    kind=events_pb2.CAMPAIGN_KIND_LIVE_STREAM,
                    name=str(
                        rng.choice(
                            ["Live: New Arrivals", "Live: Best Sellers", "Live: Q&A and Vouchers"]
                        )
                    ),
                    starts_ms=start,
                    ends_ms=end,
                    planned_ms=planned,
                    discount_percent=float(rng.integers(10, 21)),
                    product_indices=_pick_products(shop, rng, int(rng.integers(3, 6))),
                    spend_minor=self._money(self._typical_price * rng.uniform(2, 5)),
                )
            )
        return tuple(campaigns)

    def active_on(self, day: date) -> list[Campaign]:
        """Campaigns running at some moment of the local day."""
        midnight = local_midnight_ms(day, self._shop.time_zone)
        return [
            campaign
            for back in range(MAX_DURATION_DAYS + 1)
            for campaign in self.starting_on(day - timedelta(days=back))
            if campaign.starts_ms < midnight + DAY_MS and campaign.ends_ms > midnight
        ]

    def ending_on(self, day: date) -> list[Campaign]:
        """Campaigns whose end falls in the local day (a run that ends at midnight ends the next day)."""
        midnight = local_midnight_ms(day, self._shop.time_zone)
        return [
            campaign
            for back in range(MAX_DURATION_DAYS + 2)
            for campaign in self.starting_on(day - timedelta(days=back))
            if midnight <= campaign.ends_ms < midnight + DAY_MS
        ]

    def announced_on(self, day: date) -> list[Campaign]:
        """Campaigns whose PLANNED announcement falls in the local day."""
        return [
            campaign
            for lead in sorted(set(LEAD_DAYS.values()))
            for campaign in self.starting_on(day + timedelta(days=lead))
            if local_midnight_ms(day, self._shop.time_zone)
            <= campaign.planned_ms
            < local_midnight_ms(day + timedelta(days=1), self._shop.time_zone)
        ]


def ads_budget_minor(seed: int, shop: Shop, ads: AdsChannelModel, day: date) -> int:
    """The day's budget on one ads channel: reset every two weeks, raised for sales and paydays."""
    block = day.toordinal() // ADS_BUDGET_BLOCK_DAYS
    rng = rng_for(seed, Stream.ADS, shop.index, ads.channel, block)
    budget = ads.base_daily_budget_minor * float(rng.lognormal(0.0, 0.45))
    if is_mega_sale(day):
        budget *= 2.5
    elif is_double_date(day):
        budget *= 1.6
    budget *= payday_factor(day, shop.market)
    return int(budget)
