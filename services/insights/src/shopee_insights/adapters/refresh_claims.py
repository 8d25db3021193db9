"""Claims of what the refresh schedule retrains, in PostgreSQL: every replica's scheduler fires
and goes through the shops, and the first to claim a shop for the firing retrains it, the others
skip it.

A claim is one row of `platform_meta` per subject (key `insights.scheduled_refresh:<shop id>`,
value: the replica that claimed, updated_at: when), so no table of the insights' own is needed.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

CLAIM_KEY = "insights.scheduled_refresh"


class RefreshClaims:
    def __init__(self, pool: asyncpg.Pool, claimant: str) -> None:
        self._pool = pool
        self._claimant = claimant

    async def claim(self, within: timedelta, subject: str) -> bool:
        """Claim the subject (a shop) for the current firing, unless a replica claimed it less
        than `within` ago."""
        # One statement: replicas upserting together queue on the row's lock, and each checks
        # the claim time the one before it committed, so exactly one wins (no advisory lock).
        won = await self._pool.fetchval(
            "INSERT INTO platform_meta (key, value) VALUES ($1, $2) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now() "
            "WHERE platform_meta.updated_at <= now() - $3::interval "
            "RETURNING true",
            f"{CLAIM_KEY}:{subject}",
            self._claimant,
            within,
        )
        return bool(won)
