"""The forecast service's reads against the real PostgreSQL: a campaign is still known after its
events have left raw_events (retention), since the series it explains are kept forever; and so is
a product's stock and status, from its latest catalog event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from shopee_forecast.adapters.store import ForecastStore
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
