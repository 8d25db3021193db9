"""The stream job's store on the real PostgreSQL: sums that do not fit a bigint (one valid order
can reach 10^20 minor units) are written exactly, and later ordinary batches add to them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import psycopg
import pytest

from shopee.events.v1 import events_pb2
from shopee_common.events import MAX_AMOUNT_MINOR, MAX_QUANTITY
from shopee_metrics.adapters.store import KpiStore, fits_bigint
from shopee_metrics.domain.batch import Candidate, Position, candidate, increments, plan
from tests.integration.databases import migrated_database

pytestmark = pytest.mark.integration

SHOPS = {"jkt": "Asia/Jakarta"}
AT = datetime(2026, 11, 11, 3, 0, tzinfo=UTC)


def paid(event_id: str, quantity: int, unit_price_minor: int, offset: int) -> Candidate:
    event = events_pb2.Event(event_id=event_id, shop_id="jkt", time_zone="Asia/Jakarta")
    event.occurred_at.FromDatetime(AT + timedelta(seconds=offset))
    event.order.order_id, event.order.status = event_id, events_pb2.ORDER_STATUS_PAID
    event.order.currency = "IDR"
    event.order.items.add(product_id="p1", quantity=quantity, unit_price_minor=unit_price_minor)
    return candidate(event, Position("events.orders", 0, offset))


@pytest.fixture
def database(database_url: str) -> Iterator[str]:
    with migrated_database(database_url, SHOPS) as dsn:
        yield dsn


async def _apply(dsn: str, batches: list[list[Candidate]]) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        store = KpiStore(pool, timedelta(minutes=10))
        for batch in batches:
            store.prepare(batch)
            await store.apply(batch)
    finally:
        await pool.close()


def test_sums_beyond_bigint_are_exact_and_ordinary_batches_add_to_them(database: str) -> None:
    huge = paid("huge", MAX_QUANTITY, MAX_AMOUNT_MINOR, 1)
    small = paid("small", 3, 12_345, 2)
    later = paid("later", 1, 99, 3)
    wide_batch, ordinary_batch = [huge, small], [later]
    grace = timedelta(minutes=10)
    assert not fits_bigint(increments(plan(wide_batch, {}, grace), {}))
    assert fits_bigint(increments(plan(ordinary_batch, {}, grace), {}))
    asyncio.run(_apply(database, [wide_batch, ordinary_batch]))
    expected = Decimal(MAX_QUANTITY * MAX_AMOUNT_MINOR + 3 * 12_345 + 99)
    assert expected > 2**63
    with psycopg.connect(database) as connection:
        for table in ("kpi_minute", "kpi_hour", "kpi_day"):
            rows = connection.execute(
                f"SELECT product_id, kpi, numerator FROM {table} "
                "WHERE kpi IN ('gmv', 'units') AND shop_id = 'jkt' ORDER BY 1, 2"
            ).fetchall()
            by_key = {(product, kpi): numerator for product, kpi, numerator in rows}
            assert by_key[("", "gmv")] == expected, table
            assert by_key[("", "units")] == MAX_QUANTITY + 4, table
            if table != "kpi_minute":  # products have hour and day rows only
                assert by_key[("p1", "gmv")] == expected, table
