"""Product names, from each product's latest catalogue event (`product_catalog`, kept by the
database after raw_events' retention): answers name products the way sellers know them."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg


class CatalogRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def names(self, shop_id: str, product_ids: Sequence[str]) -> dict[str, str]:
        """The name of each product of the shop whose latest catalogue event carries one (the
        caller has checked the shop against its principal)."""
        rows = await self._pool.fetch(
            "SELECT product_id, payload->>'name' AS name FROM product_catalog "
            "WHERE shop_id = $1 AND product_id = ANY($2::text[])",
            shop_id,
            list(product_ids),
        )
        return {row["product_id"]: row["name"] for row in rows if row["name"]}
