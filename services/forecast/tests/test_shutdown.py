"""SIGTERM: training jobs in flight give their shops back and are recorded as interrupted (no other
replica works on them here), and their worker processes are
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

    async def history_bounds(
        self, shop: Shop, source: str | None = None
    ) -> tuple[date, date] | None:
        return None


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


async def test_stop_records_the_job_interrupted_and_kills_its_worker(memory_jobs: Any) -> None:
    executor = ProcessPoolExecutor(max_workers=1)
    try:
        worker = await asyncio.get_running_loop().run_in_executor(executor, os.getpid)
        store: Any = _Store()
        trainer = _MinuteLongFit(store, registry=None, executor=executor, options=TrainingOptions())  # type: ignore[arg-type]
        runner = JobRunner(store, memory_jobs, trainer, churn_requests=None)  # type: ignore[arg-type]
        await runner.start("s1", ["gmv"], "rpc")
        await asyncio.wait_for(memory_jobs.shop_training.wait(), 5)
        await asyncio.sleep(0.2)  # the fit has reached the worker

        await asyncio.wait_for(runner.stop(), 5)

        assert (memory_jobs.succeeded, memory_jobs.text) == (
            False,
            "interrupted: the service stopped",
        )
        # The shop is given back for another replica to train.
        assert memory_jobs.shop_rows["s1"].state == "queued"
        for _ in range(50):
            if not _alive(worker):
                break
            await asyncio.sleep(0.1)
        assert not _alive(worker), "the worker process is still fitting"
    finally:
        executor.shutdown(wait=False, kill_workers=True)
