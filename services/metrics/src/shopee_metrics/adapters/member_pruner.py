"""Pruning `kpi_members`: a member row is needed only while an event that still counts can land
in its bucket (docs/metrics.md, "Distinct members").

An event counts when it is at most the late grace behind the newest event of its shop and source
(the watermark, which only moves forward), so once a bucket ends more than the grace behind that
watermark no counted event can fall in it again and its rows can go. Event time decides, never
the wall clock: a replay of old history prunes as it advances. Rows go in bounded chunks, each its
own short statement on rows no batch writes, and the pruner rests between chunks so that it works
at most `duty` of the time: after a backlog (a replay, a restart) deleting hundreds of thousands
of rows back to back took the database from the batches long enough to put the p99 latency to
`kpi.updates` over a second (BENCHMARKS.md, "Latency with many shops").
"""

from __future__ import annotations

import time
from datetime import timedelta

import asyncpg
import structlog
from prometheus_client import CollectorRegistry, Counter

from shopee_metrics.adapters.pacing import DutyCycle

log = structlog.get_logger("metrics.members")

# Per shop and source, its member rows whose bucket ended more than the grace behind its
# watermark, oldest first (an index scan on (shop_id, source, bucket_end) that stops after $2
# rows, rather than a bitmap of the whole range for every chunk); at most $2 in all.
PRUNE_MEMBERS = """
DELETE FROM kpi_members WHERE ctid = ANY(ARRAY(
    SELECT doomed.ctid FROM stream_watermarks w
    CROSS JOIN LATERAL (
        SELECT m.ctid FROM kpi_members m
        WHERE m.shop_id = w.shop_id AND m.source = w.source
          AND m.bucket_end < w.watermark - $1::interval
        ORDER BY m.bucket_end
        LIMIT $2
    ) doomed
    LIMIT $2
))
"""


class MemberPruner:
    """Deletes the member rows no counted event can need any more, `chunk` rows at a time."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        late_grace: timedelta,
        registry: CollectorRegistry,
        chunk: int = 2_000,
        max_chunks: int = 200,
        duty: float = 0.25,
    ) -> None:
        self._pool = pool
        self._grace = late_grace
        self._chunk = chunk
        self._max_chunks = max_chunks
        self._duty = DutyCycle(duty)
        self._pruned = Counter(
            "metrics_members_pruned_total",
            "kpi_members rows deleted because their bucket ended more than the late grace "
            "behind the watermark of their shop and source",
            registry=registry,
        )

    async def prune(self) -> int:
        """Delete prunable rows, at most `max_chunks` chunks in this call, resting between them;
        returns how many."""
        started = time.perf_counter()
        deleted = 0
        for _ in range(self._max_chunks):
            chunk_started = time.perf_counter()
            async with self._pool.acquire() as connection:
                status = await connection.execute(PRUNE_MEMBERS, self._grace, self._chunk)
            count = int(status.split()[-1])
            deleted += count
            self._pruned.inc(count)
            if count < self._chunk:
                break
            await self._duty.rest(time.perf_counter() - chunk_started)
        if deleted:
            log.info(
                "pruned distinct-member rows",
                rows=deleted,
                seconds=round(time.perf_counter() - started, 3),
            )
        return deleted

    async def prune_safely(self) -> None:
        """A run for the timer: a failure is logged and the next tick tries again."""
        try:
            await self.prune()
        except Exception:
            log.exception("pruning distinct members failed; retrying at the next tick")
