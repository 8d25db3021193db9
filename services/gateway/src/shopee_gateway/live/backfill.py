"""Resume: the stored buckets since a time, read from the KPI table of the subscription's
interval, to fill the gap before the live snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shopee_gateway.live.snapshots import Interval, LiveSnapshot, replay_snapshots

TABLES: dict[Interval, str] = {"minute": "kpi_minute", "hour": "kpi_hour", "day": "kpi_day"}
# Hours and days start at the shop's local midnight, so the bucket holding `since` starts at
# most one bucket length before it: that bound needs no time zone arithmetic here.
LENGTH: dict[Interval, timedelta] = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}

QUERY = """
SELECT k.shop_id, s.time_zone, k.bucket, k.kpi, k.value, k.numerator::float8,
       k.denominator::float8
FROM {table} k JOIN shops s ON s.id = k.shop_id
WHERE k.shop_id = ANY($1::text[]) AND k.product_id = ''
  AND ($2::text[] IS NULL OR k.kpi = ANY($2::text[]))
  AND k.bucket > $3
ORDER BY k.shop_id, k.bucket, k.kpi
LIMIT $4
"""


async def read_backfill(
    pool: Any,
    shops: frozenset[str],
    kpis: frozenset[str] | None,
    interval: Interval,
    since: datetime,
    *,
    max_rows: int,
    buckets_per_message: int,
) -> tuple[list[LiveSnapshot], bool]:
    """Replay snapshots of the shop-level buckets that end after `since`, per shop in bucket
    order, and whether `max_rows` cut the read short. `shops` must already be checked against
    the caller's."""
    rows = await pool.fetch(
        QUERY.format(table=TABLES[interval]),
        sorted(shops),
        sorted(kpis) if kpis is not None else None,
        since - LENGTH[interval],
        max_rows + 1,
    )
    truncated = len(rows) > max_rows
    by_shop: dict[
        str, tuple[str, list[tuple[datetime, str, float | None, float, float | None]]]
    ] = {}
    for shop_id, time_zone, bucket, kpi, value, numerator, denominator in rows[:max_rows]:
        by_shop.setdefault(shop_id, (time_zone, []))[1].append(
            (bucket, kpi, value, numerator, denominator)
        )
    snapshots = [
        snapshot
        for shop_id, (time_zone, shop_rows) in by_shop.items()
        for snapshot in replay_snapshots(
            shop_id, time_zone, interval, shop_rows, buckets_per_message
        )
    ]
    return snapshots, truncated
