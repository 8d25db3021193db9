"""SIGTERM: training jobs in flight are recorded as interrupted and their worker processes are
killed mid-fit (the process used to wait for every running fit at exit); on-demand fits are
cancelled."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from joblib.externals.loky import ProcessPoolExecutor

from shopee_forecast.adapters.store import Shop
from shopee_forecast.retraining import JobRunner
from shopee_forecast.training import ChurnTask, Outcome, SeriesTask, Trainer, TrainingOptions
from shopee_models.registry import ModelVersion


class _Store:
    async def shop(self, shop_id: str) -> Shop | None:
        return Shop(shop_id, "Asia/Jakarta", "ID")

    async def history_bounds(self, shop: Shop) -> tuple[date, date] | None:
        return None


class _Jobs:
    def __init__(self) -> None:
        self.running = asyncio.Event()
        self.error: str | None = None

    async def create(self, shop_id: str | None, targets: list[str], trigger: str) -> str:
        return "job-1"

    async def start(self, job_id: str, series_total: int) -> None:
        self.running.set()

    async def finish(self, job_id: str, error: str) -> None:
        self.error = error


class _MinuteLongFit(Trainer):
    """Every job is one fit that takes a minute in a worker process."""

    async def run(
        self,
        tasks: Sequence[SeriesTask | ChurnTask],
        on_done: Callable[[Outcome, ModelVersion | None], Awaitable[None]] | None = None,
    ) -> list[tuple[Outcome, ModelVersion | None]]:
        await asyncio.get_running_loop().run_in_executor(self.executor, time.sleep, 60)
        return []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


async def test_stop_records_the_job_interrupted_and_kills_its_worker() -> None:
    executor = ProcessPoolExecutor(max_workers=1)
    try:
        worker = await asyncio.get_running_loop().run_in_executor(executor, os.getpid)
        store: Any = _Store()
        trainer = _MinuteLongFit(store, registry=None, executor=executor, options=TrainingOptions())  # type: ignore[arg-type]
        jobs = _Jobs()
        runner = JobRunner(store, jobs, trainer, churn_requests=None)  # type: ignore[arg-type]
        await runner.start("s1", ["gmv"], "rpc")
        await asyncio.wait_for(jobs.running.wait(), 5)
        await asyncio.sleep(0.2)  # the fit has reached the worker

        await asyncio.wait_for(runner.stop(), 5)

        assert jobs.error == "interrupted: the service stopped"
        for _ in range(50):
            if not _alive(worker):
                break
            await asyncio.sleep(0.1)
        assert not _alive(worker), "the worker process is still fitting"
    finally:
        executor.shutdown(wait=False, kill_workers=True)
