"""The insights refresh schedule with several replicas: each fires, and exactly one claims each
shop for a firing (the claim rows in the real PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from shopee_insights.adapters.refresh_claims import RefreshClaims
from tests.integration.databases import migrated_database

pytestmark = pytest.mark.integration
# Short, so the test can wait out the window; long enough for a round of claims on a busy machine.
WINDOW = timedelta(seconds=5)


async def claims(dsn: str, replicas: int, shop_id: str = "shop-1") -> list[bool]:
    pools = [await asyncpg.create_pool(dsn, min_size=1, max_size=1) for _ in range(replicas)]
    try:
        return await asyncio.gather(
            *(
                RefreshClaims(pool, f"replica-{i}").claim(WINDOW, shop_id)
                for i, pool in enumerate(pools)
            )
        )
    finally:
        for pool in pools:
            await pool.close()


async def claimant(dsn: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        value: str = await connection.fetchval(
            "SELECT value FROM platform_meta WHERE key = 'insights.scheduled_refresh:shop-1'"
        )
        return value
    finally:
        await connection.close()


def test_one_replica_claims_each_shop_at_each_firing_of_the_refresh(database_url: str) -> None:
    with migrated_database(database_url, {}) as dsn:
        # The first claim ever inserts the row: replicas racing for it still claim once.
        first = asyncio.run(claims(dsn, 3))
        assert first.count(True) == 1
        winner = asyncio.run(claimant(dsn))
        assert winner == f"replica-{first.index(True)}"
        # Within the window: claimed already, by no one again; another shop is claimed once.
        assert asyncio.run(claims(dsn, 2)) == [False, False]
        assert asyncio.run(claims(dsn, 3, "shop-2")).count(True) == 1
        asyncio.run(asyncio.sleep(WINDOW.total_seconds() + 0.5))
        # The next firing: claimed again, once.
        assert asyncio.run(claims(dsn, 3)).count(True) == 1
