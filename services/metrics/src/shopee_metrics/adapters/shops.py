"""The registered shops and their time zones (events of any other shop, or in another zone, are
dead-lettered), re-read now and then."""

from __future__ import annotations

import time
from collections.abc import Mapping

import asyncpg

UNKNOWN_SHOP_RECHECK_SECONDS = 1.0


class ShopRegistry:
    """Shop ids and zones from the `shops` table; a batch naming an unknown shop, or a shop in
    another zone, triggers a re-read (at most once a second), so a shop registered or moved a
    moment ago is not dead-lettered."""

    def __init__(self, pool: asyncpg.Pool, refresh_seconds: float) -> None:
        self._pool = pool
        self._refresh = refresh_seconds
        self._zones: dict[str, str] = {}
        self._loaded_at = float("-inf")

    async def known(self, in_batch: set[tuple[str, str]]) -> Mapping[str, str]:
        """Every registered shop's time zone; `in_batch` = the batch's (shop, zone) pairs."""
        age = time.monotonic() - self._loaded_at
        surprising = any(self._zones.get(shop) != zone for shop, zone in in_batch)
        if age > self._refresh or (surprising and age > UNKNOWN_SHOP_RECHECK_SECONDS):
            await self.reload()
        return self._zones

    async def reload(self) -> None:
        rows = await self._pool.fetch("SELECT id, time_zone FROM shops")
        self._zones = {row[0]: row[1] for row in rows}
        self._loaded_at = time.monotonic()
