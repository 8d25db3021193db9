"""The retrain schedule with several replicas: each fires, exactly one claims the firing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from shopee_forecast.adapters.jobs import TrainingJobs
from tests.integration.databases import migrated_database

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)


async def claims(dsn: str, replicas: int) -> list[str | None]:
    pools = [await asyncpg.create_pool(dsn, min_size=1, max_size=1) for _ in range(replicas)]
    try:
        return await asyncio.gather(
            *(TrainingJobs(pool).claim_scheduled([], DAY / 2) for pool in pools)
        )
    finally:
        for pool in pools:
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
    try:
        await TrainingJobs(pool).create("shop-1", ["gmv"], "rpc")
    finally:
        await pool.close()


async def age_jobs(dsn: str, by: timedelta) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "UPDATE forecast_training_jobs SET created_at = created_at - $1::interval", by
        )
    finally:
        await connection.close()
