"""Which churn horizons callers asked for lately, in Redis (every replica serves PredictChurn, and
the one that claims the schedule decides what to retrain): one key per shop and horizon whose TTL
is the window, so a horizon nobody asks for drops out by itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from redis.asyncio import Redis

PREFIX = "shopee:forecast:churn-asked"
RECENT = timedelta(days=7)


def asked_key(shop_id: str, horizon_days: int) -> str:
    return f"{PREFIX}:{shop_id}:{horizon_days}"


class ChurnRequests:
    def __init__(self, redis: Redis, recent: timedelta = RECENT) -> None:
        self._redis = redis
        self._ttl = int(recent.total_seconds())

    async def record(self, shop_id: str, horizon_days: int) -> None:
        await self._redis.set(asked_key(shop_id, horizon_days), 1, ex=self._ttl)

    async def recent(self, shop_id: str, horizons: Sequence[int]) -> set[int]:
        """The horizons asked for within the window."""
        if not horizons:
            return set()
        asked = await self._redis.mget([asked_key(shop_id, h) for h in horizons])
        return {h for h, value in zip(horizons, asked, strict=True) if value is not None}
