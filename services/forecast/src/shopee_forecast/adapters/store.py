"""Reads what the forecasts are made from: shops, daily KPI series (kpi_day), planned campaigns
(campaign_events, kept as long as kpi_day), catalog stock (product_catalog, each product's latest
catalog event, kept after raw_events' retention) and buyers' orders and visits (raw_events), from
PostgreSQL with asyncpg.

raw_events.payload is the proto3 JSON of the payload with proto field names (snake_case), enums
as names and int64 as strings, as the stream job writes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pandas as pd

from shopee_common.marketplace import market_of
from shopee_forecast.domain.campaigns import Campaign
from shopee_forecast.domain.completeness import SourceMark, last_counted_day

CAMPAIGNS_SQL = """
SELECT payload->>'campaign_id' AS campaign_id,
       min(occurred_at) AS announced_at,
       (array_agg(payload->>'starts_at' ORDER BY occurred_at DESC))[1] AS starts_at,
       (array_agg(payload->>'ends_at' ORDER BY occurred_at DESC))[1] AS ends_at,
       max(coalesce((payload->>'discount_percent')::float8, 0)) AS discount_percent,
       (array_agg(payload->'product_ids' ORDER BY occurred_at DESC))[1] AS product_ids
FROM campaign_events
WHERE shop_id = $1
  AND payload->>'action' IN ('CAMPAIGN_ACTION_PLANNED', 'CAMPAIGN_ACTION_STARTED')
  AND coalesce(payload->>'kind', '') <> 'CAMPAIGN_KIND_ADS'
  AND payload ? 'starts_at'
GROUP BY 1
"""
# The shop's first and last day of KPIs, and the stream job's watermark of one source.
BOUNDS_SQL = """
SELECT d.first, d.last, w.watermark, w.updated_at
FROM (SELECT min(local_date) AS first, max(local_date) AS last FROM kpi_day
      WHERE shop_id = $1 AND product_id = '') AS d
LEFT JOIN stream_watermarks AS w ON w.shop_id = $1 AND w.source = $2
"""

STOCK_SQL = """
SELECT product_id,
       coalesce((payload->>'stock')::bigint, 0) AS stock,
       coalesce(payload->>'status', '') AS status
FROM product_catalog
WHERE shop_id = $1
"""
ORDERS_SQL = """
SELECT payload->>'buyer_id' AS buyer_id,
       (occurred_at AT TIME ZONE time_zone)::date AS date,
       payload->>'status' AS status,
       coalesce((SELECT sum((item->>'unit_price_minor')::bigint * (item->>'quantity')::bigint
                            - coalesce((item->>'discount_minor')::bigint, 0))
                 FROM jsonb_array_elements(coalesce(payload->'items', '[]'::jsonb)) AS item), 0)
         AS gmv_minor
FROM raw_events
WHERE shop_id = $1 AND kind = 'order' AND coalesce(payload->>'buyer_id', '') <> ''
  AND payload->>'status' IN ('ORDER_STATUS_PAID', 'ORDER_STATUS_RETURNED', 'ORDER_STATUS_CANCELLED')
"""
VISITS_SQL = """
SELECT payload->>'visitor_id' AS visitor_id,
       (occurred_at AT TIME ZONE time_zone)::date AS date,
       count(*) AS visits
FROM raw_events
WHERE shop_id = $1 AND kind = 'traffic' AND occurred_at >= $2
  AND payload->>'visitor_id' = ANY($3::text[])
GROUP BY 1, 2
"""


@dataclass(frozen=True)
class Shop:
    shop_id: str
    time_zone: str
    market: str
    currency: str = ""

    def today(self, now: datetime | None = None) -> date:
        """The shop-local calendar day now."""
        return (now or datetime.now(UTC)).astimezone(ZoneInfo(self.time_zone)).date()


class ForecastStore:
    """Queries of the forecast service; every method is one short read."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def ping(self) -> None:
        await self._pool.fetchval("SELECT 1")

    async def shop(self, shop_id: str) -> Shop | None:
        row = await self._pool.fetchrow(
            "SELECT id, time_zone, market, currency FROM shops WHERE id = $1", shop_id
        )
        if row is None:
            return None
        return Shop(
            row["id"],
            row["time_zone"],
            market_of(row["market"], row["time_zone"]),
            row["currency"],
        )

    async def shop_ids(self) -> list[str]:
        return [row["id"] for row in await self._pool.fetch("SELECT id FROM shops ORDER BY id")]

    async def history_bounds(
        self, shop: Shop, source: str | None = None, now: datetime | None = None
    ) -> tuple[date, date] | None:
        """(first day, last complete day) of the shop's daily KPIs; None if it has none. With a
        `source` (order, traffic, ...), the last day is also one whose events of that source the
        stream job has counted (domain/completeness.py), and None if it has counted none."""
        row = await self._pool.fetchrow(BOUNDS_SQL, shop.shop_id, source or "")
        if row is None or row["first"] is None:
            return None
        now = now or datetime.now(UTC)
        # Today's row is still filling up: the last complete day is yesterday at the latest.
        last: date = min(row["last"], shop.today(now) - timedelta(days=1))
        if source is not None:
            mark = None
            if row["watermark"] is not None:
                mark = SourceMark(row["watermark"], row["updated_at"])
            counted = last_counted_day(mark, last, shop.time_zone, now)
            if counted is None:
                return None
            last = counted
        return (row["first"], last) if last >= row["first"] else None

    async def product_first_day(self, shop_id: str, product_id: str) -> date | None:
        """The shop-local day the product first had a KPI row (a view, a cart, a sale): when it
        appeared; None if it has not yet."""
        return (await self.product_first_days(shop_id, [product_id])).get(product_id)

    async def product_first_days(self, shop_id: str, product_ids: Sequence[str]) -> dict[str, date]:
        """`product_first_day` of each product that has appeared, in one round trip. kpi_day's
        key leads with (shop_id, product_id), and unlike raw_events it is never dropped by
        retention."""
        rows = await self._pool.fetch(
            "SELECT p AS product_id, (SELECT min(local_date) FROM kpi_day "
            "WHERE shop_id = $1 AND product_id = p) AS first FROM unnest($2::text[]) AS p",
            shop_id,
            list(product_ids),
        )
        return {row["product_id"]: row["first"] for row in rows if row["first"] is not None}

    async def product_units_since(
        self, shop_id: str, product_ids: Sequence[str], since: date
    ) -> dict[str, dict[date, float]]:
        """Units sold per product and shop-local day from `since` (days without a row: none)."""
        rows = await self._pool.fetch(
            "SELECT product_id, local_date, coalesce(value, 0) AS value FROM kpi_day "
            "WHERE shop_id = $1 AND kpi = 'units' AND product_id = ANY($2::text[]) "
            "AND local_date >= $3",
            shop_id,
            list(product_ids),
            since,
        )
        units: dict[str, dict[date, float]] = {}
        for row in rows:
            units.setdefault(row["product_id"], {})[row["local_date"]] = float(row["value"])
        return units

    async def daily_values(
        self, shop_id: str, product_id: str, kpi: str
    ) -> list[tuple[date, float]]:
        rows = await self._pool.fetch(
            "SELECT local_date, coalesce(value, 0) AS value FROM kpi_day "
            "WHERE shop_id = $1 AND product_id = $2 AND kpi = $3 ORDER BY local_date",
            shop_id,
            product_id,
            kpi,
        )
        return [(row["local_date"], float(row["value"])) for row in rows]

    async def campaigns(self, shop_id: str) -> list[Campaign]:
        campaigns = []
        for row in await self._pool.fetch(CAMPAIGNS_SQL, shop_id):
            products = row["product_ids"]
            names = json.loads(products) if isinstance(products, str) else products or []
            campaigns.append(
                Campaign(
                    campaign_id=row["campaign_id"],
                    announced_at=row["announced_at"],
                    starts_at=_timestamp(row["starts_at"]),
                    ends_at=_timestamp(row["ends_at"] or row["starts_at"]),
                    discount_percent=float(row["discount_percent"]),
                    product_ids=frozenset(str(name) for name in names),
                )
            )
        return campaigns

    async def catalog(self, shop_id: str) -> dict[str, tuple[int, str]]:
        """product_id -> (stock, status) from each product's latest catalog event."""
        rows = await self._pool.fetch(STOCK_SQL, shop_id)
        return {row["product_id"]: (int(row["stock"]), row["status"]) for row in rows}

    async def sold_products(self, shop_id: str) -> list[str]:
        """Products with any units sold, best sellers first."""
        rows = await self._pool.fetch(
            "SELECT product_id FROM kpi_day WHERE shop_id = $1 AND kpi = 'units' "
            "AND product_id <> '' GROUP BY product_id ORDER BY sum(numerator) DESC",
            shop_id,
        )
        return [row["product_id"] for row in rows]

    async def orders(self, shop_id: str) -> pd.DataFrame:
        """buyer_id, date (shop-local), status, gmv_minor of every paid, returned or cancelled
        order event of the shop."""
        rows = await self._pool.fetch(ORDERS_SQL, shop_id)
        return pd.DataFrame(
            [(r["buyer_id"], r["date"], r["status"], int(r["gmv_minor"])) for r in rows],
            columns=["buyer_id", "date", "status", "gmv_minor"],
        )

    async def visits(self, shop_id: str, since: datetime, buyers: list[str]) -> pd.DataFrame:
        """visitor_id, date, visits of the buyers' shop visits since `since`."""
        rows = await self._pool.fetch(VISITS_SQL, shop_id, since, buyers)
        return pd.DataFrame(
            [(r["visitor_id"], r["date"], int(r["visits"])) for r in rows],
            columns=["visitor_id", "date", "visits"],
        )


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
