"""Redis cache of KPI answers, invalidated per shop in O(1) by a generation counter.

A cached answer's key includes the current generation of every shop it covers; bumping a shop's
generation (`invalidate_shop`, called for each `kpi.updates` snapshot) makes every answer that
covers the shop unreachable at once, and the TTL reclaims them. The generations are read
*before* the query runs and the answer is stored under them, so an update that lands while
the query runs leaves a key nobody asks for rather than a stale answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis


@dataclass(frozen=True)
class CacheLookup:
    """The key an answer lives under, and the cached answer if there was one."""

    key: str
    value: bytes | None


class KpiCache:
    """get -> run the query on a miss -> set(lookup, answer)."""

    def __init__(self, redis: Redis, key_prefix: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._ttl = ttl_seconds

    def _generation_key(self, shop_id: str) -> str:
        return f"{self._prefix}kpigen:{shop_id}"

    async def get(self, shop_ids: Iterable[str], query_key: str) -> CacheLookup:
        """Look up the answer to `query_key` (a canonical string of the query) over `shop_ids`."""
        shops = sorted(set(shop_ids))
        generations = (
            await self._redis.mget([self._generation_key(s) for s in shops]) if shops else []
        )
        stamp = ",".join(
            f"{shop}={_text(gen)}" for shop, gen in zip(shops, generations, strict=True)
        )
        digest = hashlib.sha256(f"{query_key}|{stamp}".encode()).hexdigest()
        key = f"{self._prefix}kpi:{digest}"
        value = await self._redis.get(key)
        return CacheLookup(key, value.encode() if isinstance(value, str) else value)

    async def set(self, lookup: CacheLookup, value: bytes) -> None:
        """Store the answer under the key `get` computed."""
        await self._redis.set(lookup.key, value, ex=self._ttl)

    async def invalidate_shop(self, shop_id: str) -> None:
        """Make every cached answer that covers `shop_id` stale."""
        await self._redis.incr(self._generation_key(shop_id))


def _text(generation: bytes | str | None) -> str:
    if generation is None:
        return "0"
    return generation.decode() if isinstance(generation, bytes) else generation
