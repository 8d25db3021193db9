"""Training jobs in PostgreSQL (table forecast_training_jobs, migration 0006)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

COLUMNS = "id, shop_id, targets, trigger, state, series_done, series_total, error, started_at, finished_at"


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


class TrainingJobs:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, shop_id: str | None, targets: list[str], trigger: str) -> str:
        job_id = await self._pool.fetchval(
            "INSERT INTO forecast_training_jobs (shop_id, targets, trigger) VALUES ($1, $2, $3) "
            "RETURNING id",
            shop_id,
            targets,
            trigger,
        )
        return str(job_id)

    async def claim_scheduled(self, targets: list[str], within: timedelta) -> str | None:
        """Record the scheduled job of this firing, unless another replica already did: every
        replica runs the schedule, and the first to claim the firing (under a transaction-scoped
        advisory lock) trains; the others get None. A firing is one `within` of the last."""
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "SELECT pg_advisory_xact_lock(hashtext('forecast_training_jobs.schedule'))"
            )
            claimed = await connection.fetchval(
                "SELECT EXISTS (SELECT 1 FROM forecast_training_jobs "
                "WHERE trigger = 'schedule' AND created_at > now() - $1::interval)",
                within,
            )
            if claimed:
                return None
            job_id = await connection.fetchval(
                "INSERT INTO forecast_training_jobs (shop_id, targets, trigger) "
                "VALUES (NULL, $1, 'schedule') RETURNING id",
                targets,
            )
        return str(job_id)

    async def start(self, job_id: str, series_total: int) -> None:
        await self._pool.execute(
            "UPDATE forecast_training_jobs SET state = 'running', started_at = now(), "
            "series_total = $2 WHERE id = $1",
            uuid.UUID(job_id),
            series_total,
        )

    async def progress(self, job_id: str, series_done: int) -> None:
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
        await self._pool.execute(
            "UPDATE forecast_training_jobs SET state = $2, error = $3, finished_at = now() "
            "WHERE id = $1",
            uuid.UUID(job_id),
            state,
            text,
        )

    async def get(self, job_id: str) -> TrainingJobRow | None:
        try:
            key = uuid.UUID(job_id)
        except ValueError:
            return None
        record = await self._pool.fetchrow(
            f"SELECT {COLUMNS} FROM forecast_training_jobs WHERE id = $1",
            key,
        )
        return None if record is None else _row(record)
