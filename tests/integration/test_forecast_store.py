"""The forecast service's reads against the real PostgreSQL: a campaign is still known after its
events have left raw_events (retention), since the series it explains are kept forever; and so is
a product's stock and status, from its latest catalog event. A series ends where the stream job
has counted its source to."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from shopee_forecast.adapters.store import ForecastStore, Shop
from tests.integration.databases import drop_months_of, migrated_database, store_raw_events

pytestmark = pytest.mark.integration

SHOP, ZONE = "shop-campaigns", "Asia/Jakarta"


async def test_a_campaign_is_known_after_raw_events_retention_dropped_it(
    database_url: str,
) -> None:
    announced = datetime.now(UTC).replace(microsecond=0) - timedelta(days=200)
    starts, ends = announced + timedelta(days=7), announced + timedelta(days=8)
    payload = {
        "campaign_id": "cmp-11-11",
        "action": "CAMPAIGN_ACTION_PLANNED",
        "kind": "CAMPAIGN_KIND_FLASH_SALE",
        "starts_at": starts.isoformat().replace("+00:00", "Z"),
        "ends_at": ends.isoformat().replace("+00:00", "Z"),
        "discount_percent": 30.0,
        "product_ids": ["P1", "P2"],
    }
    with migrated_database(database_url, {SHOP: ZONE}) as dsn:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        try:
            await store_raw_events(pool, SHOP, ZONE, [("evt-plan", announced, "campaign", payload)])
            await drop_months_of(pool, ["evt-plan"])
            assert await pool.fetchval("SELECT count(*) FROM raw_events") == 0
            [campaign] = await ForecastStore(pool).campaigns(SHOP)
        finally:
            await pool.close()
    assert campaign.campaign_id == "cmp-11-11"
    assert campaign.announced_at == announced
    assert (campaign.starts_at, campaign.ends_at) == (starts, ends)
    assert campaign.discount_percent == 30.0
    assert campaign.product_ids == frozenset({"P1", "P2"})


async def test_stock_and_status_are_known_after_raw_events_retention_dropped_them(
    database_url: str,
) -> None:
    changed = datetime.now(UTC) - timedelta(days=200)
    events = [
        (
            "evt-stocked",
            changed - timedelta(days=1),
            "catalog",
            {"product_id": "P1", "stock": "40"},
        ),
        (
            "evt-sold",
            changed,
            "catalog",
            {"product_id": "P1", "stock": "12", "status": "PRODUCT_STATUS_ACTIVE"},
        ),
    ]
    with migrated_database(database_url, {SHOP: ZONE}) as dsn:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        try:
            await store_raw_events(pool, SHOP, ZONE, events)
            await drop_months_of(pool, [event_id for event_id, *_ in events])
            assert await pool.fetchval("SELECT count(*) FROM raw_events") == 0
            catalog = await ForecastStore(pool).catalog(SHOP)
        finally:
            await pool.close()
    assert catalog == {"P1": (12, "PRODUCT_STATUS_ACTIVE")}


async def _kpi_days(pool: asyncpg.Pool, kpi: str, first: date, last: date) -> None:
    """Shop-level kpi_day rows of `kpi` from `first` to `last`, as the stream job writes them."""
    zone = ZoneInfo(ZONE)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    await pool.executemany(
        "INSERT INTO kpi_day (shop_id, product_id, kpi, bucket, local_date, numerator, value) "
        "VALUES ($1, '', $2, $3, $4, 10, 10)",
        [(SHOP, kpi, datetime.combine(d, time(), zone), d) for d in days],
    )


async def _watermark(pool: asyncpg.Pool, source: str, mark: datetime, updated: datetime) -> None:
    await pool.execute(
        "INSERT INTO stream_watermarks (shop_id, source, watermark, updated_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (shop_id, source) "
        "DO UPDATE SET watermark = excluded.watermark, updated_at = excluded.updated_at",
        SHOP,
        source,
        mark,
        updated,
    )


async def test_a_series_ends_where_the_stream_job_has_counted_its_source_to(
    database_url: str,
) -> None:
    """Orders are counted to now; the job is still working through the traffic backlog, at
    noon on 1 March: visitors are known to 28 February, whatever rows the other KPIs have."""
    now = datetime.now(UTC)
    shop = Shop(SHOP, ZONE, "ID")
    yesterday = shop.today(now) - timedelta(days=1)
    first, traffic_to = date(yesterday.year - 1, 1, 1), date(yesterday.year - 1, 2, 28)
    with migrated_database(database_url, {SHOP: ZONE}) as dsn:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        try:
            await _kpi_days(pool, "gmv", first, yesterday)
            await _kpi_days(pool, "unique_visitors", first, traffic_to)
            await _watermark(pool, "order", now - timedelta(minutes=1), now)
            counting = datetime.combine(traffic_to + timedelta(days=1), time(12), ZoneInfo(ZONE))
            await _watermark(pool, "traffic", counting, now)
            store = ForecastStore(pool)
            assert await store.history_bounds(shop, now=now) == (first, yesterday)
            assert await store.history_bounds(shop, "order", now=now) == (first, yesterday)
            assert await store.history_bounds(shop, "traffic", now=now) == (first, traffic_to)
            assert await store.history_bounds(shop, "chat", now=now) is None
            # Traffic that stopped two days ago: nothing more is coming, its empty days are zeros.
            quiet = now - timedelta(days=2)
            await _watermark(pool, "traffic", quiet, quiet)
            assert await store.history_bounds(shop, "traffic", now=now) == (first, yesterday)
        finally:
            await pool.close()
