"""The locks of the jobs and shops a replica works on (`JobLeases`): a job's taken before its row
exists and dropped once the replica leaves it, a shop's taken once, and both taken again on a new
connection when the database dropped theirs. A job without its lock reads as failed
(tests/integration/test_forecast_schedule.py has the real PostgreSQL)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from shopee_forecast.adapters.jobs import JobLeases, TrainingJobs, shop_lock


class _Connection:
    """Advisory locks by their key (the second argument), as one PostgreSQL session holds them."""

    def __init__(self, log: list[str], taken_elsewhere: set[str]) -> None:
        self.log = log
        self.locks: set[str] = set()
        self.closed = False
        self.taken_elsewhere = taken_elsewhere

    async def execute(self, sql: str, *args: Any) -> str:
        if self.closed:
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
        if "advisory_unlock" in sql:
            self.locks.discard(args[1])
            self.log.append(f"unlock {args[1]}")
        elif "advisory_lock" in sql:
            await self.fetchval(sql, *args)
        return "SELECT 1"

    async def fetchval(self, sql: str, *args: Any) -> bool:
        if "try_advisory_lock" in sql and args[1] in self.taken_elsewhere:
            return False
        self.locks.add(args[1])
        self.log.append(f"lock {args[1]}")
        return True

    def get_server_pid(self) -> int:
        return 1

    def is_closed(self) -> bool:
        return self.closed

    async def close(self) -> None:
        if not self.closed:
            self.log.append("closed")
        self.closed = True
        self.locks.clear()


class _Pool:
    """Logs the pool's statements by their first two words; the lock connections log theirs."""

    def __init__(self, refuse: bool = False) -> None:
        self.log: list[str] = []
        self.connections: list[_Connection] = []
        self.refuse = refuse
        self.taken_elsewhere: set[str] = set()

    async def connect(self) -> _Connection:
        connection = _Connection(self.log, self.taken_elsewhere)
        self.connections.append(connection)
        return connection

    @property
    def open(self) -> int:
        return len([c for c in self.connections if not c.closed])

    async def execute(self, sql: str, *args: Any) -> str:
        if self.refuse:
            raise asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")
        self.log.append(" ".join(sql.split()[:2]).lower())
        return "UPDATE 1"


async def test_a_job_is_locked_before_its_row_exists_and_unlocked_once_left() -> None:
    pool = _Pool()
    jobs = TrainingJobs(pool, JobLeases(pool.connect))  # type: ignore[arg-type]
    first = await jobs.create("s1", [], "rpc")
    second = await jobs.create("s2", [], "rpc")
    assert pool.log == [f"lock {first}", "insert into", f"lock {second}", "insert into"]
    assert len(pool.connections) == 1
    assert pool.connections[0].locks == {first, second}

    await jobs.leave(first)
    await jobs.leave(second)
    assert pool.log[4:] == [
        f"unlock {first}",
        "closed",  # the last lock: no lock connection is kept open
    ]
    assert pool.open == 0


async def test_a_shop_is_taken_once_by_a_replica_and_not_while_another_holds_it() -> None:
    pool = _Pool()
    leases = JobLeases(pool.connect)  # type: ignore[arg-type]
    job = "6c1f4c8e-4a55-4b7d-9d5e-0a4f6b1c2d3e"
    # One PostgreSQL session may take its own advisory lock twice: two of this replica's shop
    # workers must not both train the shop.
    assert await leases.try_hold(shop_lock(job, "s1"))
    assert not await leases.try_hold(shop_lock(job, "s1"))
    pool.taken_elsewhere.add(f"{job}/s2")
    assert not await leases.try_hold(shop_lock(job, "s2"))
    assert leases.holds(shop_lock(job, "s1"))
    assert not leases.holds(shop_lock(job, "s2"))


async def test_locks_lost_with_their_connection_are_taken_again_when_renewed() -> None:
    """Every series a shop trains renews them (`TrainingJobs.shop_progress`)."""
    pool = _Pool()
    jobs = TrainingJobs(pool, JobLeases(pool.connect))  # type: ignore[arg-type]
    job = await jobs.create("s1", [], "rpc")
    assert await jobs.leases.try_hold(shop_lock(job, "s1"))
    assert await jobs.leases.try_hold(shop_lock(job, "s2"))
    pool.connections[0].closed = True  # a database restart
    pool.taken_elsewhere.add(f"{job}/s2")  # meanwhile another replica took a shop

    await jobs.leases.renew()

    assert len(pool.connections) == 2
    assert pool.connections[1].locks == {job, f"{job}/s1"}
    assert pool.open == 1


async def test_a_job_that_could_not_be_recorded_leaves_no_lock_behind() -> None:
    pool = _Pool(refuse=True)
    jobs = TrainingJobs(pool, JobLeases(pool.connect))  # type: ignore[arg-type]
    with pytest.raises(asyncpg.exceptions.TooManyConnectionsError):
        await jobs.create("s1", [], "rpc")
    assert pool.log[-1] == "closed"
    assert pool.open == 0
