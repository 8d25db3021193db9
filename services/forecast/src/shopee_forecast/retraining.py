"""Background retraining: jobs started by the Retrain rpc or the schedule (APScheduler cron)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import redis.exceptions
import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

from shopee_forecast.adapters.churn_requests import ChurnRequests
from shopee_forecast.adapters.jobs import TrainingJobs
from shopee_forecast.adapters.store import ForecastStore, Shop
from shopee_forecast.domain.series import Target
from shopee_forecast.observability import TRAINING_JOB_SECONDS
from shopee_forecast.training import (
    DEFAULT_CHURN_HORIZON,
    ChurnTask,
    Outcome,
    SeriesTask,
    Trainer,
)
from shopee_models.registry import ModelVersion

log = structlog.get_logger("forecast")
CHURN = "churn"
ALL_TARGETS = (Target.GMV, Target.ORDERS, Target.VISITORS, Target.UNITS)
MAX_SKIPS_REPORTED = 5


class JobRunner:
    """Runs training jobs as asyncio tasks; their state lives in forecast_training_jobs."""

    def __init__(
        self,
        store: ForecastStore,
        jobs: TrainingJobs,
        trainer: Trainer,
        churn_requests: ChurnRequests,
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.trainer = trainer
        self.churn_requests = churn_requests
        self._running: set[asyncio.Task[None]] = set()

    async def start(self, shop_id: str | None, targets: Sequence[str], trigger: str) -> str:
        """Record a queued job and start it in the background; returns its id at once."""
        job_id = await self.jobs.create(shop_id, list(targets), trigger)
        self._launch(job_id, shop_id, list(targets), trigger)
        return job_id

    async def start_scheduled(self, firing_gap: timedelta) -> str | None:
        """The schedule's retrain of every shop, unless another replica claimed this firing
        (firings are `firing_gap` apart); returns the job id, or None when skipped."""
        job_id = await self.jobs.claim_scheduled([], firing_gap / 2)
        if job_id is None:
            log.info("scheduled retrain already claimed by another replica")
            return None
        self._launch(job_id, None, [], "schedule")
        return job_id

    def _launch(self, job_id: str, shop_id: str | None, targets: list[str], trigger: str) -> None:
        task = asyncio.create_task(self._run(job_id, shop_id, targets, trigger))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def wait(self) -> None:
        """Wait for the jobs in flight (tests, shutdown)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def stop(self) -> None:
        """Cancel the jobs in flight, each recording itself as failed (interrupted), and kill the
        worker processes mid-fit: the process would otherwise wait for their fits at exit."""
        for task in self._running:
            task.cancel()
        self.trainer.stop_workers()
        await self.wait()

    async def churn_horizons(self, shop: Shop) -> list[int]:
        """The default churn horizon, and each other one the shop has an active model for that
        PredictChurn asked for lately (`ChurnRequests`): any horizon from 1 to 365 days may be
        asked, and one asked once must not be refitted every day forever. If Redis cannot say,
        every active one (retraining too much rather than letting answers go stale)."""
        others = [h for h in await self.trainer.churn_horizons(shop) if h != DEFAULT_CHURN_HORIZON]
        try:
            asked = await self.churn_requests.recent(shop.shop_id, others)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            log.warning("churn requests unknown, retraining every horizon", error=str(exc))
            asked = set(others)
        return sorted(asked | {DEFAULT_CHURN_HORIZON})

    async def _tasks(self, shop_id: str | None, targets: list[str]) -> list[SeriesTask | ChurnTask]:
        chosen = [Target(t) for t in targets if t != CHURN] if targets else list(ALL_TARGETS)
        churn = not targets or CHURN in targets
        tasks: list[SeriesTask | ChurnTask] = []
        for shop_key in [shop_id] if shop_id else await self.store.shop_ids():
            shop = await self.store.shop(shop_key)
            if shop is None:
                continue
            keys = await self.trainer.shop_keys(shop, chosen)
            tasks += await self.trainer.series_tasks(shop, keys)
            if churn:
                for horizon in await self.churn_horizons(shop):
                    tasks.append(await self.trainer.churn_task(shop, horizon))
        return tasks

    async def _run(
        self, job_id: str, shop_id: str | None, targets: list[str], trigger: str
    ) -> None:
        started = time.perf_counter()
        skipped: list[str] = []
        done = 0
        try:
            tasks = await self._tasks(shop_id, targets)
            await self.jobs.start(job_id, len(tasks))

            async def progress(outcome: Outcome, _version: ModelVersion | None) -> None:
                nonlocal done
                done += 1
                if outcome.result is None:
                    skipped.append(f"{outcome.name}: {outcome.skipped}")
                await self.jobs.progress(job_id, done)

            await self.trainer.run(tasks, on_done=progress)
        except asyncio.CancelledError:
            await self.jobs.finish(job_id, error="interrupted: the service stopped")
            raise
        except Exception as exc:  # a failed job is recorded, never raised into the loop
            log.exception("training job failed", job_id=job_id)
            await self.jobs.finish(job_id, error=f"{type(exc).__name__}: {exc}")
            return
        finally:
            TRAINING_JOB_SECONDS.labels(trigger).observe(time.perf_counter() - started)
        note = ""
        if skipped:
            shown = "; ".join(skipped[:MAX_SKIPS_REPORTED])
            more = len(skipped) - MAX_SKIPS_REPORTED
            note = f"{len(skipped)} skipped: {shown}" + (f"; and {more} more" if more > 0 else "")
        await self.jobs.finish_succeeded(job_id, note)
        log.info("training job finished", job_id=job_id, series=done, skipped=len(skipped))


def make_scheduler(runner: JobRunner, crontab: str) -> AsyncIOScheduler | None:
    """A scheduler that retrains every shop on `crontab` (UTC); None if the schedule is off.
    With several replicas each fires, and one trains (`JobRunner.start_scheduled`)."""
    if not crontab.strip():
        return None
    trigger = CronTrigger.from_crontab(crontab, timezone="UTC")
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        runner.start_scheduled,
        trigger,
        args=[firing_gap(trigger)],
        id="retrain-all",
        max_instances=1,
        coalesce=True,
    )
    return scheduler


def firing_gap(trigger: CronTrigger) -> timedelta:
    """The time between the schedule's next two firings."""
    first = trigger.get_next_fire_time(None, datetime.now(UTC))
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    gap: timedelta = second - first
    return gap
