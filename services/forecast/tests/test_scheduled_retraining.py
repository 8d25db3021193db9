"""The scheduled retrain refreshes the default churn horizon and every other one a shop has an
active model for that PredictChurn asked for lately; a horizon asked once is not refitted every
day forever; a shop that fails is named in the job's error, and the others are still trained."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import redis.exceptions

from shopee_forecast.adapters.churn_requests import ChurnRequests, asked_key
from shopee_forecast.adapters.jobs import TrainingJobRow
from shopee_forecast.adapters.store import Shop
from shopee_forecast.retraining import JobRunner
from shopee_forecast.training import ChurnTask, Outcome, SeriesTask, Trainer, TrainingOptions
from shopee_models.registry import ModelVersion


def _version(model_name: str, status: str, horizon_days: int | None = None) -> ModelVersion:
    return ModelVersion(
        model_name=model_name,
        version="v1",
        kind="churn" if horizon_days else "sales_forecast",
        artefact_uri="memory://v1",
        metadata={"horizon_days": horizon_days} if horizon_days else {},
        backtest_scores={},
        status=status,
        trained_at=datetime(2026, 11, 25, tzinfo=UTC),
    )


class _Registry:
    def __init__(self, versions: list[ModelVersion]) -> None:
        self._versions = versions

    async def versions(self, prefix: str = "") -> list[ModelVersion]:
        return [v for v in self._versions if v.model_name.startswith(prefix)]


class _Store:
    """Two shops without daily KPIs (no series to train), each with one order."""

    async def shop_ids(self) -> list[str]:
        return ["s1", "s2"]

    async def shop(self, shop_id: str) -> Shop | None:
        return Shop(shop_id, "Asia/Jakarta", "ID")

    async def sold_products(self, shop_id: str) -> list[str]:
        return []

    async def history_bounds(
        self, shop: Shop, source: str | None = None
    ) -> tuple[date, date] | None:
        return None

    async def orders(self, shop_id: str) -> pd.DataFrame:
        return pd.DataFrame(
            [("b1", date(2026, 11, 1), "ORDER_STATUS_PAID", 1000)],
            columns=["buyer_id", "date", "status", "gmv_minor"],
        )

    async def visits(self, shop_id: str, since: datetime, buyers: list[str]) -> pd.DataFrame:
        return pd.DataFrame(columns=["visitor_id", "date", "visits"])


class _RecordingTrainer(Trainer):
    """The real trainer's task choice; records the tasks instead of fitting them."""

    ran: tuple[SeriesTask | ChurnTask, ...] = ()

    async def run(
        self,
        tasks: Sequence[SeriesTask | ChurnTask],
        on_done: Callable[[Outcome, ModelVersion | None], Awaitable[None]] | None = None,
    ) -> list[tuple[Outcome, ModelVersion | None]]:
        self.ran += tuple(tasks)
        return []


class _Redis:
    """The keys ChurnRequests reads, with their TTLs; or down."""

    def __init__(self, keys: dict[str, int], down: bool = False) -> None:
        self.keys = keys
        self.down = down

    async def set(self, key: str, value: int, ex: int) -> None:
        self.keys[key] = ex

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        if self.down:
            raise redis.exceptions.ConnectionError("Error 111 connecting to redis")
        return [b"1" if key in self.keys else None for key in keys]


async def _scheduled_churn(redis: _Redis, jobs: Any) -> list[tuple[str, int]]:
    """The churn models the schedule retrains for two shops: s1 with active models for 30, 60
    and 120 days (and a retired 90), s2 with none yet."""
    registry = _Registry(
        [
            _version("forecast/s1/churn", "active", 30),
            _version("forecast/s1/churn-60d", "active", 60),
            _version("forecast/s1/churn-90d", "retired", 90),
            _version("forecast/s1/churn-120d", "active", 120),
            _version("forecast/s1/gmv", "active"),
            _version("forecast/s10/churn-14d", "active", 14),
        ]
    )
    store: Any = _Store()
    trainer = _RecordingTrainer(store, registry, executor=None, options=TrainingOptions())  # type: ignore[arg-type]
    runner = JobRunner(store, jobs, trainer, ChurnRequests(redis), shop_workers=2)  # type: ignore[arg-type]

    assert await runner.start_scheduled(timedelta(days=1)) == "job-1"
    await runner.wait()

    assert jobs.succeeded
    churn = [(t.shop_id, t.horizon_days) for t in trainer.ran if isinstance(t, ChurnTask)]
    # Planned before the shops were trained: the same series.
    assert jobs.series_total == len(churn)
    assert {row.state for row in jobs.shop_rows.values()} == {"succeeded"}
    return sorted(churn)


async def test_the_schedule_retrains_the_churn_horizons_asked_for_lately(memory_jobs: Any) -> None:
    redis = _Redis({})
    await ChurnRequests(redis).record("s1", 60)  # type: ignore[arg-type]
    assert redis.keys == {"shopee:forecast:churn-asked:s1:60": 7 * 24 * 3600}

    # 120 days was not asked for within 7 days (its key expired): its model is left as it is.
    # s2 has no churn model yet: the default horizon, as before.
    assert await _scheduled_churn(redis, memory_jobs) == [("s1", 30), ("s1", 60), ("s2", 30)]


async def test_the_default_horizon_is_retrained_even_if_nobody_asked(memory_jobs: Any) -> None:
    assert await _scheduled_churn(_Redis({}), memory_jobs) == [("s1", 30), ("s2", 30)]


async def test_without_redis_every_active_horizon_is_retrained(memory_jobs: Any) -> None:
    redis = _Redis({asked_key("s1", 60): 1}, down=True)
    assert await _scheduled_churn(redis, memory_jobs) == [
        ("s1", 30),
        ("s1", 60),
        ("s1", 120),
        ("s2", 30),
    ]


class _FailingOnS1(_RecordingTrainer):
    async def run(
        self,
        tasks: Sequence[SeriesTask | ChurnTask],
        on_done: Callable[[Outcome, ModelVersion | None], Awaitable[None]] | None = None,
    ) -> list[tuple[Outcome, ModelVersion | None]]:
        if any(task.shop_id == "s1" for task in tasks if isinstance(task, ChurnTask)):
            raise RuntimeError("the registry's disk is full")
        return await super().run(tasks, on_done)


async def test_a_shop_that_fails_is_named_and_the_others_are_still_trained(
    memory_jobs: Any,
) -> None:
    store: Any = _Store()
    trainer = _FailingOnS1(store, _Registry([]), executor=None, options=TrainingOptions())  # type: ignore[arg-type]
    runner = JobRunner(store, memory_jobs, trainer, ChurnRequests(_Redis({})))  # type: ignore[arg-type]

    await runner.start_scheduled(timedelta(days=1))
    await runner.wait()

    assert [(t.shop_id, t.horizon_days) for t in trainer.ran if isinstance(t, ChurnTask)] == [
        ("s2", 30)
    ]
    assert {s: row.state for s, row in memory_jobs.shop_rows.items()} == {
        "s1": "failed",
        "s2": "succeeded",
    }
    assert (memory_jobs.succeeded, memory_jobs.text) == (
        False,
        "1 of 2 shops failed: s1: RuntimeError: the registry's disk is full",
    )


async def test_a_job_found_by_two_looks_at_once_is_joined_once(memory_jobs: Any) -> None:
    """The schedule's firing and the look for open jobs may find the same job together: the one
    that joins first works on it, the other leaves it."""
    joins: list[str] = []
    job = TrainingJobRow("job-1", None, [], "rpc", "running", 0, 2, "", None, None)

    async def open_to_join() -> list[TrainingJobRow]:
        return [job]

    async def join(job_id: str) -> None:
        joins.append(job_id)
        await asyncio.sleep(0.01)  # the lock is taken on its own connection

    memory_jobs.open_to_join = open_to_join
    memory_jobs.join = join
    await memory_jobs.plan("job-1", {"s1": 1, "s2": 1})
    store: Any = _Store()
    trainer = _RecordingTrainer(store, _Registry([]), executor=None, options=TrainingOptions())  # type: ignore[arg-type]
    runner = JobRunner(store, memory_jobs, trainer, ChurnRequests(_Redis({})))  # type: ignore[arg-type]

    first, second = await asyncio.gather(runner.join_open(), runner.join_open())
    await runner.wait()

    assert sorted([first, second]) == [[], ["job-1"]]
    assert joins == ["job-1"]
    assert [t.shop_id for t in trainer.ran if isinstance(t, ChurnTask)] == ["s1", "s2"]
    assert memory_jobs.succeeded
