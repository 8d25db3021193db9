"""Fixtures: synthetic daily shop series (a weekly cycle, double-date sales, noise), and training
jobs in memory."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from shopee_forecast.adapters.jobs import TrainingShopRow
from shopee_forecast.domain.campaigns import REGRESSORS, CampaignRegressors
from shopee_forecast.domain.models import SeriesContext
from shopee_forecast.domain.selection import SeriesHistory

WEEKLY = np.array([1.0, 0.95, 0.95, 0.9, 1.0, 1.15, 1.2])


def make_sales_frame(days: int, start: date = date(2025, 3, 3), seed: int = 1) -> pd.DataFrame:
    """Daily sales: level 1000, weekly cycle, x3 on double dates, 8% multiplicative noise."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=days, freq="D")
    sale = np.array([3.0 if d.day == d.month else 1.0 for d in ds])
    y = 1000 * WEEKLY[ds.day_of_week] * sale * np.exp(rng.normal(0, 0.08, days))
    return pd.DataFrame({"ds": ds, "y": y})


def make_sales_history(days: int, seed: int = 1) -> SeriesHistory:
    """The synthetic series as a shop series in Jakarta, with no campaigns."""
    return SeriesHistory(
        frame=make_sales_frame(days, seed=seed),
        context=SeriesContext("ID", REGRESSORS),
        time_zone="Asia/Jakarta",
        regressors_at=CampaignRegressors((), "Asia/Jakarta"),
    )


@pytest.fixture
def sales_frame() -> Callable[..., pd.DataFrame]:
    return make_sales_frame


@pytest.fixture
def sales_history() -> Callable[..., SeriesHistory]:
    return make_sales_history


class MemoryJobs:
    """`TrainingJobs` for one replica, in memory: the job's shops, their counts and the job's end
    (tests/integration/test_forecast_schedule.py has the real tables and several replicas)."""

    def __init__(self) -> None:
        self.shop_rows: dict[str, TrainingShopRow] = {}
        self.taken: set[str] = set()
        self.shop_training = asyncio.Event()
        self.succeeded: bool | None = None
        self.text = ""

    @property
    def series_total(self) -> int:
        return sum(row.series_total for row in self.shop_rows.values())

    async def create(self, shop_id: str | None, targets: list[str], trigger: str) -> str:
        return "job-1"

    async def claim_scheduled(
        self,
        targets: list[str],
        within: timedelta,
        plan: Callable[[], Awaitable[Mapping[str, int]]],
    ) -> str | None:
        await self.plan("job-1", await plan())
        return "job-1"

    async def plan(self, job_id: str, shops: Mapping[str, int]) -> None:
        self.shop_rows = {s: TrainingShopRow(s, "queued", 0, n, [], "") for s, n in shops.items()}

    async def leave(self, job_id: str) -> None:
        pass

    async def others_working(self, job_id: str) -> bool:
        return False

    async def take_shop(self, job_id: str, replica: str) -> str | None:
        for shop_id, row in self.shop_rows.items():
            if row.state == "queued" and shop_id not in self.taken:
                self.taken.add(shop_id)
                self.shop_rows[shop_id] = replace(row, state="running")
                return shop_id
        return None

    async def trained_elsewhere(self, job_id: str) -> int:
        return 0

    async def shop_started(self, job_id: str, shop_id: str, series_total: int) -> None:
        self.shop_rows[shop_id] = replace(self.shop_rows[shop_id], series_total=series_total)
        self.shop_training.set()

    async def shop_progress(self, job_id: str, shop_id: str, series_done: int) -> None:
        self.shop_rows[shop_id] = replace(self.shop_rows[shop_id], series_done=series_done)

    async def finish_shop(
        self, job_id: str, shop_id: str, skipped: list[str], error: str = ""
    ) -> None:
        state = "failed" if error else "succeeded"
        row = replace(self.shop_rows[shop_id], state=state, skipped=skipped, error=error)
        self.shop_rows[shop_id] = row

    async def requeue_shop(self, job_id: str, shop_id: str) -> None:
        self.shop_rows[shop_id] = replace(self.shop_rows[shop_id], state="queued", series_done=0)

    async def shops(self, job_id: str) -> list[TrainingShopRow]:
        return list(self.shop_rows.values())

    async def close(self, job_id: str, succeeded: bool, text: str = "") -> bool:
        if self.succeeded is not None:
            return False
        self.succeeded, self.text = succeeded, text
        return True


@pytest.fixture
def memory_jobs() -> MemoryJobs:
    return MemoryJobs()
