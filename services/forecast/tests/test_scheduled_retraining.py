"""The scheduled retrain refreshes the default churn horizon and every other one a shop has an
active model for that PredictChurn asked for lately; a horizon asked once is not refitted every
day forever."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import redis.exceptions

from shopee_forecast.adapters.churn_requests import ChurnRequests, asked_key
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

    async def history_bounds(self, shop: Shop) -> tuple[date, date] | None:
        return None

    async def orders(self, shop_id: str) -> pd.DataFrame:
        return pd.DataFrame(
            [("b1", date(2026, 11, 1), "ORDER_STATUS_PAID", 1000)],
            columns=["buyer_id", "date", "status", "gmv_minor"],
        )

    async def visits(self, shop_id: str, since: datetime, buyers: list[str]) -> pd.DataFrame:
        return pd.DataFrame(columns=["visitor_id", "date", "visits"])


class _Jobs:
    def __init__(self) -> None:
        self.series_total: int | None = None
        self.error: str | None = None

    async def claim_scheduled(self, targets: list[str], within: timedelta) -> str | None:
        return "job-1"

    async def start(self, job_id: str, series_total: int) -> None:
        self.series_total = series_total

    async def progress(self, job_id: str, series_done: int) -> None:
        pass

    async def finish(self, job_id: str, error: str) -> None:
        self.error = error

    async def finish_succeeded(self, job_id: str, note: str = "") -> None:
        pass


class _RecordingTrainer(Trainer):
    """The real trainer's task choice; records the tasks instead of fitting them."""

    ran: list[SeriesTask | ChurnTask]

    async def run(
        self,
        tasks: Sequence[SeriesTask | ChurnTask],
        on_done: Callable[[Outcome, ModelVersion | None], Awaitable[None]] | None = None,
    ) -> list[tuple[Outcome, ModelVersion | None]]:
        self.ran = list(tasks)
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


async def _scheduled_churn(redis: _Redis) -> list[tuple[str, int]]:
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
    jobs = _Jobs()
    runner = JobRunner(store, jobs, trainer, ChurnRequests(redis))  # type: ignore[arg-type]

    assert await runner.start_scheduled(timedelta(days=1)) == "job-1"
    await runner.wait()

    assert jobs.error is None
    churn = [(t.shop_id, t.horizon_days) for t in trainer.ran if isinstance(t, ChurnTask)]
    assert jobs.series_total == len(churn)
    return sorted(churn)


async def test_the_schedule_retrains_the_churn_horizons_asked_for_lately() -> None:
    redis = _Redis({})
    await ChurnRequests(redis).record("s1", 60)  # type: ignore[arg-type]
    assert redis.keys == {"shopee:forecast:churn-asked:s1:60": 7 * 24 * 3600}

    # 120 days was not asked for within 7 days (its key expired): its model is left as it is.
    # s2 has no churn model yet: the default horizon, as before.
    assert await _scheduled_churn(redis) == [("s1", 30), ("s1", 60), ("s2", 30)]


async def test_the_default_horizon_is_retrained_even_if_nobody_asked() -> None:
    assert await _scheduled_churn(_Redis({})) == [("s1", 30), ("s2", 30)]


async def test_without_redis_every_active_horizon_is_retrained() -> None:
    redis = _Redis({asked_key("s1", 60): 1}, down=True)
    assert await _scheduled_churn(redis) == [("s1", 30), ("s1", 60), ("s1", 120), ("s2", 30)]
