"""Producer API keys: static keys from settings, and organisation keys from the database.

A database key may publish only for its organisation's shops, and only in each shop's registered
time zone. Keys are never stored in plain text: only their SHA-256 (API keys are high-entropy, so
a fast hash is enough).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import asyncpg

from shopee_common.api_keys import hash_api_key


@dataclass(frozen=True)
class Producer:
    """Who is calling: `shop_zones` maps each shop the key may publish for to its registered
    zone; None means any shop, in any zone (a static operator key)."""

    name: str
    organisation_id: str | None
    shop_zones: Mapping[str, str] | None
    key_digest: str | None = None  # an organisation key's, to look it up again

    def may_publish_for(self, shop_id: str) -> bool:
        return self.shop_zones is None or shop_id in self.shop_zones

    def registered_zone(self, shop_id: str) -> str | None:
        """The zone the shop is registered in, or None when this key knows none."""
        return None if self.shop_zones is None else self.shop_zones.get(shop_id)


def parse_static_keys(setting: str) -> list[str]:
    """`SHOPEE_INGEST_API_KEYS` entries as SHA-256 hex digests (plain keys are hashed here)."""
    hashes = []
    for entry in (part.strip() for part in setting.split(",")):
        if entry:
            hashes.append(
                entry.removeprefix("sha256:")
                if entry.startswith("sha256:")
                else hash_api_key(entry)
            )
    return hashes


# How soon a key is looked up again for a shop it may not publish for.
RECHECK_SECONDS = 1.0


class KeyCheckUnavailable(RuntimeError):
    """The database that holds organisation keys did not answer; the key can be neither accepted
    nor refused."""


class ApiKeyAuthority:
    """Resolves a presented key to a Producer, caching database answers briefly."""

    def __init__(
        self, static_hashes: list[str], pool: asyncpg.Pool | None, cache_seconds: float
    ) -> None:
        self._static = static_hashes
        self._pool = pool
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Producer | None]] = {}  # digest -> (looked up, ...)

    async def resolve(self, key: str) -> Producer | None:
        digest = hash_api_key(key)
        for static in self._static:
            if hmac.compare_digest(digest, static):
                return Producer(name="static-key", organisation_id=None, shop_zones=None)
        if self._pool is None:
            return None
        cached = self._cache.get(digest)
        if cached and time.monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        return await self._look_up_again(digest)

    async def for_shops(self, producer: Producer, shops: Iterable[str]) -> Producer:
        """`producer`, looked up again if it may not publish for one of `shops` and was not
        looked up in the last second: a shop registered since is taken at once, not after the
        cache time (and a flood of refused events costs one query a second)."""
        digest = producer.key_digest
        if digest is None or all(producer.may_publish_for(shop) for shop in shops):
            return producer
        cached = self._cache.get(digest)
        if cached and time.monotonic() - cached[0] < RECHECK_SECONDS:
            return producer
        return await self._look_up_again(digest) or producer

    async def _look_up_again(self, digest: str) -> Producer | None:
        try:
            producer = await self._lookup(digest)
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
            raise KeyCheckUnavailable(
                f"cannot check the API key now: {type(exc).__name__}"
            ) from exc
        self._cache[digest] = (time.monotonic(), producer)
        return producer

    async def _lookup(self, digest: str) -> Producer | None:
        assert self._pool is not None
        row = await self._pool.fetchrow(
            """
            SELECT k.name, k.organisation_id::text AS organisation_id,
                   array(
                       SELECT ARRAY[s.id, s.time_zone] FROM shops s
                       WHERE s.organisation_id = k.organisation_id
                   ) AS shop_zones
            FROM api_keys k
            WHERE k.key_hash = $1 AND k.revoked_at IS NULL
              AND (k.expires_at IS NULL OR k.expires_at > now())
            """,
            digest,
        )
        if row is None:
            return None
        return Producer(
            name=row["name"],
            organisation_id=row["organisation_id"],
            shop_zones=dict(row["shop_zones"]),
            key_digest=digest,
        )
