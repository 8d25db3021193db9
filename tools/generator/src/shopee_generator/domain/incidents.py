"""Incidents injected into the data, with their true windows, so detectors can be scored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import numpy as np

from shopee_generator.domain.calendar import is_double_date, is_mega_sale
from shopee_generator.domain.clock import HOUR_MS, MINUTE_MS, local_midnight_ms
from shopee_generator.domain.seeds import Stream, rng_for
from shopee_generator.domain.shop import Shop

# About one incident of each kind per shop every eight months of history.
DAYS_PER_INCIDENT = 240


class IncidentKind(StrEnum):
    CHECKOUT_OUTAGE = "checkout_outage"
    TRAFFIC_BOT_SPIKE = "traffic_bot_spike"
    STOCK_OUT = "stock_out"


AFFECTED_KPIS: dict[IncidentKind, tuple[str, ...]] = {
    IncidentKind.CHECKOUT_OUTAGE: ("orders", "paid_orders", "gmv", "conversion_rate"),
    IncidentKind.TRAFFIC_BOT_SPIKE: ("visitors", "page_views", "product_views", "conversion_rate"),
    IncidentKind.STOCK_OUT: ("product_orders", "product_units_sold", "gmv"),
}


@dataclass(frozen=True)
class Incident:
    shop_index: int
    shop_id: str
    kind: IncidentKind
    starts_ms: int
    ends_ms: int
    # For bot spikes: extra visits as a multiple of the hour's normal visits.
    magnitude: float = 1.0
    product_index: int | None = None
    product_id: str | None = None
    during_mega_sale: bool = False

    def covers(self, epoch_ms: int) -> bool:
        return self.starts_ms <= epoch_ms < self.ends_ms


def _near_double_date(day: date) -> bool:
    return any(is_double_date(day + timedelta(days=offset)) for offset in range(-2, 3))


def _window(
    shop: Shop,
    day: date,
    hour_from: int,
    hour_to: int,
    min_minutes: int,
    max_minutes: int,
    rng: np.random.Generator,
) -> tuple[int, int]:
    start = (
        local_midnight_ms(day, shop.time_zone)
        + int(rng.integers(hour_from, hour_to)) * HOUR_MS
        + int(rng.integers(0, 4)) * 15 * MINUTE_MS
    )
    return start, start + int(rng.integers(min_minutes, max_minutes + 1)) * MINUTE_MS


def plan_incidents(seed: int, shops: list[Shop], start: date, days: int) -> list[Incident]:
    """Outages, bot spikes and stock-outs on ordinary days of every shop, plus one checkout outage
    during the last mega sale (9.9 to 12.12) of the period, if it has one."""
    rng = rng_for(seed, Stream.INCIDENTS, days, start.toordinal())
    warm_up = min(30, days // 4)
    per_kind = max(1, days // DAYS_PER_INCIDENT)
    incidents: list[Incident] = []
    for shop in shops:
        candidates = [
            offset
            for offset in range(warm_up, days - 1)
            if not _near_double_date(start + timedelta(days=offset))
        ]
        picked = [int(o) for o in rng.permutation(candidates)[: 3 * per_kind]] if candidates else []
        popular = sorted(shop.products, key=lambda p: -p.popularity)[:3]
        for number, offset in enumerate(picked):
            day = start + timedelta(days=int(offset))
            kind = list(IncidentKind)[number % 3]
            if kind is IncidentKind.CHECKOUT_OUTAGE:
                begin, end = _window(shop, day, 10, 21, 60, 240, rng)
                incidents.append(Incident(shop.index, shop.shop_id, kind, begin, end))
            elif kind is IncidentKind.TRAFFIC_BOT_SPIKE:
                begin, end = _window(shop, day, 9, 22, 60, 180, rng)
                incidents.append(
                    Incident(
                        shop.index,
                        shop.shop_id,
                        kind,
                        begin,
                        end,
                        magnitude=float(rng.uniform(8, 15)),
                    )
                )
            else:
                product = popular[int(rng.integers(len(popular)))]
                begin, _ = _window(shop, day, 10, 18, 0, 0, rng)
                restock_day = day + timedelta(days=int(rng.integers(3, 8)))
                end = (
                    local_midnight_ms(restock_day, shop.time_zone)
                    + int(rng.integers(8, 12)) * HOUR_MS
                )
                incidents.append(
                    Incident(
                        shop.index,
                        shop.shop_id,
                        kind,
                        begin,
                        end,
                        product_index=product.index,
                        product_id=product.product_id,
                    )
                )
    mega_days = [
        start + timedelta(days=o) for o in range(1, days) if is_mega_sale(start + timedelta(days=o))
    ]
    if mega_days and shops:
        shop = shops[int(rng.integers(len(shops)))]
        begin, end = _window(shop, mega_days[-1], 0, 2, 60, 180, rng)
        incidents.append(
            Incident(
                shop.index,
                shop.shop_id,
                IncidentKind.CHECKOUT_OUTAGE,
                begin,
                end,
                during_mega_sale=True,
            )
        )
    return sorted(incidents, key=lambda incident: (incident.starts_ms, incident.shop_index))
