"""Training jobs in PostgreSQL (tables forecast_training_jobs and forecast_training_shops,
migrations 0006 and 0012).

A job is a list of shops. Each replica working on a job holds a shared session advisory lock keyed
by the job's id, and an exclusive one on the shop it is training, both on a connection of their own
(`JobLeases`). PostgreSQL drops the locks with the replica's connection, so:
- a shop left running by a replica that was killed, ran out of memory or lost its node has no
  lock, and any replica working on the job takes it again;
- a job nobody holds any more reads as failed (at reading, and in the start-up sweep).
The tables have no heartbeat column; the locks need none and no time limit to guess.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

COLUMNS = "id, shop_id, targets, trigger, state, series_done, series_total, error, started_at, finished_at"
SHOP_COLUMNS = "shop_id, state, series_done, series_total, skipped, error"
ABANDONED = "interrupted: the replica running it stopped"
OPEN = ("queued", "running")
# A job goes on while a replica works on it, even if a read marked it abandoned meanwhile (its lock
# connection was being replaced after a database restart): its end records its real outcome.
WORKED_ON = (
    f"(job.state IN ('queued', 'running') OR (job.state = 'failed' AND job.error = '{ABANDONED}'))"
)
# Each lock is two int4 keys: its kind's namespace, and the job's (or job and shop's) key hashed.
# A hash collision only makes a dead job or shop look owned while the other one is worked on.
JOB_LOCKS = "forecast_training_jobs.owner"
SHOP_LOCKS = "forecast_training_shops.owner"
HELD = (
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND classid = hashtext('{namespace}')::oid AND objid = hashtext({key})::oid"
)
JOB_HELD = HELD.format(namespace=JOB_LOCKS, key="job.id::text")
SHOP_HELD = HELD.format(namespace=SHOP_LOCKS, key="shop.job_id::text || '/' || shop.shop_id")
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


@dataclass(frozen=True)
class TrainingShopRow:
    shop_id: str
    state: str
    series_done: int
    series_total: int
    skipped: list[str]
    error: str


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


@dataclass(frozen=True)
class Lock:
    """An advisory lock of the leases: a job's (shared by the replicas working on it) or a shop's
    within a job (exclusive)."""

    namespace: str
    key: str

    @property
    def shared(self) -> bool:
        return self.namespace == JOB_LOCKS


def job_lock(job_id: str) -> Lock:
    return Lock(JOB_LOCKS, str(uuid.UUID(job_id)))


def shop_lock(job_id: str, shop_id: str) -> Lock:
    return Lock(SHOP_LOCKS, f"{uuid.UUID(job_id)}/{shop_id}")


def _lock_sql(lock: Lock, verb: str) -> str:
    suffix = "_shared" if lock.shared else ""
    return f"SELECT pg_{verb}{suffix}(hashtext($1), hashtext($2))"


class JobLeases:
    """The locks of the jobs and shops this replica works on, on a connection of their own, open
    while any is held: outside the pool, so taking a lock never waits for a pooled connection, and
    closing it drops every lock at once."""

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]]) -> None:
        self._connect = connect
        self._connection: asyncpg.Connection | None = None
        self._held: set[Lock] = set()
        self._lock = asyncio.Lock()  # one query at a time on the connection

    async def hold(self, lock: Lock) -> None:
        """Take the lock, waiting for it if it is exclusive and held elsewhere."""
        async with self._lock:
            connection = await self._connected()
            if lock not in self._held:
                await connection.execute(_lock_sql(lock, "advisory_lock"), lock.namespace, lock.key)
                self._held.add(lock)

    async def try_hold(self, lock: Lock) -> bool:
        """Take the lock if nobody, this replica included, holds it."""
        async with self._lock:
            if lock in self._held:
                return False
            connection = await self._connected()
            taken = await connection.fetchval(
                _lock_sql(lock, "try_advisory_lock"), lock.namespace, lock.key
            )
            if taken:
                self._held.add(lock)
            return bool(taken)

    def holds(self, lock: Lock) -> bool:
        return lock in self._held

    async def renew(self) -> None:
        """Take the locks again if the database dropped their connection (a restart)."""
        async with self._lock:
            if self._held:
                await self._connected()

    async def release(self, lock: Lock) -> None:
        async with self._lock:
            if lock not in self._held:
                return
            self._held.discard(lock)
            if self._connection is None:
                return
            if not self._held or self._connection.is_closed():
                await self._disconnect()
            else:
                await self._connection.execute(
                    _lock_sql(lock, "advisory_unlock"), lock.namespace, lock.key
                )

    async def server_pid(self) -> int | None:
        """The lock connection's backend, None while no lock is held."""
        async with self._lock:
            return None if self._connection is None else self._connection.get_server_pid()

    async def close(self) -> None:
        """Drop every lock: the jobs held only here then read as failed."""
        async with self._lock:
            self._held.clear()
            await self._disconnect()

    async def _connected(self) -> asyncpg.Connection:
        """The lock connection, replaced if it was lost: a job's lock is taken again; a shop's only
        if nobody took the shop meanwhile (then both train it, and the last to finish wins)."""
        if self._connection is not None and not self._connection.is_closed():
            return self._connection
        await self._disconnect()
        connection = await self._connect()
        try:
            for name, value in KEEPALIVES.items():
                await connection.execute(f"SET {name} = {value}")
            for held in self._held:
                verb = "advisory_lock" if held.shared else "try_advisory_lock"
                await connection.execute(_lock_sql(held, verb), held.namespace, held.key)
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
        """Record a queued job this replica works on (locked before the row exists)."""
        job_id = str(uuid.uuid4())
        await self.leases.hold(job_lock(job_id))
        try:
            await self._pool.execute(
                "INSERT INTO forecast_training_jobs (id, shop_id, targets, trigger) "
                "VALUES ($1, $2, $3, $4)",
                uuid.UUID(job_id),
                shop_id,
                targets,
                trigger,
            )
        except BaseException:
            await self.leases.release(job_lock(job_id))
            raise
        return job_id

    async def claim_scheduled(
        self,
        targets: list[str],
        within: timedelta,
        plan: Callable[[], Awaitable[Mapping[str, int]]],
    ) -> str | None:
        """Record the scheduled job of this firing with its shops (`plan`: series planned per
        shop), unless another replica already did: every replica runs the schedule, the first to
        claim the firing (under a transaction-scoped advisory lock) records it, and the others get
        None and join it (`open_scheduled`). A firing is one `within` of the last. While the last
        firing's job is still worked on, a firing records none (its replicas join that one)."""
        job_id = str(uuid.uuid4())
        await self.leases.hold(job_lock(job_id))
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                await connection.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('forecast_training_jobs.schedule'))"
                )
                claimed = await connection.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM forecast_training_jobs AS job "
                    "WHERE trigger = 'schedule' AND (created_at > now() - $1::interval "
                    f"OR (state = 'running' AND EXISTS ({JOB_HELD}))))",
                    within,
                )
                if not claimed:
                    await connection.execute(
                        "INSERT INTO forecast_training_jobs (id, shop_id, targets, trigger) "
                        "VALUES ($1, NULL, $2, 'schedule')",
                        uuid.UUID(job_id),
                        targets,
                    )
                    await self._plan(connection, job_id, await plan())
        except BaseException:
            await self.leases.release(job_lock(job_id))
            raise
        if claimed:
            await self.leases.release(job_lock(job_id))
            return None
        return job_id

    async def plan(self, job_id: str, shops: Mapping[str, int]) -> None:
        """Record the job's shops with the series planned for each; the job is then running."""
        async with self._pool.acquire() as connection, connection.transaction():
            await self._plan(connection, job_id, shops)

    async def _plan(
        self, connection: asyncpg.Connection, job_id: str, shops: Mapping[str, int]
    ) -> None:
        await connection.executemany(
            "INSERT INTO forecast_training_shops (job_id, shop_id, series_total) "
            "VALUES ($1, $2, $3)",
            [(uuid.UUID(job_id), shop_id, total) for shop_id, total in shops.items()],
        )
        await connection.execute(
            "UPDATE forecast_training_jobs SET state = 'running', started_at = now(), "
            "series_total = $2 WHERE id = $1",
            uuid.UUID(job_id),
            sum(shops.values()),
        )

    async def open_scheduled(self, within: timedelta) -> TrainingJobRow | None:
        """The schedule's running job that a replica works on, or that was recorded less than
        `within` ago (whose replicas may all have stopped: a restarted one takes it up)."""
        record = await self._pool.fetchrow(
            f"SELECT {COLUMNS} FROM forecast_training_jobs AS job WHERE trigger = 'schedule' "
            "AND state = 'running' "
            f"AND (created_at > now() - $1::interval OR EXISTS ({JOB_HELD})) "
            "ORDER BY created_at DESC LIMIT 1",
            within,
        )
        return None if record is None else _row(record)

    async def open_to_join(self) -> list[TrainingJobRow]:
        """Running jobs a replica works on with a shop nobody trains (queued, or left running by
        a replica that stopped), oldest first: work another replica can share. A job nobody
        works on any more is not among them: it reads as failed."""
        records = await self._pool.fetch(
            f"SELECT {COLUMNS} FROM forecast_training_jobs AS job WHERE state = 'running' "
            f"AND EXISTS ({JOB_HELD}) AND EXISTS (SELECT 1 FROM forecast_training_shops AS shop "
            "WHERE shop.job_id = job.id AND (shop.state = 'queued' "
            f"OR (shop.state = 'running' AND NOT EXISTS ({SHOP_HELD})))) "
            "ORDER BY created_at"
        )
        return [_row(record) for record in records]

    async def join(self, job_id: str) -> None:
        """Work on a job another replica recorded."""
        await self.leases.hold(job_lock(job_id))

    async def leave(self, job_id: str) -> None:
        await self.leases.release(job_lock(job_id))

    async def others_working(self, job_id: str) -> bool:
        """Whether another replica works on the job."""
        own = await self.leases.server_pid()
        return bool(
            await self._pool.fetchval(
                f"SELECT EXISTS ({JOB_HELD} AND pid IS DISTINCT FROM $2) "
                "FROM forecast_training_jobs AS job WHERE id = $1",
                uuid.UUID(job_id),
                own,
            )
        )

    async def take_shop(self, job_id: str, replica: str) -> str | None:
        """Take the next shop of the job nobody trains: queued, or left running by a replica that
        stopped. None when there is none now (or the job has ended)."""
        candidates = await self._pool.fetch(
            "SELECT shop.shop_id FROM forecast_training_shops AS shop "
            "JOIN forecast_training_jobs AS job ON job.id = shop.job_id "
            f"WHERE shop.job_id = $1 AND {WORKED_ON} AND (shop.state = 'queued' "
            f"OR (shop.state = 'running' AND NOT EXISTS ({SHOP_HELD}))) "
            "ORDER BY shop.shop_id LIMIT 50",
            uuid.UUID(job_id),
        )
        for candidate in candidates:
            shop_id = str(candidate["shop_id"])
            if not await self.leases.try_hold(shop_lock(job_id, shop_id)):
                continue
            # Under the lock a running shop is one whose replica stopped; a finished one was
            # finished while the candidates were read.
            taken = await self._change_shop(
                job_id,
                shop_id,
                "state = 'running', series_done = 0, skipped = '{}', error = '', replica = $3, "
                "started_at = now(), finished_at = NULL",
                replica,
                only_open=True,
            )
            if taken:
                return shop_id
            await self.leases.release(shop_lock(job_id, shop_id))
        return None

    async def trained_elsewhere(self, job_id: str) -> int:
        """How many shops of the job are queued or training, but not by this replica."""
        await self.leases.renew()
        rows = await self._pool.fetch(
            "SELECT shop.shop_id FROM forecast_training_shops AS shop "
            "JOIN forecast_training_jobs AS job ON job.id = shop.job_id "
            f"WHERE shop.job_id = $1 AND {WORKED_ON} AND shop.state IN ('queued', 'running')",
            uuid.UUID(job_id),
        )
        return len([r for r in rows if not self.leases.holds(shop_lock(job_id, r["shop_id"]))])

    async def shop_started(self, job_id: str, shop_id: str, series_total: int) -> None:
        """The shop's series, counted again as its training starts."""
        await self._change_shop(job_id, shop_id, "series_total = $3", series_total)

    async def shop_progress(self, job_id: str, shop_id: str, series_done: int) -> None:
        await self.leases.renew()
        await self._change_shop(job_id, shop_id, "series_done = $3", series_done)

    async def finish_shop(
        self, job_id: str, shop_id: str, skipped: list[str], error: str = ""
    ) -> None:
        """The shop is trained (`skipped`: 'model: reason' of series with too little history), or
        failed with `error`."""
        try:
            await self._change_shop(
                job_id,
                shop_id,
                "state = $3, skipped = $4, error = $5, finished_at = now()",
                "failed" if error else "succeeded",
                skipped,
                error,
            )
        finally:
            await self.leases.release(shop_lock(job_id, shop_id))

    async def requeue_shop(self, job_id: str, shop_id: str) -> None:
        """Give the shop back, untrained, for another replica to take."""
        try:
            await self._change_shop(
                job_id,
                shop_id,
                "state = 'queued', series_done = 0, replica = '', started_at = NULL",
            )
        finally:
            await self.leases.release(shop_lock(job_id, shop_id))

    async def _change_shop(
        self, job_id: str, shop_id: str, assignments: str, *args: object, only_open: bool = False
    ) -> bool:
        """Update the shop's row and add what its counts moved by to the job's, in one
        transaction; with `only_open`, only a queued or running shop. Returns whether it did."""
        key = uuid.UUID(job_id)
        async with self._pool.acquire() as connection, connection.transaction():
            before = await connection.fetchrow(
                "SELECT state, series_done, series_total FROM forecast_training_shops "
                "WHERE job_id = $1 AND shop_id = $2 FOR UPDATE",
                key,
                shop_id,
            )
            if before is None or (only_open and before["state"] not in OPEN):
                return False
            after = await connection.fetchrow(
                f"UPDATE forecast_training_shops SET {assignments} "
                "WHERE job_id = $1 AND shop_id = $2 RETURNING series_done, series_total",
                key,
                shop_id,
                *args,
            )
            await connection.execute(
                "UPDATE forecast_training_jobs SET series_done = series_done + $2, "
                "series_total = series_total + $3 WHERE id = $1",
                key,
                after["series_done"] - before["series_done"],
                after["series_total"] - before["series_total"],
            )
            return True

    async def shops(self, job_id: str) -> list[TrainingShopRow]:
        rows = await self._pool.fetch(
            f"SELECT {SHOP_COLUMNS} FROM forecast_training_shops WHERE job_id = $1 "
            "ORDER BY shop_id",
            uuid.UUID(job_id),
        )
        return [
            TrainingShopRow(
                shop_id=r["shop_id"],
                state=r["state"],
                series_done=r["series_done"],
                series_total=r["series_total"],
                skipped=list(r["skipped"]),
                error=r["error"],
            )
            for r in rows
        ]

    async def close(self, job_id: str, succeeded: bool, text: str = "") -> bool:
        """End the job as succeeded (`text`: a note) or failed (`text`: the error), unless it has
        ended already (another replica); returns whether this call ended it."""
        status: str = await self._pool.execute(
            "UPDATE forecast_training_jobs AS job SET state = $2, error = $3, finished_at = now() "
            f"WHERE id = $1 AND {WORKED_ON}",
            uuid.UUID(job_id),
            "succeeded" if succeeded else "failed",
            text,
        )
        return status.split()[-1] == "1"

    async def fail_abandoned(self, job_id: str | None = None) -> int:
        """Mark failed the queued and running jobs (or the one job) no live replica works on;
        returns how many. Run at start-up and before each read."""
        status = await self._pool.execute(
            "UPDATE forecast_training_jobs AS job "
            "SET state = 'failed', error = $1, finished_at = now() "
            "WHERE state IN ('queued', 'running') AND ($2::uuid IS NULL OR id = $2) "
            f"AND NOT EXISTS ({JOB_HELD})",
            ABANDONED,
            None if job_id is None else uuid.UUID(job_id),
        )
        return int(status.split()[-1])

    async def get(self, job_id: str) -> TrainingJobRow | None:
        try:
            key = uuid.UUID(job_id)
        except ValueError:
            return None
        await self.fail_abandoned(job_id)
        record = await self._pool.fetchrow(
            f"SELECT {COLUMNS} FROM forecast_training_jobs WHERE id = $1",
            key,
        )
        return None if record is None else _row(record)
