"""Reading a shop's events, its products' latest catalogue state and its registration from
PostgreSQL (asyncpg)."""

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

SHOP_EVENTS_SQL = """
SELECT kind, occurred_at, payload::text AS payload FROM raw_events
WHERE shop_id = $1 AND kind = ANY($2::text[])
UNION ALL
SELECT 'catalog', occurred_at, payload::text FROM product_catalog AS latest
WHERE shop_id = $1 AND 'catalog' = ANY($2::text[])
  AND NOT EXISTS (SELECT 1 FROM raw_events WHERE shop_id = latest.shop_id
                  AND event_id = latest.event_id AND occurred_at = latest.occurred_at)
"""


class EventRepository:
    """Shops, their raw events and their products' latest catalogue state."""

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
        """Every event of the given kinds of one shop, as tables.

        With catalogue events, the latest catalogue event of each product that raw_events no
        longer holds is added from product_catalog, so `products` keeps every product's latest
        state after raw_events' retention. That event is also a true point of the price history
        (the list price ever since), so `catalog` stays one table of events, each once: what
        raw_events holds, plus the latest states it lost.
        """
        rows: list[tuple[str, datetime, str]] = []
        async with self._pool.acquire() as connection, connection.transaction():
            async for row in connection.cursor(
                SHOP_EVENTS_SQL, shop_id, list(kinds), prefetch=20_000
            ):
                rows.append((row["kind"], row["occurred_at"], row["payload"]))
        # Parsing and building take seconds for a big shop: off the event loop, so other calls
        # and the health checks are answered meanwhile.
        return await asyncio.to_thread(_shop_data, shop_id, time_zone, rows)

    async def newest_events(self, shop_id: str) -> dict[str, datetime]:
        """When the shop's newest stored event of each kind happened: the stream job's
        watermarks, kept per source (payload kind) in the transaction that stores the events."""
        rows = await self._pool.fetch(
            "SELECT source, watermark FROM stream_watermarks WHERE shop_id = $1", shop_id
        )
        return {str(row["source"]): row["watermark"] for row in rows}

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
        """The latest state of each product whose latest catalogue event is from `since` on
        (indexed by product_id, columns of `current_products`). Bounded by time, so a request
        reads the products changed since its model's snapshot instead of the whole catalogue."""
        rows = await self._pool.fetch(
            "SELECT occurred_at, payload::text AS payload FROM product_catalog "
            "WHERE shop_id = $1 AND occurred_at >= $2",
            shop_id,
            since,
        )
        return catalog_state((row["occurred_at"], orjson.loads(row["payload"])) for row in rows)

    async def product_exists(self, shop_id: str, product_id: str) -> bool:
        """Whether the shop's catalogue ever named the product (its orders are not looked at)."""
        found = await self._pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM product_catalog WHERE shop_id = $1 AND product_id = $2)",
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
