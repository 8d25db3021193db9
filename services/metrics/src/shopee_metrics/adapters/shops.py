"""The registered shops (events of any other shop are dead-lettered), re-read now and then."""

from __future__ import annotations

import time

import asyncpg

UNKNOWN_SHOP_RECHECK_SECONDS = 1.0


class ShopRegistry:
    """Shop ids from the `shops` table; a batch naming an unknown shop triggers a re-read (at
    most once a second), so a shop registered a moment ago is not dead-lettered."""

    def __init__(self, pool: asyncpg.Pool, refresh_seconds: float) -> None:
        self._pool = pool
        self._refresh = refresh_seconds
        self._shops: set[str] = set()
        self._loaded_at = float("-inf")

    async def known(self, shops_in_batch: set[str]) -> set[str]:
        age = time.monotonic() - self._loaded_at
        if age > self._refresh or (
            not shops_in_batch <= self._shops and age > UNKNOWN_SHOP_RECHECK_SECONDS
        ):
            await self.reload()
        return self._shops

    async def reload(self) -> None:
        rows = await self._pool.fetch("SELECT id FROM shops")
        self._shops = {row[0] for row in rows}
        self._loaded_at = time.monotonic()
