"""The owner locks of running jobs (`JobLeases`): taken before a job's row exists, dropped once it
is finished, and taken again on a new connection when the database dropped theirs. A job without
its lock reads as failed (tests/integration/test_forecast_schedule.py has the real PostgreSQL)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from shopee_forecast.adapters.jobs import JobLeases, TrainingJobs


class _Connection:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.locks: set[str] = set()
        self.closed = False

    async def execute(self, sql: str, *args: Any) -> str:
        if self.closed:
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
        if "pg_advisory_lock(" in sql:
            self.locks.add(args[0])
            self.log.append(f"lock {args[0]}")
        elif "pg_advisory_unlock(" in sql:
            self.locks.discard(args[0])
            self.log.append(f"unlock {args[0]}")
        return "SELECT 1"

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

    async def connect(self) -> _Connection:
        connection = _Connection(self.log)
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


async def test_a_job_is_locked_before_its_row_exists_and_unlocked_once_finished() -> None:
    pool = _Pool()
    jobs = TrainingJobs(pool, JobLeases(pool.connect))  # type: ignore[arg-type]
    first = await jobs.create("s1", [], "rpc")
    second = await jobs.create("s2", [], "rpc")
    assert pool.log == [f"lock {first}", "insert into", f"lock {second}", "insert into"]
    assert len(pool.connections) == 1
    assert pool.connections[0].locks == {first, second}

    await jobs.finish_succeeded(first)
    await jobs.finish(second, "interrupted: the service stopped")
    assert pool.log[4:] == [
        "update forecast_training_jobs",
        f"unlock {first}",
        "update forecast_training_jobs",
        "closed",  # the last job: no lock connection is kept open
    ]
    assert pool.open == 0


async def test_locks_lost_with_their_connection_are_taken_again_at_the_next_progress() -> None:
    pool = _Pool()
    jobs = TrainingJobs(pool, JobLeases(pool.connect))  # type: ignore[arg-type]
    job = await jobs.create("s1", [], "rpc")
    pool.connections[0].closed = True  # a database restart

    await jobs.progress(job, 1)

    assert len(pool.connections) == 2
    assert pool.connections[1].locks == {job}
    assert pool.open == 1


async def test_a_job_that_could_not_be_recorded_leaves_no_lock_behind() -> None:
    pool = _Pool(refuse=True)
    jobs = TrainingJobs(pool, JobLeases(pool.connect))  # type: ignore[arg-type]
    with pytest.raises(asyncpg.exceptions.TooManyConnectionsError):
        await jobs.create("s1", [], "rpc")
    assert pool.log[-1] == "closed"
    assert pool.open == 0
