"""Background retraining: jobs started by the Retrain rpc or the schedule (APScheduler cron)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

import redis.exceptions
import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

from shopee_common.replica import replica_name
from shopee_forecast.adapters.churn_requests import ChurnRequests
from shopee_forecast.adapters.jobs import TrainingJobRow, TrainingJobs
from shopee_forecast.adapters.store import ForecastStore, Shop
from shopee_forecast.domain.series import SeriesKey, Target
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
MAX_LISTED = 5  # skipped series or failed shops named in a job's note
Planner = Callable[[], Awaitable[Mapping[str, int]]]  # series planned per shop of a job


class JobRunner:
    """Works on training jobs as asyncio tasks; their state lives in forecast_training_jobs and
    forecast_training_shops.

    A job is a list of shops. The replica that records a job works on it; the schedule's job is
    worked on by every replica whose schedule fires (and by a replica starting while it runs).
    Each takes the next shop nobody trains, `shop_workers` at a time, until none is left."""

    def __init__(
        self,
        store: ForecastStore,
        jobs: TrainingJobs,
        trainer: Trainer,
        churn_requests: ChurnRequests,
        shop_workers: int = 1,
        poll: timedelta = timedelta(seconds=10),
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.trainer = trainer
        self.churn_requests = churn_requests
        self.shop_workers = shop_workers
        self.poll = poll
        self.replica = replica_name()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._joining: set[str] = set()

    async def start(self, shop_id: str | None, targets: Sequence[str], trigger: str) -> str:
        """Record a queued job and start it in the background; returns its id at once."""
        job_id = await self.jobs.create(shop_id, list(targets), trigger)
        self._launch(job_id, list(targets), trigger, partial(self._plan, shop_id, list(targets)))
        return job_id

    async def start_scheduled(self, firing_gap: timedelta) -> str | None:
        """The schedule's retrain of every shop: recorded by the first replica to claim this
        firing (firings are `firing_gap` apart), worked on by each; returns the job id, or None
        when there is nothing to join or this replica works on it already."""
        job_id = await self.jobs.claim_scheduled([], firing_gap / 2, partial(self._plan, None, []))
        if job_id is not None:
            self._launch(job_id, [], "schedule")
            return job_id
        joined = await self.join_scheduled(firing_gap / 2)
        if joined is not None:
            log.info("joined the scheduled retrain another replica recorded", job_id=joined)
        return joined

    async def join_scheduled(self, within: timedelta) -> str | None:
        """Work on the schedule's job recorded less than `within` ago, if it still runs."""
        job = await self.jobs.open_scheduled(within)
        if job is None or not await self._join(job):
            return None
        return job.job_id

    async def join_open(self) -> list[str]:
        """Work on the running jobs other replicas recorded that have a shop nobody trains (a
        Retrain of every shop, say): each replica polls for them, so a job is shared by every
        replica, not only trained by the one the rpc reached. Returns the jobs joined."""
        joined = []
        for job in await self.jobs.open_to_join():
            if await self._join(job):
                joined.append(job.job_id)
        if joined:
            log.info("joined training jobs other replicas recorded", jobs=joined)
        return joined

    async def _join(self, job: TrainingJobRow) -> bool:
        """Hold the job's lock and work on it, unless this replica works on it already or is
        joining it (the schedule's firing and the look for open jobs may find it together).
        The lock is held on return: the start-up sweep must not take the job for abandoned."""
        if job.job_id in self._running or job.job_id in self._joining:
            return False
        self._joining.add(job.job_id)
        try:
            await self.jobs.join(job.job_id)
        finally:
            self._joining.discard(job.job_id)
        self._launch(job.job_id, job.targets, job.trigger)
        return True

    async def keep_joining(self) -> None:
        """`join_open` every `poll`, until cancelled (at shutdown); a failed poll is logged."""
        while True:
            await asyncio.sleep(self.poll.total_seconds())
            try:
                await self.join_open()
            except Exception:
                log.exception("looking for training jobs to join failed")

    def _launch(
        self, job_id: str, targets: list[str], trigger: str, plan: Planner | None = None
    ) -> None:
        """Work on the job in the background; `plan` lists its shops first (the replica that
        recorded it, unless recorded with them)."""
        task = asyncio.create_task(self._work(job_id, targets, trigger, plan))
        self._running[job_id] = task
        task.add_done_callback(lambda _: self._running.pop(job_id, None))

    async def wait(self) -> None:
        """Wait for the jobs in flight (tests, shutdown)."""
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def stop(self) -> None:
        """Give back the shops in training and kill the worker processes mid-fit (the process
        would otherwise wait for their fits at exit); a job no other replica works on is
        recorded as failed (interrupted)."""
        for task in self._running.values():
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

    async def _series(self, shop: Shop, targets: list[str]) -> tuple[list[SeriesKey], list[int]]:
        """The shop's series to train for the targets (every one when empty), and its churn
        horizons."""
        chosen = [Target(t) for t in targets if t != CHURN] if targets else list(ALL_TARGETS)
        keys = await self.trainer.shop_keys(shop, chosen)
        churn = not targets or CHURN in targets
        return keys, await self.churn_horizons(shop) if churn else []

    async def _plan(self, shop_id: str | None, targets: list[str]) -> dict[str, int]:
        """The series planned for each shop of a job, one shop's or every shop's (the job's
        progress is out of their sum)."""
        plan = {}
        for shop_key in [shop_id] if shop_id else await self.store.shop_ids():
            shop = await self.store.shop(shop_key)
            if shop is not None:
                keys, horizons = await self._series(shop, targets)
                plan[shop_key] = len(keys) + len(horizons)
        return plan

    async def _tasks(self, shop: Shop, targets: list[str]) -> list[SeriesTask | ChurnTask]:
        keys, horizons = await self._series(shop, targets)
        tasks: list[SeriesTask | ChurnTask] = list(await self.trainer.series_tasks(shop, keys))
        for horizon in horizons:
            tasks.append(await self.trainer.churn_task(shop, horizon))
        return tasks

    async def _work(
        self, job_id: str, targets: list[str], trigger: str, plan: Planner | None
    ) -> None:
        """This replica's part of the job: its shops, then the job's end if nobody is left."""
        started = time.perf_counter()
        try:
            if plan is not None:
                await self.jobs.plan(job_id, await plan())
            await self._take_shops_together(job_id, targets)
            await self._end(job_id)
        except asyncio.CancelledError:
            await self._give_up(job_id, "interrupted: the service stopped")
            raise
        except Exception as exc:  # a failed job is recorded, never raised into the loop
            log.exception("training job failed", job_id=job_id)
            await self._give_up(job_id, f"{type(exc).__name__}: {exc}")
        finally:
            TRAINING_JOB_SECONDS.labels(trigger).observe(time.perf_counter() - started)
            await self.jobs.leave(job_id)

    async def _take_shops_together(self, job_id: str, targets: list[str]) -> None:
        """`shop_workers` shops at a time, so that a shop's last slow fit does not leave the
        other processes idle; the first error stops them all."""
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.shop_workers):
                    group.create_task(self._take_shops(job_id, targets))
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None

    async def _take_shops(self, job_id: str, targets: list[str]) -> None:
        """Train the job's shops nobody trains until none is left; while other replicas train
        the last ones, wait (taking over any whose replica stops)."""
        while True:
            shop_id = await self.jobs.take_shop(job_id, self.replica)
            if shop_id is not None:
                await self._train_shop(job_id, shop_id, targets)
            elif await self.jobs.trained_elsewhere(job_id):
                await asyncio.sleep(self.poll.total_seconds())
            else:
                return

    async def _train_shop(self, job_id: str, shop_id: str, targets: list[str]) -> None:
        skipped: list[str] = []
        done = 0

        async def progress(outcome: Outcome, _version: ModelVersion | None) -> None:
            nonlocal done
            done += 1
            if outcome.result is None:
                skipped.append(f"{outcome.name}: {outcome.skipped}")
            await self.jobs.shop_progress(job_id, shop_id, done)

        try:
            shop = await self.store.shop(shop_id)
            tasks = [] if shop is None else await self._tasks(shop, targets)
            await self.jobs.shop_started(job_id, shop_id, len(tasks))
            await self.trainer.run(tasks, on_done=progress)
        except asyncio.CancelledError:
            await asyncio.shield(self.jobs.requeue_shop(job_id, shop_id))
            raise
        except Exception as exc:  # the shop failed; the job goes on with the others
            log.exception("training a shop failed", job_id=job_id, shop_id=shop_id)
            await self.jobs.finish_shop(job_id, shop_id, skipped, f"{type(exc).__name__}: {exc}")
            return
        await self.jobs.finish_shop(job_id, shop_id, skipped)
        log.info("shop trained", job_id=job_id, shop_id=shop_id, series=done, skipped=len(skipped))

    async def _end(self, job_id: str) -> None:
        """Record the job's outcome from its shops' (once: another replica may end it too)."""
        shops = await self.jobs.shops(job_id)
        failed = [f"{s.shop_id}: {s.error}" for s in shops if s.state == "failed"]
        skipped = [series for s in shops for series in s.skipped]
        if failed:
            prefix = f"{len(failed)} of {len(shops)} shops failed: " if len(shops) > 1 else ""
            ended = await self.jobs.close(job_id, False, prefix + _listed(failed))
        else:
            note = f"{len(skipped)} skipped: {_listed(skipped)}" if skipped else ""
            ended = await self.jobs.close(job_id, True, note)
        if ended:
            log.info("training job finished", job_id=job_id, shops=len(shops), failed=len(failed))

    async def _give_up(self, job_id: str, reason: str) -> None:
        """This replica stops working on the job: it ends failed unless another replica works
        on it (which then takes the shops given back)."""
        try:
            if not await self.jobs.others_working(job_id):
                await self.jobs.close(job_id, False, reason)
        except Exception:  # the database is gone too: the job reads as abandoned later
            log.exception("could not record the training job's end", job_id=job_id)


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return shown + (f"; and {more} more" if more > 0 else "")


async def start_schedule(runner: JobRunner, crontab: str) -> AsyncIOScheduler | None:
    """Retrain every shop on `crontab` (UTC); None if the schedule is off. With several replicas
    each fires, one records the job and each works on it (`JobRunner.start_scheduled`). A replica
    starting while the last firing's job runs works on it too: one restarted after a kill takes
    its own job up again, one added by a scale-up helps."""
    if not crontab.strip():
        return None
    trigger = CronTrigger.from_crontab(crontab, timezone="UTC")
    gap = firing_gap(trigger)
    joined = await runner.join_scheduled(gap)
    if joined is not None:
        log.info("joined the running scheduled retrain", job_id=joined)
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        runner.start_scheduled,
        trigger,
        args=[gap],
        id="retrain-all",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler


def firing_gap(trigger: CronTrigger) -> timedelta:
    """The time between the schedule's next two firings."""
    first = trigger.get_next_fire_time(None, datetime.now(UTC))
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    gap: timedelta = second - first
    return gap
