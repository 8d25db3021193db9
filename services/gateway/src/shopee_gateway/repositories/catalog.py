"""Product names, from each product's latest catalogue event (`product_catalog`, kept by the
database after raw_events' retention): answers name products the way sellers know them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import asyncpg

ProductKey = tuple[str, str]  # (shop_id, product_id)


class NamedProduct(Protocol):
    """An answer's item about one product, which the gateway names."""

    product_id: str
    name: str


class CatalogRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def names(self, products: Iterable[ProductKey]) -> dict[ProductKey, str]:
        """The name of each product whose latest catalogue event carries one, in one read (the
        caller has checked the shops against its principal)."""
        keys = list(products)
        rows = await self._pool.fetch(
            "SELECT c.shop_id, c.product_id, c.payload->>'name' AS name "
            "FROM unnest($1::text[], $2::text[]) AS k(shop_id, product_id) "
            "JOIN product_catalog AS c USING (shop_id, product_id)",
            [shop for shop, _ in keys],
            [product for _, product in keys],
        )
        return {(r["shop_id"], r["product_id"]): r["name"] for r in rows if r["name"]}

    async def name(self, shop_id: str, items: Sequence[NamedProduct]) -> None:
        """Set each item's `name` from its product's latest catalogue event ('' if none)."""
        names = await self.names((shop_id, item.product_id) for item in items)
        for item in items:
            item.name = names.get((shop_id, item.product_id), "")
