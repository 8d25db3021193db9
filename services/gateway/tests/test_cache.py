"""The KPI cache's per-shop generations, against an in-memory fake of the Redis calls it uses."""

from __future__ import annotations

from typing import Any

from shopee_gateway.cache import KpiCache


class FakeRedis:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return [self.data.get(k) for k in keys]

    async def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    async def set(self, key: str, value: bytes, ex: int) -> None:
        self.data[key] = value

    async def incr(self, key: str) -> None:
        self.data[key] = str(int(self.data.get(key, b"0")) + 1).encode()


def cache(redis: Any) -> KpiCache:
    return KpiCache(redis, "t:", 60)


async def test_invalidating_a_shop_misses_every_answer_covering_it() -> None:
    redis = FakeRedis()
    kpis = cache(redis)
    both = await kpis.get(["s1", "s2"], "q")
    await kpis.set(both, b"both")
    only_s2 = await kpis.get(["s2"], "q")
    await kpis.set(only_s2, b"s2")
    assert (await kpis.get(["s2", "s1"], "q")).value == b"both"
    await kpis.invalidate_shop("s1")
    assert (await kpis.get(["s1", "s2"], "q")).value is None
    assert (await kpis.get(["s2"], "q")).value == b"s2"


async def test_an_answer_computed_across_an_update_is_never_served() -> None:
    redis = FakeRedis()
    kpis = cache(redis)
    lookup = await kpis.get(["s1"], "q")  # generations read before the query runs
    await kpis.invalidate_shop("s1")  # an update lands while it runs
    await kpis.set(lookup, b"stale")
    assert (await kpis.get(["s1"], "q")).value is None
