"""Reading a shop's events and registration from PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
import orjson
import pandas as pd

from shopee_insights.domain.shop_data import EVENT_KINDS, ShopData, build_shop_data, catalog_state

# What a lost, restarting or overloaded database raises: the gRPC server answers these
# UNAVAILABLE (the caller may retry). InterfaceError: a connection closed under the pool;
# OperatorInterventionError: shutdown, crash recovery, starting up (57xxx);
# InsufficientResourcesError: too many connections, out of memory or disk (53xxx).
CONNECTION_ERRORS = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


class EventRepository:
    """Shops and their raw events."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def shop_time_zone(self, shop_id: str) -> str | None:
        """The shop's IANA zone, or None when it is not registered."""
        value = await self._pool.fetchval("SELECT time_zone FROM shops WHERE id = $1", shop_id)
        return None if value is None else str(value)

    async def shop_ids(self) -> list[str]:
        rows = await self._pool.fetch("SELECT id FROM shops ORDER BY id")
        return [str(row["id"]) for row in rows]

    async def load_shop(
        self, shop_id: str, time_zone: str, kinds: tuple[str, ...] = EVENT_KINDS
    ) -> ShopData:
        """Every event of the given kinds of one shop, as tables."""
        rows: list[tuple[str, datetime, str]] = []
        async with self._pool.acquire() as connection, connection.transaction():
            async for row in connection.cursor(
                "SELECT kind, occurred_at, payload::text AS payload FROM raw_events "
                "WHERE shop_id = $1 AND kind = ANY($2::text[])",
                shop_id,
                list(kinds),
                prefetch=20_000,
            ):
                rows.append((row["kind"], row["occurred_at"], row["payload"]))
        # Parsing and building take seconds for a big shop: off the event loop, so other calls
        # and the health checks are answered meanwhile.
        return await asyncio.to_thread(_shop_data, shop_id, time_zone, rows)

    async def reviews_of_all_shops(self) -> list[tuple[str, int, str]]:
        """(text, stars, language) of every review with text: the sentiment training corpus."""
        rows = await self._pool.fetch(
            "SELECT payload->>'text' AS text, (payload->>'rating')::int AS rating, "
            "COALESCE(payload->>'language', '') AS language FROM raw_events "
            "WHERE kind = 'review' AND COALESCE(payload->>'text', '') <> '' "
            # In a fixed order: the held-out split and so the model follow the rows' order.
            "ORDER BY shop_id, event_id"
        )
        return [(str(r["text"]), int(r["rating"] or 0), str(r["language"])) for r in rows]

    async def catalog_changes(self, shop_id: str, since: datetime) -> pd.DataFrame:
        """The latest state of each product with catalogue events from `since` on (indexed by
        product_id, columns of `current_products`). Bounded by time, so a request reads the few
        hours since its model's snapshot instead of the shop's whole history."""
        rows = await self._pool.fetch(
            "SELECT DISTINCT ON (product) "
            "COALESCE(payload->>'product_id', payload->>'productId') AS product, occurred_at, "
            "payload::text AS payload FROM raw_events "
            "WHERE shop_id = $1 AND kind = 'catalog' AND occurred_at >= $2 "
            "ORDER BY product, occurred_at DESC",
            shop_id,
            since,
        )
        return catalog_state((row["occurred_at"], orjson.loads(row["payload"])) for row in rows)

    async def product_exists(self, shop_id: str, product_id: str) -> bool:
        """Whether the shop's catalogue or orders ever named the product."""
        found = await self._pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM raw_events WHERE shop_id = $1 AND kind = 'catalog' "
            "AND COALESCE(payload->>'product_id', payload->>'productId') = $2)",
            shop_id,
            product_id,
        )
        return bool(found)

    async def ping(self) -> bool:
        return bool(await self._pool.fetchval("SELECT 1"))


def _shop_data(shop_id: str, time_zone: str, rows: list[tuple[str, datetime, str]]) -> ShopData:
    return build_shop_data(
        shop_id, time_zone, ((kind, at, orjson.loads(payload)) for kind, at, payload in rows)
    )
