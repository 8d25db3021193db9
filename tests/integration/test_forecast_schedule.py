"""Training jobs with several replicas: each fires the schedule, exactly one records the firing's
job, and every replica trains its shops, one shop each at a time; a shop whose replica died is
trained by another; a job nobody works on any more (its owner locks gone with their connections)
ends as failed, one a live replica works on stays running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial

import asyncpg
import pytest
from redis.asyncio import Redis

from shopee_forecast.adapters.churn_requests import ChurnRequests
from shopee_forecast.adapters.jobs import ABANDONED, JobLeases, TrainingJobs
from shopee_forecast.adapters.store import ForecastStore
from shopee_forecast.retraining import JobRunner
from shopee_forecast.training import Trainer, TrainingOptions
from shopee_models.registry import ModelRegistry
from tests.integration.databases import migrated_database

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)
PLAN = {"shop-1": 2, "shop-2": 3, "shop-3": 1}


def training_jobs(dsn: str, pool: asyncpg.Pool) -> TrainingJobs:
    return TrainingJobs(pool, JobLeases(partial(asyncpg.connect, dsn)))


async def planned(shops: Mapping[str, int] = PLAN) -> Mapping[str, int]:
    return shops


@asynccontextmanager
async def replicas_of(dsn: str, count: int) -> AsyncIterator[list[TrainingJobs]]:
    """The job stores of `count` replicas, each with its own pool and lock connection."""
    pools = [await asyncpg.create_pool(dsn, min_size=1, max_size=2) for _ in range(count)]
    jobs = [training_jobs(dsn, pool) for pool in pools]
    try:
        yield jobs
    finally:
        for job, pool in zip(jobs, pools, strict=True):
            await job.leases.close()
            await pool.close()


async def claims(dsn: str, replicas: int) -> list[str | None]:
    async with replicas_of(dsn, replicas) as jobs:
        return await asyncio.gather(*(job.claim_scheduled([], DAY / 2, planned) for job in jobs))


def test_one_replica_records_each_firing_of_the_schedule(database_url: str) -> None:
    with migrated_database(database_url, {}) as dsn:
        # A job a user started just before does not take the schedule's place.
        asyncio.run(start_rpc_job(dsn))
        first = asyncio.run(claims(dsn, 3))
        assert len([job for job in first if job is not None]) == 1
        # A day later (the jobs moved back in time): the next firing is recorded again, once.
        asyncio.run(age_jobs(dsn, DAY))
        second = asyncio.run(claims(dsn, 2))
        assert len([job for job in second if job is not None]) == 1
        assert set(second) - {None} != set(first) - {None}
        assert asyncio.run(shop_rows(dsn)) == [
            (job, shop, "queued", 0, n)
            for job in sorted({str(j) for j in first + second if j is not None})
            for shop, n in PLAN.items()
        ]


async def a_long_job_spans_firings(dsn: str) -> None:
    async with replicas_of(dsn, 2) as (first, second):
        job = await first.claim_scheduled([], DAY / 2, planned)
        assert job is not None
        await age_jobs(dsn, DAY)
        # The next firing while the first replica still works on the job: no second job; the
        # firing's replicas join the one there is.
        assert await second.claim_scheduled([], DAY / 2, planned) is None
        joined = await second.open_scheduled(DAY / 2)
        assert joined is not None
        assert joined.job_id == job
        # Once nobody works on it (and it is older than a firing), the next firing records anew.
        await first.leave(job)
        assert await second.open_scheduled(DAY / 2) is None
        assert await second.claim_scheduled([], DAY / 2, planned) not in (None, job)


def test_a_firing_while_the_last_firings_job_runs_joins_it(database_url: str) -> None:
    with migrated_database(database_url, {}) as dsn:
        asyncio.run(a_long_job_spans_firings(dsn))


async def shop_rows(dsn: str) -> list[tuple[str, str, str, int, int]]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT job_id::text, shop_id, state, series_done, series_total "
            "FROM forecast_training_shops ORDER BY 1, 2"
        )
    finally:
        await connection.close()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


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


async def replicas_share_a_job(dsn: str) -> None:
    first_pool, second_pool = [
        await asyncpg.create_pool(dsn, min_size=1, max_size=2) for _ in range(2)
    ]
    doomed_locks = await asyncpg.connect(dsn)  # the first replica's lock connection

    async def doomed_connection() -> asyncpg.Connection:
        return doomed_locks

    doomed = TrainingJobs(first_pool, JobLeases(doomed_connection))
    survivor = training_jobs(dsn, second_pool)
    try:
        job = await doomed.claim_scheduled([], DAY / 2, planned)
        assert job is not None
        assert await survivor.claim_scheduled([], DAY / 2, planned) is None
        joined = await survivor.open_scheduled(DAY / 2)
        assert joined is not None
        assert (joined.job_id, joined.series_total) == (job, 6)
        await survivor.join(job)

        assert await doomed.take_shop(job, "first") == "shop-1"
        assert await survivor.take_shop(job, "second") == "shop-2"
        await doomed.shop_started(job, "shop-1", 4)  # a product sold since the plan
        await doomed.shop_progress(job, "shop-1", 1)
        assert await survivor.trained_elsewhere(job) == 2  # shop-1 there, shop-3 queued
        row = await survivor.get(job)
        assert row is not None
        assert (row.state, row.series_done, row.series_total) == ("running", 1, 8)

        doomed_locks.terminate()  # kill -9 of the first replica mid-shop
        await asyncio.sleep(0.5)
        # The shop it was training is taken again, from the start; the job goes on.
        assert await survivor.take_shop(job, "second") == "shop-1"
        row = await survivor.get(job)
        assert row is not None
        assert (row.state, row.series_done) == ("running", 0)
        await survivor.finish_shop(job, "shop-1", ["forecast/shop-1/units/P: too short"])
        await survivor.finish_shop(job, "shop-2", [], "RuntimeError: boom")
        assert await survivor.take_shop(job, "second") == "shop-3"
        await survivor.shop_progress(job, "shop-3", 1)
        await survivor.finish_shop(job, "shop-3", [])
        assert await survivor.take_shop(job, "second") is None
        assert await survivor.trained_elsewhere(job) == 0
        assert [(s.shop_id, s.state) for s in await survivor.shops(job)] == [
            ("shop-1", "succeeded"),
            ("shop-2", "failed"),
            ("shop-3", "succeeded"),
        ]
        assert await survivor.close(job, False, "1 of 3 shops failed")
        assert not await survivor.close(job, True)  # another replica ending it too: once
        row = await survivor.get(job)
        assert row is not None
        assert (row.state, row.error, row.series_done, row.series_total) == (
            "failed",
            "1 of 3 shops failed",
            1,
            8,
        )
    finally:
        doomed_locks.terminate()
        await survivor.leases.close()
        await first_pool.close()
        await second_pool.close()


def test_replicas_share_a_jobs_shops_and_take_over_a_dead_ones(database_url: str) -> None:
    with migrated_database(database_url, {}) as dsn:
        asyncio.run(replicas_share_a_job(dsn))


@asynccontextmanager
async def two_runners(dsn: str, redis_url: str) -> AsyncIterator[list[JobRunner]]:
    """Two real runners, "first" and "second" (each its pool, lock connection and threads)."""
    pools = [await asyncpg.create_pool(dsn, min_size=1, max_size=4) for _ in range(2)]
    redis = Redis.from_url(redis_url)
    runners = []
    try:
        with ThreadPoolExecutor(2) as executor:
            for name, pool in zip(("first", "second"), pools, strict=True):
                store = ForecastStore(pool)
                trainer = Trainer(
                    store, ModelRegistry(pool, "memory://models"), executor, TrainingOptions()
                )
                runner = JobRunner(
                    store,
                    training_jobs(dsn, pool),
                    trainer,
                    ChurnRequests(redis),
                    shop_workers=2,
                    poll=timedelta(seconds=0.2),
                )
                runner.replica = name
                runners.append(runner)
            yield runners
    finally:
        for runner in runners:
            await runner.jobs.leases.close()
        await redis.aclose()
        for pool in pools:
            await pool.close()


async def replicas_of_job(dsn: str, job_id: str) -> list[str]:
    """Which replica trained each shop of the job."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT replica FROM forecast_training_shops WHERE job_id = $1::uuid", job_id
        )
    finally:
        await connection.close()
    return [row["replica"] for row in rows]


async def two_runners_train_the_schedule(dsn: str, redis_url: str) -> None:
    """Every shop's churn model (shops without history) is tried once, by one of two runners,
    and the job ends once."""
    async with two_runners(dsn, redis_url) as runners:
        job = await runners[0].start_scheduled(DAY)
        assert await runners[1].start_scheduled(DAY) == job
        await asyncio.gather(*(runner.wait() for runner in runners))
        assert job is not None
        row = await runners[0].jobs.get(job)
    assert row is not None
    assert (row.state, row.series_done, row.series_total) == ("succeeded", 5, 5)
    assert row.error.startswith("5 skipped: forecast/")  # no orders: nothing to learn from
    replicas = await replicas_of_job(dsn, job)
    assert len(replicas) == 5
    assert set(replicas) <= {"first", "second"}


def test_two_replicas_train_the_scheduled_job_together(database_url: str, redis_url: str) -> None:
    shops = {f"shop-{n}": "Asia/Jakarta" for n in range(5)}
    with migrated_database(database_url, shops) as dsn:
        asyncio.run(two_runners_train_the_schedule(dsn, redis_url))


async def a_replica_joins_anothers_job(dsn: str, redis_url: str) -> None:
    """A Retrain of every shop is recorded by the replica the rpc reached; another replica's
    look for open jobs joins it and trains its shops. A job nobody works on any more is left to
    read as failed, not taken up."""
    dead_owner = await asyncpg.connect(dsn)

    async def dead_owner_connection() -> asyncpg.Connection:
        return dead_owner

    try:
        async with two_runners(dsn, redis_url) as (first, second):
            shops = {f"shop-{n}": 1 for n in range(4)}
            reader = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
            try:
                abandoned_by = TrainingJobs(reader, JobLeases(dead_owner_connection))
                abandoned = await abandoned_by.create(None, [], "rpc")
                await abandoned_by.plan(abandoned, shops)
            finally:
                await reader.close()
            dead_owner.terminate()
            # Recorded and planned as `JobRunner.start` does, and held by the first replica,
            # which has not started on it.
            job = await first.jobs.create(None, [], "rpc")
            await first.jobs.plan(job, shops)

            assert await second.join_open() == [job]
            await second.wait()
            assert await second.join_open() == []
            row = await first.jobs.get(job)
            dead = await first.jobs.get(abandoned)
    finally:
        dead_owner.terminate()
    assert row is not None
    assert (row.state, row.series_done) == ("succeeded", 4)
    assert set(await replicas_of_job(dsn, job)) == {"second"}
    assert dead is not None
    assert (dead.state, dead.error) == ("failed", ABANDONED)


def test_a_replica_joins_a_job_another_recorded(database_url: str, redis_url: str) -> None:
    shops = {f"shop-{n}": "Asia/Jakarta" for n in range(4)}
    with migrated_database(database_url, shops) as dsn:
        asyncio.run(a_replica_joins_anothers_job(dsn, redis_url))


async def replica_dies_mid_job(dsn: str) -> None:
    living, reader = [await asyncpg.create_pool(dsn, min_size=1, max_size=1) for _ in range(2)]
    owner = await asyncpg.connect(dsn)  # the dying replica's lock connection

    async def owner_connection() -> asyncpg.Connection:
        return owner

    doomed = TrainingJobs(reader, JobLeases(owner_connection))
    survivor = training_jobs(dsn, living)
    try:
        lost = await doomed.create("shop-1", [], "rpc")
        await doomed.plan(lost, {"shop-1": 4})
        assert await doomed.take_shop(lost, "doomed") == "shop-1"
        await doomed.shop_progress(lost, "shop-1", 1)
        queued = await doomed.create("shop-2", [], "rpc")
        running = await survivor.create("shop-3", [], "rpc")
        await survivor.plan(running, {"shop-3": 2})
        done = await survivor.create("shop-4", [], "rpc")
        await survivor.close(done, True)
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

        # A database restart drops the live replica's lock connection: a read before its next
        # progress takes the locks again marks the job abandoned, but the replica goes on, and
        # the job's end records what really happened.
        assert await survivor.take_shop(running, "survivor") == "shop-3"
        await reader.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND objid = hashtext($1)::oid",
            running,
        )
        await asyncio.sleep(0.5)
        assert (await jobs.get(running)).error == ABANDONED  # type: ignore[union-attr]
        await survivor.shop_progress(running, "shop-3", 1)
        await survivor.finish_shop(running, "shop-3", [])
        assert await survivor.take_shop(running, "survivor") is None
        assert await survivor.trained_elsewhere(running) == 0
        assert await survivor.close(running, True)
        ended = await jobs.get(running)
        assert ended is not None
        assert (ended.state, ended.error, ended.series_done) == ("succeeded", "", 1)
    finally:
        owner.terminate()
        await survivor.leases.close()
        await living.close()
        await reader.close()


def test_a_job_whose_replica_died_ends_as_failed(database_url: str) -> None:
    with migrated_database(database_url, {}) as dsn:
        asyncio.run(replica_dies_mid_job(dsn))
