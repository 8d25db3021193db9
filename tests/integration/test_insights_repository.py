"""The insights service's reads against the real PostgreSQL: a product keeps its catalogue state
(category, price, cost, stock) after raw_events' retention dropped its catalogue events, instead
of passing for a product seen only in orders (cost 0, unknown category)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from shopee_generator import GeneratorConfig, generate_history
from shopee_insights.adapters.repository import EventRepository
from shopee_insights.engine import AREAS
from tests.integration.databases import (
    drop_months_of,
    migrated_database,
    shops_of,
    store_raw_events,
)
from tests.integration.forecast_world import load_world

pytestmark = pytest.mark.integration

SHOP, ZONE = "shop-catalogue", "Asia/Jakarta"
NOW = datetime.now(UTC).replace(microsecond=0)
LISTED = NOW - timedelta(days=200)
REPRICED = NOW - timedelta(days=2)


def _catalog(product_id: str, price_minor: int) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "name": f"product {product_id}",
        "category": "bags",
        "price_minor": str(price_minor),
        "cost_minor": "600",
        "stock": "4",
        "status": "PRODUCT_STATUS_ACTIVE",
    }


EVENTS = [
    ("listed-p1", LISTED, "catalog", _catalog("P1", 1000)),
    ("listed-p2", LISTED, "catalog", _catalog("P2", 2000)),
    ("repriced-p2", REPRICED, "catalog", _catalog("P2", 2500)),
    (
        "order-p1",
        NOW - timedelta(days=1),
        "order",
        {
            "order_id": "o1",
            "buyer_id": "b1",
            "status": "ORDER_STATUS_CREATED",
            "items": [
                {
                    "product_id": "P1",
                    "product_name": "P1",
                    "quantity": "1",
                    "unit_price_minor": "900",
                }
            ],
        },
    ),
]


async def test_catalogue_state_outlives_the_raw_events_retention(database_url: str) -> None:
    with migrated_database(database_url, {SHOP: ZONE}) as dsn:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        try:
            await store_raw_events(pool, SHOP, ZONE, EVENTS)
            await drop_months_of(pool, ["listed-p1"])  # the month of the listings
            repository = EventRepository(pool)
            data = await repository.load_shop(SHOP, ZONE)
            without_catalogue = await repository.load_shop(SHOP, ZONE, ("order",))
            every_change = await repository.catalog_changes(SHOP, LISTED)
            recent_changes = await repository.catalog_changes(SHOP, REPRICED)
            exists = [await repository.product_exists(SHOP, p) for p in ("P1", "P2", "P9")]
        finally:
            await pool.close()
    columns = ["category", "price_minor", "cost_minor", "stock"]
    assert data.products[columns].to_dict("index") == {
        "P1": {"category": "bags", "price_minor": 1000, "cost_minor": 600, "stock": 4},
        "P2": {"category": "bags", "price_minor": 2500, "cost_minor": 600, "stock": 4},
    }
    # Each catalogue event once: P2's repricing from raw_events, P1's listing from
    # product_catalog (P2's listing is gone with its month: only its latest state is kept).
    catalog = data.catalog.sort_values("product_id")
    assert catalog[["product_id", "price_minor"]].values.tolist() == [["P1", 1000], ["P2", 2500]]
    assert len(without_catalogue.catalog) == 0
    assert every_change["price_minor"].to_dict() == {"P1": 1000, "P2": 2500}
    assert list(recent_changes.index) == ["P2"]
    assert exists == [True, True, False]


async def test_the_newest_stored_events_are_the_stream_jobs_watermarks_by_kind(
    database_url: str,
) -> None:
    """What a model's DATA_UNTIL records and is compared with: per kind of event the areas read,
    the newest event the stream job has stored (its watermarks, as it leaves them after counting
    a generated world)."""
    config = GeneratorConfig(
        start=date(2026, 1, 1), days=20, shops=2, scale=0.1, seed=5, products_per_shop=4
    )
    events = list(generate_history(config))
    shop_id = sorted(shops_of(events))[0]
    with migrated_database(database_url, shops_of(events)) as dsn:
        await asyncio.to_thread(load_world, dsn, events)
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        try:
            stored = await EventRepository(pool).newest_events(shop_id)
        finally:
            await pool.close()
    newest: dict[str, datetime] = {}
    for event in events:
        if event.shop_id == shop_id:
            kind = event.WhichOneof("payload") or ""
            occurred = event.occurred_at.ToDatetime(tzinfo=UTC)
            newest[kind] = max(newest.get(kind, occurred), occurred)
    assert stored == newest
    assert set(stored) >= {kind for kinds in AREAS.values() for kind in kinds}
