"""Training jobs with several replicas: each fires the schedule and exactly one claims the
firing; a job whose replica died (its owner lock gone with its connection) ends as failed, one
whose replica lives stays running."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

import asyncpg
import pytest

from shopee_forecast.adapters.jobs import ABANDONED, JobLeases, TrainingJobs
from tests.integration.databases import migrated_database

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)


def training_jobs(dsn: str, pool: asyncpg.Pool) -> TrainingJobs:
    return TrainingJobs(pool, JobLeases(partial(asyncpg.connect, dsn)))


async def claims(dsn: str, replicas: int) -> list[str | None]:
    pools = [await asyncpg.create_pool(dsn, min_size=1, max_size=1) for _ in range(replicas)]
    jobs = [training_jobs(dsn, pool) for pool in pools]
    try:
        return await asyncio.gather(*(job.claim_scheduled([], DAY / 2) for job in jobs))
    finally:
        for job, pool in zip(jobs, pools, strict=True):
            await job.leases.close()
            await pool.close()


def test_one_replica_claims_each_firing_of_the_schedule(database_url: str) -> None:
    with migrated_database(database_url, {}) as dsn:
        # A job a user started just before does not take the schedule's place.
        asyncio.run(start_rpc_job(dsn))
        first = asyncio.run(claims(dsn, 3))
        assert len([job for job in first if job is not None]) == 1
        # A day later (the jobs moved back in time): the next firing is claimed again, once.
        asyncio.run(age_jobs(dsn, DAY))
        second = asyncio.run(claims(dsn, 2))
        assert len([job for job in second if job is not None]) == 1
        assert set(second) - {None} != set(first) - {None}


async def start_rpc_job(dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    jobs = training_jobs(dsn, pool)
    try:
        await jobs.create("shop-1", ["gmv"], "rpc")
    finally:
        await jobs.leases.close()
        await pool.close()


async def age_jobs(dsn: str, by: timedelta) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "UPDATE forecast_training_jobs SET created_at = created_at - $1::interval", by
        )
    finally:
        await connection.close()


async def replica_dies_mid_job(dsn: str) -> None:
    living, reader = [await asyncpg.create_pool(dsn, min_size=1, max_size=1) for _ in range(2)]
    owner = await asyncpg.connect(dsn)  # the dying replica's lock connection

    async def owner_connection() -> asyncpg.Connection:
        return owner

    doomed = TrainingJobs(reader, JobLeases(owner_connection))
    survivor = training_jobs(dsn, living)
    try:
        lost = await doomed.create("shop-1", [], "rpc")
        await doomed.start(lost, 4)
        await doomed.progress(lost, 1)
        queued = await doomed.create("shop-2", [], "rpc")
        running = await survivor.create("shop-3", [], "rpc")
        await survivor.start(running, 2)
        done = await survivor.create("shop-4", [], "rpc")
        await survivor.finish_succeeded(done)
        jobs = training_jobs(dsn, reader)
        assert await jobs.fail_abandoned() == 0
        assert (await jobs.get(lost)).state == "running"  # type: ignore[union-attr]

        owner.terminate()  # kill -9: its session ends, and its locks with it
        row = await jobs.get(lost)
        for _ in range(50):
            if row is not None and row.state == "failed":
                break
            await asyncio.sleep(0.1)
            row = await jobs.get(lost)
        assert row is not None
        assert (row.state, row.error, row.series_done) == ("failed", ABANDONED, 1)
        assert row.finished_at is not None
        # The start-up sweep finds the dead replica's queued job; the live replica's job and the
        # finished one are left alone.
        assert await jobs.fail_abandoned() == 1
        assert (await jobs.get(queued)).error == ABANDONED  # type: ignore[union-attr]
        assert (await jobs.get(running)).state == "running"  # type: ignore[union-attr]
        assert (await jobs.get(done)).state == "succeeded"  # type: ignore[union-attr]

        # A database restart drops the live replica's lock connection: its next progress takes
        # the lock again, and the job still reads as running.
        await reader.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND objid = hashtext($1)::oid",
            running,
        )
        await asyncio.sleep(0.5)
        await survivor.progress(running, 1)
        assert (await jobs.get(running)).state == "running"  # type: ignore[union-attr]
        await survivor.finish_succeeded(running)
    finally:
        owner.terminate()
        await survivor.leases.close()
        await living.close()
        await reader.close()


def test_a_job_whose_replica_died_ends_as_failed(database_url: str) -> None:
    with migrated_database(database_url, {}) as dsn:
        asyncio.run(replica_dies_mid_job(dsn))
