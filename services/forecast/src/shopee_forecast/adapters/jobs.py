"""Training jobs in PostgreSQL (table forecast_training_jobs, migration 0006).

A queued or running job is owned by the replica running it: that replica holds a session
advisory lock keyed by the job's id (`JobLeases`) until the job is finished. PostgreSQL drops the
lock with the replica's connection, so a job left queued or running by a replica that was killed,
ran out of memory or lost its node has no lock, and reading it (or the start-up sweep) marks it
failed. The table has no heartbeat column; the lock needs none and no time limit to guess.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

COLUMNS = "id, shop_id, targets, trigger, state, series_done, series_total, error, started_at, finished_at"
ABANDONED = "interrupted: the replica running it stopped"
# Two int4 keys: a namespace for these locks, and the job's id hashed. A hash collision only makes
# a dead job look owned while the other job runs.
OWNER_KEYS = "hashtext('forecast_training_jobs.owner'), hashtext($1::text)"
OWNER_HELD = (
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND classid = hashtext('forecast_training_jobs.owner')::oid "
    "AND objid = hashtext(job.id::text)::oid"
)
# A node that vanishes leaves its connection open on the server; TCP keepalives close it (and so
# release its locks) within about two minutes instead of the kernel default of over two hours.
KEEPALIVES = {"tcp_keepalives_idle": 60, "tcp_keepalives_interval": 10, "tcp_keepalives_count": 6}


@dataclass(frozen=True)
class TrainingJobRow:
    job_id: str
    shop_id: str | None
    targets: list[str]
    trigger: str
    state: str
    series_done: int
    series_total: int
    error: str
    started_at: datetime | None
    finished_at: datetime | None


def _row(record: asyncpg.Record) -> TrainingJobRow:
    return TrainingJobRow(
        job_id=str(record["id"]),
        shop_id=record["shop_id"],
        targets=list(record["targets"]),
        trigger=record["trigger"],
        state=record["state"],
        series_done=record["series_done"],
        series_total=record["series_total"],
        error=record["error"],
        started_at=record["started_at"],
        finished_at=record["finished_at"],
    )


class JobLeases:
    """The owner locks of the jobs this replica runs, on a connection of their own, open while any
    job runs: outside the pool, so taking a lock never waits for a pooled connection, and closing
    it drops every lock at once."""

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]]) -> None:
        self._connect = connect
        self._connection: asyncpg.Connection | None = None
        self._held: set[uuid.UUID] = set()
        self._lock = asyncio.Lock()  # one query at a time on the connection

    async def hold(self, job_id: uuid.UUID) -> None:
        async with self._lock:
            connection = await self._connected()
            await connection.execute(f"SELECT pg_advisory_lock({OWNER_KEYS})", str(job_id))
            self._held.add(job_id)

    async def renew(self) -> None:
        """Take the locks again if the database dropped their connection (a restart)."""
        async with self._lock:
            if self._held:
                await self._connected()

    async def release(self, job_id: uuid.UUID) -> None:
        async with self._lock:
            self._held.discard(job_id)
            if self._connection is None:
                return
            if not self._held or self._connection.is_closed():
                await self._disconnect()
            else:
                await self._connection.execute(
                    f"SELECT pg_advisory_unlock({OWNER_KEYS})", str(job_id)
                )

    async def close(self) -> None:
        """Drop every lock: the jobs still held then read as failed."""
        async with self._lock:
            self._held.clear()
            await self._disconnect()

    async def _connected(self) -> asyncpg.Connection:
        """The lock connection, replaced (and every held lock taken on it) if it was lost."""
        if self._connection is not None and not self._connection.is_closed():
            return self._connection
        await self._disconnect()
        connection = await self._connect()
        try:
            for name, value in KEEPALIVES.items():
                await connection.execute(f"SET {name} = {value}")
            for held in self._held:
                await connection.execute(f"SELECT pg_advisory_lock({OWNER_KEYS})", str(held))
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        return connection

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


class TrainingJobs:
    def __init__(self, pool: asyncpg.Pool, leases: JobLeases) -> None:
        self._pool = pool
        self.leases = leases

    async def create(self, shop_id: str | None, targets: list[str], trigger: str) -> str:
        """Record a queued job owned by this replica (locked before the row exists)."""
        job_id = uuid.uuid4()
        await self.leases.hold(job_id)
        try:
            await self._pool.execute(
                "INSERT INTO forecast_training_jobs (id, shop_id, targets, trigger) "
                "VALUES ($1, $2, $3, $4)",
                job_id,
                shop_id,
                targets,
                trigger,
            )
        except BaseException:
            await self.leases.release(job_id)
            raise
        return str(job_id)

    async def claim_scheduled(self, targets: list[str], within: timedelta) -> str | None:
        """Record the scheduled job of this firing, unless another replica already did: every
        replica runs the schedule, and the first to claim the firing (under a transaction-scoped
        advisory lock) trains; the others get None. A firing is one `within` of the last."""
        job_id = uuid.uuid4()
        await self.leases.hold(job_id)
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                await connection.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('forecast_training_jobs.schedule'))"
                )
                claimed = await connection.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM forecast_training_jobs "
                    "WHERE trigger = 'schedule' AND created_at > now() - $1::interval)",
                    within,
                )
                if not claimed:
                    await connection.execute(
                        "INSERT INTO forecast_training_jobs (id, shop_id, targets, trigger) "
                        "VALUES ($1, NULL, $2, 'schedule')",
                        job_id,
                        targets,
                    )
        except BaseException:
            await self.leases.release(job_id)
            raise
        if claimed:
            await self.leases.release(job_id)
            return None
        return str(job_id)

    async def start(self, job_id: str, series_total: int) -> None:
        await self._pool.execute(
            "UPDATE forecast_training_jobs SET state = 'running', started_at = now(), "
            "series_total = $2 WHERE id = $1",
            uuid.UUID(job_id),
            series_total,
        )

    async def progress(self, job_id: str, series_done: int) -> None:
        await self.leases.renew()
        await self._pool.execute(
            "UPDATE forecast_training_jobs SET series_done = $2 WHERE id = $1",
            uuid.UUID(job_id),
            series_done,
        )

    async def finish(self, job_id: str, error: str) -> None:
        """The job failed with `error`."""
        await self._set_finished(job_id, "failed", error)

    async def finish_succeeded(self, job_id: str, note: str = "") -> None:
        """The job ran every series; `note` lists the ones skipped for too little history."""
        await self._set_finished(job_id, "succeeded", note)

    async def _set_finished(self, job_id: str, state: str, text: str) -> None:
        key = uuid.UUID(job_id)
        try:
            await self._pool.execute(
                "UPDATE forecast_training_jobs SET state = $2, error = $3, finished_at = now() "
                "WHERE id = $1",
                key,
                state,
                text,
            )
        finally:
            await self.leases.release(key)

    async def fail_abandoned(self, job_id: uuid.UUID | None = None) -> int:
        """Mark failed the queued and running jobs (or the one job) no live replica owns; returns
        how many. Run at start-up and before each read."""
        status = await self._pool.execute(
            "UPDATE forecast_training_jobs AS job "
            "SET state = 'failed', error = $1, finished_at = now() "
            "WHERE state IN ('queued', 'running') AND ($2::uuid IS NULL OR id = $2) "
            f"AND NOT EXISTS ({OWNER_HELD})",
            ABANDONED,
            job_id,
        )
        return int(status.split()[-1])

    async def get(self, job_id: str) -> TrainingJobRow | None:
        try:
            key = uuid.UUID(job_id)
        except ValueError:
            return None
        await self.fail_abandoned(key)
        record = await self._pool.fetchrow(
            f"SELECT {COLUMNS} FROM forecast_training_jobs WHERE id = $1",
            key,
        )
        return None if record is None else _row(record)
