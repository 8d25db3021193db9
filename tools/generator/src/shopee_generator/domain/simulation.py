"""One shop's world, day after day: traffic, orders, stock, buyers, campaigns and incidents.

`ShopSimulator.simulate_day` returns the day's event records in time order. Records that fall on
later days (an order shipped tomorrow, a review next week) wait until their day comes.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from shopee_generator.domain import announcements
from shopee_generator.domain.aftersales import AfterSales
from shopee_generator.domain.announcements import opening_records
from shopee_generator.domain.buyers import BuyerPool, UserNames
from shopee_generator.domain.calendar import day_factor, hour_profile, is_double_date, is_mega_sale
from shopee_generator.domain.campaigns import Campaign, CampaignPlanner, ads_budget_minor
from shopee_generator.domain.clock import DAY_MS, HOUR_MS, local_midnight_ms
from shopee_generator.domain.incidents import Incident, IncidentKind
from shopee_generator.domain.orders import OrderDesk
from shopee_generator.domain.records import Record, fill_catalog
from shopee_generator.domain.seeds import Stream, rng_for
from shopee_generator.domain.shop import Shop, round_price, to_minor
from shopee_generator.domain.traffic import ATC_PER_VIEW, CHECKOUT_AFTER_CART, browse
from shopee_generator.domain.visits import BOT, DayPlan, draw_sessions

# Trend and noise are measured from here, so any run sees the same level on the same date.
REFERENCE_DATE = date(2025, 1, 1)
NEVER = 10 * DAY_MS
PRICE_CHANGE_CHANCE = 1 / 45
PRE_SALE_CHAT_SHARE = 0.015
DAILY_NOISE_SD = 0.08
DRIFT_SD = 0.06
DRIFT_BLOCK_DAYS = 28
_NOISE_WEIGHTS = np.array([0.5, 0.3, 0.2, 0.1, 0.05])


class ShopSimulator:
    def __init__(self, seed: int, shop: Shop, incidents: list[Incident], first_day: date) -> None:
        self.seed = seed
        self.shop = shop
        self.planner = CampaignPlanner(seed, shop)
        self.incidents = [i for i in incidents if i.shop_index == shop.index]
        self.aftersales = AfterSales(shop)
        count = len(shop.products)
        self.base_price = np.array([p.base_price_minor for p in shop.products], dtype=np.int64)
        self.price = self.base_price.copy()
        self.demand = self._expected_daily_units()
        self.stock = np.ceil(self.demand * 45 + 10).astype(np.int64)
        self.on_order = np.zeros(count, dtype=np.int64)
        self.arrivals: dict[int, list[tuple[int, int]]] = {}
        self.stock_back: dict[int, list[tuple[int, int]]] = {}
        self.due: dict[int, list[Record]] = {}
        rng = rng_for(seed, Stream.BUYERS, shop.index, first_day.toordinal())
        self.names = UserNames(shop.market, first_number=int(rng.integers(100, 1000)))
        self.pool = BuyerPool()
        first_buyers, first_keys = self.names.draw_keyed(rng, int(shop.base_daily_visits * 6))
        self.pool.add(first_buyers, first_keys, rng)
        self.orders = OrderDesk(shop, self.aftersales)
        self._started = False
        self._noise = lru_cache(maxsize=64)(self._noise_draw)

    # ------------------------------------------------------------------ level of the day
    def _expected_daily_units(self) -> np.ndarray:
        popularity = np.array([p.popularity for p in self.shop.products])
        views = self.shop.base_daily_visits * 1.4 * 1.5
        return np.asarray(
            views
            * popularity
            / popularity.sum()
            * ATC_PER_VIEW
            * 1.2
            * CHECKOUT_AFTER_CART
            * 0.9
            * 1.25
        )

    def _noise_draw(self, key: tuple[int, int]) -> float:
        return float(rng_for(self.seed, Stream.NOISE, self.shop.index, *key).standard_normal())

    def _level(self, day: date) -> tuple[float, float]:
        """(trend, noise) multipliers: growth, a slow drift and smooth day-to-day noise."""
        years = (day.toordinal() - REFERENCE_DATE.toordinal()) / 365.25
        trend = math.exp(self.shop.growth_per_year * max(-3.0, min(3.0, years)))
        ordinal = day.toordinal()
        block, into = divmod(ordinal, DRIFT_BLOCK_DAYS)
        drift = DRIFT_SD * (
            (1 - into / DRIFT_BLOCK_DAYS) * self._noise((1, block))
            + into / DRIFT_BLOCK_DAYS * self._noise((1, block + 1))
        )
        shocks = np.array([self._noise((0, ordinal - lag)) for lag in range(len(_NOISE_WEIGHTS))])
        daily = (
            DAILY_NOISE_SD * float(_NOISE_WEIGHTS @ shocks) / float(np.linalg.norm(_NOISE_WEIGHTS))
        )
        return trend, math.exp(drift + daily)

    # ------------------------------------------------------------------ one day
    def simulate_day(self, day: date) -> list[Record]:
        """The records of one local day, sorted by time."""
        rng = rng_for(self.seed, Stream.DAY, self.shop.index, day.toordinal())
        midnight = local_midnight_ms(day, self.shop.time_zone)
        records: list[Record] = []
        campaigns = self.planner.active_on(day)
        if not self._started:
            records += opening_records(
                self.shop, self.planner, day, midnight, self.price, self.stock
            )
            self._started = True
        records += announcements.day_records(self.shop, self.planner, day)
        for product, quantity in self.stock_back.pop(day.toordinal(), []):
            self.stock[product] += quantity
        trend, noise = self._level(day)
        calendar = day_factor(day, self.shop.market)
        plan = self._day_plan(day, midnight, campaigns, trend * noise * calendar, rng, records)
        stock_changes = self._stock_changes(day, midnight, plan, rng)
        sessions = draw_sessions(self.shop, plan, self.pool, self.names, rng, calendar * noise)
        prefix = f"s{self.shop.index}-{day:%y%m%d}-"
        # Tastes draw from their own stream, so the day's other draws do not depend on them.
        taste_rng = rng_for(self.seed, Stream.TASTES, self.shop.index, day.toordinal())
        checkouts = browse(self.shop, plan, sessions, rng, taste_rng, records, prefix)
        sold, new_buyers = self.orders.place(
            day,
            plan,
            sessions,
            checkouts,
            self.stock,
            stock_changes,
            self._outage_windows(midnight),
            self.pool,
            rng,
            records,
            self.stock_back,
        )
        for s in np.flatnonzero(
            (sessions.kind != BOT) & (rng.random(len(sessions.start)) < PRE_SALE_CHAT_SHARE)
        ):
            asked = midnight + int(sessions.start[s]) + 30_000
            records.extend(
                self.aftersales.conversation(
                    sessions.visitor_ids[int(s)], asked, "pre_sale", plan.double_date, rng
                )
            )
        self._end_of_day(day, midnight, plan, sold, rng, records)
        key_of = dict(zip(sessions.visitor_ids, sessions.buyer_key.tolist(), strict=True))
        self.pool.add(new_buyers, np.array([key_of[b] for b in new_buyers], np.int64), rng)
        self.pool.end_of_day(rng)
        return self._due_today(day, midnight, records)

    def _due_today(self, day: date, midnight: int, records: list[Record]) -> list[Record]:
        today = self.due.pop(day.toordinal(), [])
        end = midnight + DAY_MS
        for record in records:
            if record[0] < end:
                today.append(record)
            else:
                # Markets here keep no daylight saving: a local day is always 24 hours long.
                later = day.toordinal() + (record[0] - midnight) // DAY_MS
                self.due.setdefault(later, []).append(record)
        today.sort(key=lambda record: record[0])
        return today

    def _outage_windows(self, midnight: int) -> list[tuple[int, int]]:
        return [
            (i.starts_ms - midnight, i.ends_ms - midnight)
            for i in self.incidents
            if i.kind is IncidentKind.CHECKOUT_OUTAGE
            and i.ends_ms > midnight
            and i.starts_ms < midnight + DAY_MS
        ]

    def _day_plan(
        self,
        day: date,
        midnight: int,
        campaigns: list[Campaign],
        factor: float,
        rng: np.random.Generator,
        records: list[Record],
    ) -> DayPlan:
        shares = hour_profile(day).copy()
        for campaign in campaigns:
            if campaign.traffic_boost != 1.0:
                first = max(0, (campaign.starts_ms - midnight) // HOUR_MS)
                last = min(24, -(-(campaign.ends_ms - midnight) // HOUR_MS))
                shares[first:last] *= campaign.traffic_boost
        visits = self.shop.base_daily_visits * factor * float(shares.sum())
        ads_visits = {}
        for ads in self.shop.ads_channels:
            budget = ads_budget_minor(self.seed, self.shop, ads, day)
            ads_visits[ads.channel] = ads.visits(budget) * math.sqrt(factor)
            records += announcements.spend_records(self.shop, ads, budget, midnight, shares)
        bots = [
            (max(0, i.starts_ms - midnight), min(DAY_MS, i.ends_ms - midnight), i.magnitude)
            for i in self.incidents
            if i.kind is IncidentKind.TRAFFIC_BOT_SPIKE
            and i.ends_ms > midnight
            and i.starts_ms < midnight + DAY_MS
        ]
        before = self.price.copy()
        after = self.price.copy()
        change_at = np.full(len(before), NEVER, dtype=np.int64)
        for p in np.flatnonzero(rng.random(len(before)) < PRICE_CHANGE_CHANCE).tolist():
            product = self.shop.products[p]
            factor_ = 1.0 if rng.random() < 0.3 else float(rng.uniform(0.85, 1.15))
            after[p] = to_minor(
                round_price(product.base_price_minor / 100 * factor_, self.shop.market)
            )
            change_at[p] = 9 * HOUR_MS + int(rng.integers(0, 3 * HOUR_MS))
            records.append(
                (
                    midnight + int(change_at[p]),
                    fill_catalog,
                    (product, int(after[p]), int(self.stock[p]), self.shop.currency),
                )
            )
        self.price = after
        return DayPlan(
            day=day,
            midnight_ms=midnight,
            visits=visits,
            hour_shares=shares / shares.sum(),
            campaigns=campaigns,
            ads_visits=ads_visits,
            bot_windows=bots,
            price_before=before,
            price_after=after,
            price_change_at=change_at,
            available_from=np.where(self.stock > 0, 0, NEVER).astype(np.int64),
            available_until=np.full(len(before), NEVER, dtype=np.int64),
            double_date=is_double_date(day),
            voucher_active=any(c.voucher is not None for c in campaigns),
        )

    def _stock_changes(
        self, day: date, midnight: int, plan: DayPlan, rng: np.random.Generator
    ) -> list[tuple[int, int, int]]:
        """Restock arrivals and injected stock-outs today, as (ms since midnight, product, new stock
        or -1 for "add the quantity"), and the availability windows they cause."""
        changes: list[tuple[int, int, int]] = []
        stockouts = [i for i in self.incidents if i.kind is IncidentKind.STOCK_OUT]
        for product, quantity in self.arrivals.pop(day.toordinal(), []):
            at = 8 * HOUR_MS + int(rng.integers(0, 3 * HOUR_MS))
            blocking = [
                i for i in stockouts if i.product_index == product and i.covers(midnight + at)
            ]
            if blocking:
                # The supplier is late: the delivery comes when the stock-out ends.
                later = day.toordinal() + (blocking[0].ends_ms - midnight) // DAY_MS + 1
                self.arrivals.setdefault(later, []).append((product, quantity))
                continue
            self.on_order[product] -= quantity
            changes.append((at, product, -quantity))
            if self.stock[product] == 0:
                plan.available_from[product] = min(int(plan.available_from[product]), at)
        for incident in stockouts:
            assert incident.product_index is not None
            if midnight <= incident.starts_ms < midnight + DAY_MS:
                changes.append((incident.starts_ms - midnight, incident.product_index, 0))
                plan.available_until[incident.product_index] = incident.starts_ms - midnight
            if midnight <= incident.ends_ms < midnight + DAY_MS:
                refill = int(max(self.demand[incident.product_index] * 40, 20))
                changes.append((incident.ends_ms - midnight, incident.product_index, -refill))
                plan.available_from[incident.product_index] = incident.ends_ms - midnight
        return sorted(changes)

    def _end_of_day(
        self,
        day: date,
        midnight: int,
        plan: DayPlan,
        sold: np.ndarray,
        rng: np.random.Generator,
        records: list[Record],
    ) -> None:
        """Stock snapshot of what moved, demand estimate, and purchase orders to suppliers."""
        sellable = plan.available_from < DAY_MS
        self.demand = np.where(sellable, 0.85 * self.demand + 0.15 * sold, self.demand)
        # Cover the supplier's lead time with a safety margin; stock up before sales.
        ahead = [day + timedelta(days=k) for k in range(1, 11)]
        stock_up = (
            25 if any(map(is_mega_sale, ahead)) else 8 if any(map(is_double_date, ahead)) else 0
        )
        target = self.demand * (21 + stock_up)
        blocked = {
            i.product_index
            for i in self.incidents
            if i.kind is IncidentKind.STOCK_OUT and i.starts_ms - 3 * DAY_MS < midnight < i.ends_ms
        }
        for p in np.flatnonzero(self.stock + self.on_order < target).tolist():
            if p in blocked:
                continue
            quantity = math.ceil(max(self.demand[p] * 35, 10))
            self.arrivals.setdefault(day.toordinal() + int(rng.integers(3, 8)), []).append(
                (p, quantity)
            )
            self.on_order[p] += quantity
        for p in np.flatnonzero(sold > 0).tolist():
            records.append(
                (
                    midnight + DAY_MS - 60_000 + p,
                    fill_catalog,
                    (
                        self.shop.products[p],
                        int(self.price[p]),
                        int(self.stock[p]),
                        self.shop.currency,
                    ),
                )
            )
