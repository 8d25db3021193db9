"""One detection run of the stream job's timer: for each shop this worker owns, say whether its
data is incomplete, judge its newly closed hours, and store and publish what was found.

The pure decisions are in domain/anomalies; this module reads what they need, runs the detector
on the job's loop a few milliseconds at a time (`Slicer`) and writes the results:
anomalies are published first, then stored with the shop's progress in one transaction, so a
crash in between re-judges the same hours and re-sends the same anomaly ids (at least once).
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shopee_common.topics import EVENT_TOPICS, TOPIC_BY_PAYLOAD
from shopee_metrics.adapters.anomaly_publisher import AnomalyPublisher
from shopee_metrics.adapters.anomaly_store import AnomalyStore, Checkpoint, ShopInfo
from shopee_metrics.adapters.detector_checkpoints import (
    CheckpointError,
    code_version,
    freeze,
    thaw,
)
from shopee_metrics.adapters.pacing import DutyCycle, Slicer
from shopee_metrics.adapters.store import TRANSIENT
from shopee_metrics.domain.anomalies import (
    JUDGED_SOURCES,
    AnomalyReport,
    DetectorConfig,
    ShopDetector,
    SourceMark,
    closed_until,
    incompleteness,
)
from shopee_metrics.domain.anomalies.completeness import SILENT_MIN_EXPECTED_VISITORS
from shopee_metrics.domain.anomalies.history import ClosedHour, hours_between
from shopee_metrics.domain.anomalies.model import load_library
from shopee_metrics.domain.anomalies.products import (
    ProductConfig,
    ProductHour,
    ProductWatch,
    product_hours_between,
    with_product_names,
)
from shopee_metrics.settings import MetricsSettings

log = structlog.get_logger("metrics.anomalies")
# The database or the broker unreachable: the whole run stops and the next tick retries.
OUTAGES = (KafkaError, asyncpg.InterfaceError, *TRANSIENT)
HOUR = timedelta(hours=1)
# PLANNED events come at most this long before their campaign (mega sales: 7 days).
CAMPAIGN_LOOKBACK = timedelta(days=14)
SHOP_REFRESH_SECONDS = 60.0
# A shop whose detection failed is tried again after this, doubling with each failure in a row
# up to FAILED_SHOP_RETRY_MAX: under the 10 minutes over which `AnomalyDetectionFailing` looks
# for failures, so the alert keeps firing while the shop keeps failing.
FAILED_SHOP_RETRY_SECONDS = 30.0
FAILED_SHOP_RETRY_MAX = 300.0


class AnomalyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.anomalies = Counter(
            "metrics_anomalies_total",
            "Anomalies raised (counted once, when first raised), by KPI named and severity",
            ["kpi", "severity"],
            registry=registry,
        )
        self.data_incomplete = Gauge(
            "metrics_data_incomplete",
            "1 while a shop's events are late or have stopped (its hours are not judged)",
            ["shop"],
            registry=registry,
        )
        self.hours_judged = Counter(
            "metrics_anomaly_hours_judged_total", "Closed shop hours judged", registry=registry
        )
        self.detectors_loaded = Counter(
            "metrics_anomaly_detectors_loaded_total",
            "Shop detectors set up after a start: from a checkpoint, by replaying the weeks "
            "before (no usable checkpoint), or new (a shop never judged)",
            ["source"],
            registry=registry,
        )
        self.detectors_held = Gauge(
            "metrics_anomaly_detectors_held",
            "Shop detectors this worker holds in memory (about 1 MB each; docs/metrics.md, "
            "'Capacity')",
            registry=registry,
        )
        self.checkpoints_saved = Counter(
            "metrics_anomaly_checkpoints_saved_total",
            "Checkpoints of shop detectors saved",
            registry=registry,
        )
        self.failures = Counter(
            "metrics_anomaly_failures_total",
            "Detection that failed: a whole run (the database or the broker unreachable; retried "
            "at the next tick) or one shop's part of a run (the other shops go on)",
            ["scope"],
            registry=registry,
        )
        self.shops_failing = Gauge(
            "metrics_anomaly_shops_failing",
            "Shops whose detection failed at its last try, waiting to be tried again",
            registry=registry,
        )
        self.run_seconds = Histogram(
            "metrics_anomaly_run_seconds",
            "Time of one detection run over every owned shop",
            registry=registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )


@dataclass(frozen=True)
class RunnerSettings:
    late_grace: timedelta
    quiet: timedelta
    stall_after: timedelta
    live_window: timedelta
    max_hours_per_run: int
    detector: DetectorConfig
    products: ProductConfig
    # The most of the job's loop that detection may take (it rests between slices).
    cpu_share: float = 1.0
    # A live shop's silence is a stall only where its baseline expected this many visitors.
    stall_min_visitors: float = SILENT_MIN_EXPECTED_VISITORS
    # A shop's detector is checkpointed about once per this many hours judged (0: never).
    checkpoint_hours: int = 24
    # How often the job's timer calls `run_safely`.
    tick_seconds: float = 10.0


@dataclass
class _ShopRun:
    info: ShopInfo
    zone: ZoneInfo
    detector: ShopDetector
    products: ProductWatch
    judged_until: datetime
    campaigns_until: datetime
    # Anomalies raised from the open hour's minutes and not yet judged with their hour, by id.
    open_reports: dict[str, AnomalyReport] = field(default_factory=dict)
    # The open hour was last watched up to here: with no new complete minute, nothing to read.
    watched_until: datetime | None = None
    # End of the hours of the newest checkpoint saved or loaded.
    checkpointed_until: datetime | None = None

    def state(self) -> dict[str, Any]:
        return {
            "detector": self.detector.state(),
            "campaigns_until": self.campaigns_until.isoformat(),
        }


class AnomalyRunner:
    def __init__(
        self,
        store: AnomalyStore,
        publisher: AnomalyPublisher,
        settings: RunnerSettings,
        metrics: AnomalyMetrics,
        owns: Callable[[str], bool],
        unfinished: Callable[[str], Awaitable[Collection[str]]],
        ready: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ready = ready
        self._publisher = publisher
        self._settings = settings
        self._metrics = metrics
        self._owns = owns
        self._unfinished = unfinished
        self._shops: list[ShopInfo] = []
        self._shops_read = float("-inf")
        self._runs: dict[str, _ShopRun] = {}
        self._slicer = Slicer(DutyCycle(settings.cpu_share))
        # Shops too young for anything to be raised, and when they will not be: no detector is
        # kept for them until then (see `_load`).
        self._young_until: dict[str, datetime] = {}
        self._history_needed = HOUR * min(
            settings.detector.min_history_hours, settings.products.min_history_hours
        )
        self._code_version = code_version(settings.detector, settings.products)
        # Shops whose detection failed: failures in a row, and when to try again.
        self._failing: dict[str, tuple[int, float]] = {}
        # Shops the last run left with closed hours still to judge.
        self._behind: set[str] = set()

    async def run_safely(self) -> None:
        """A run for the timer: a failure (the database restarting, say) is logged and the next
        tick tries again; counting KPIs goes on regardless. While shops have more closed hours
        than one run judges (a history being caught up), their runs follow one another until the
        next tick is due: the duty cycle, not the timer, then paces them, and a year of history
        takes a minute or two instead of a run of `max_hours_per_run` every tick."""
        due = self._clock() + self._settings.tick_seconds
        try:
            await self.run_once()
            while self._behind and self._clock() < due:
                await self.run_once(self._behind)
        except Exception:
            self._metrics.failures.labels("run").inc()
            log.exception("anomaly detection run failed; retrying at the next tick")

    async def run_once(self, only: Collection[str] | None = None) -> int:
        """One pass over the owned shops (or those of them in `only`); returns the hours judged
        (none until the outlier model's library has loaded in a thread: importing it on the
        loop held the batches up for about 6 s)."""
        if not self._ready():
            return 0
        started = time.perf_counter()
        now, marks = await self._store.watermarks()
        open_signals = await self._store.open_incomplete()
        judged = 0
        self._behind = set()
        for shop in await self._known_shops():
            if only is not None and shop.shop_id not in only:
                continue
            if not self._owns(shop.shop_id):
                # Another worker judges it now (partitions moved): its detector here would go
                # stale and hold memory; if the shop comes back, it is loaded from the database.
                self._runs.pop(shop.shop_id, None)
                self._failing.pop(shop.shop_id, None)
                continue
            failed = self._failing.get(shop.shop_id)
            if failed is not None and self._clock() < failed[1]:
                continue
            shop_marks = marks.get(shop.shop_id, [])
            try:
                # Judged first: the shop's detector, loaded then, tells a stall from a quiet spell.
                # Whether its events stopped is said even if judging its hours fails.
                try:
                    judged += await self._judge(shop, shop_marks, now)
                finally:
                    await self._completeness(shop.shop_id, shop_marks, now, open_signals)
            except OUTAGES:
                raise
            except Exception:
                self._shop_failed(shop.shop_id, failed[0] + 1 if failed else 1)
            else:
                self._failing.pop(shop.shop_id, None)
        self._metrics.shops_failing.set(len(self._failing))
        self._metrics.hours_judged.inc(judged)
        self._metrics.detectors_held.set(len(self._runs))
        self._metrics.run_seconds.observe(time.perf_counter() - started)
        return judged

    def _shop_failed(self, shop_id: str, in_a_row: int) -> None:
        """One shop's bad data (a time zone Python does not know, say) must not stop the
        detection of every shop after it, nor be read and logged again at every tick. Its
        detector may have taken hours it did not save: it is loaded again from the database at
        the next try."""
        self._runs.pop(shop_id, None)
        delay = min(FAILED_SHOP_RETRY_SECONDS * 2 ** (in_a_row - 1), FAILED_SHOP_RETRY_MAX)
        self._failing[shop_id] = (in_a_row, self._clock() + delay)
        self._metrics.failures.labels("shop").inc()
        log.exception(
            "anomaly detection failed for a shop",
            shop=shop_id,
            failures_in_a_row=in_a_row,
            retry_in_seconds=delay,
        )

    async def _known_shops(self) -> list[ShopInfo]:
        if time.monotonic() - self._shops_read > SHOP_REFRESH_SECONDS:
            self._shops = await self._store.shops()
            self._shops_read = time.monotonic()
        return self._shops

    async def _completeness(
        self,
        shop_id: str,
        marks: list[SourceMark],
        now: datetime,
        open_signals: dict[str, datetime],
    ) -> None:
        settings = self._settings
        run = self._runs.get(shop_id)
        expected = (
            None
            if run is None
            else functools.partial(run.detector.expected_visitors, zone=run.zone)
        )
        incomplete = incompleteness(
            marks,
            now,
            settings.live_window,
            settings.stall_after,
            expected,
            settings.stall_min_visitors,
        )
        if incomplete is not None:
            if shop_id not in open_signals:
                await self._publisher.incomplete(shop_id, incomplete)
                log.warning("data incomplete", shop=shop_id, reason=incomplete.reason)
            await self._store.record_incomplete(shop_id, incomplete)
            self._metrics.data_incomplete.labels(shop_id).set(1)
            return
        self._metrics.data_incomplete.labels(shop_id).set(0)
        if shop_id in open_signals:
            resolved = await self._store.resolve_incomplete(shop_id)
            if resolved is not None:
                await self._publisher.resolved(shop_id, *resolved)
                log.info("data complete again", shop=shop_id)

    async def _judge(self, shop: ShopInfo, marks: list[SourceMark], now: datetime) -> int:
        settings = self._settings
        unfinished = await self._unfinished(shop.shop_id)
        horizon = closed_until(marks, now, settings.quiet, unfinished)
        if horizon is None:
            return 0
        complete_until = horizon - settings.late_grace
        run = self._runs.get(shop.shop_id)
        if run is None:
            young_until = self._young_until.get(shop.shop_id)
            if young_until is not None and complete_until < young_until:
                return 0
            run = await self._load(shop, complete_until)
            if run is None:
                return 0
        closed = int((complete_until - run.judged_until) / HOUR)
        hours = min(closed, settings.max_hours_per_run)
        if hours > 0:
            await self._judge_hours(run, hours)
        if closed > settings.max_hours_per_run:
            self._behind.add(shop.shop_id)
        else:
            # Caught up: the hour still open may already show a checkout outage.
            await self._watch_open_hour(run, complete_until)
        return max(hours, 0)

    async def _judge_hours(self, run: _ShopRun, hours: int) -> None:
        """Judge the shop's next `hours` closed hours; publish and store what they raise."""
        end = run.judged_until + hours * HOUR
        reports = await self._judge_stored(run, end)
        # An anomaly first raised while its hour was open is not new when its hour closes.
        reports = [
            replace(r, first=False) if run.open_reports.pop(r.anomaly_id, None) else r
            for r in reports
        ]
        products = {r.product_id for r in reports if r.product_id}
        if products:
            names = await self._store.product_names(run.info.shop_id, sorted(products))
            reports = with_product_names(reports, names)
        if reports:
            await self._publisher.anomalies(reports)
        for missing in run.detector.take_missing():
            await self._publisher.missing(run.info.shop_id, missing)
            await self._store.record_missing(run.info.shop_id, missing)
        await self._store.save(run.info.shop_id, end, run.state(), reports)
        run.judged_until = end
        self._count(reports)
        oldest = end - self._settings.detector.max_window_hours * HOUR
        run.open_reports = {i: r for i, r in run.open_reports.items() if r.bucket_end > oldest}
        if self._checkpoint_due(run):
            await self._checkpoint(run)

    async def _judge_stored(self, run: _ShopRun, end: datetime) -> list[AnomalyReport]:
        """The shop's stored hours from the newest judged to `end`, judged; what they raise."""
        settings = self._settings
        shop = run.info
        start = run.judged_until
        numerators = await self._store.hour_numerators(shop.shop_id, start, end)
        minutes = await self._store.checkout_minutes(shop.shop_id, start, end)
        # A campaign running before `end` was announced before it; late announcements still
        # count within the grace.
        run.detector.campaigns.add(
            await self._store.planned_campaigns(
                shop.shop_id, run.campaigns_until - settings.late_grace, end
            )
        )
        run.campaigns_until = max(run.campaigns_until, end)
        gaps = await self._store.incomplete_periods(shop.shop_id, start, end)
        products = await self._store.product_counts(shop.shop_id, start, end)
        reports = await _judge(
            self._slicer,
            run,
            hours_between(start, end, run.zone, numerators, minutes),
            product_hours_between(start, end, run.zone, products),
            gaps,
        )
        run.detector.campaigns.forget_before(end - CAMPAIGN_LOOKBACK)
        return reports

    async def _watch_open_hour(self, run: _ShopRun, complete_until: datetime) -> None:
        """A checkout outage in the hour not closed yet, from its minutes complete so far
        (`ShopDetector.open_checkout_run`); published again only when its run has grown."""
        known_until = complete_until.replace(second=0, microsecond=0)
        if (
            not run.detector.ready
            or known_until <= run.judged_until
            or known_until == run.watched_until
        ):
            return
        run.watched_until = known_until
        shop_id = run.info.shop_id
        minutes = await self._store.checkout_minutes(shop_id, run.judged_until, known_until)
        report = run.detector.open_checkout_run(minutes, known_until, run.zone)
        if report is None:
            return
        earlier = run.open_reports.get(report.anomaly_id)
        if earlier is not None and earlier.observations == report.observations:
            return
        report = replace(report, first=earlier is None)
        await self._publisher.anomalies([report])
        await self._store.save(shop_id, run.judged_until, run.state(), [report])
        run.open_reports[report.anomaly_id] = report
        self._count([report])

    async def _load(self, shop: ShopInfo, complete_until: datetime) -> _ShopRun | None:
        """The shop's detector after a start: from its checkpoint if there is one this code
        can use, else rebuilt by replaying the weeks before its progress (nothing to replay for
        a shop never judged).

        A shop never judged whose closed hours are fewer than any detector needs gets none yet:
        nothing could be raised or learned that judging its hours later from the first would
        not give the same (they are judged in order either way), and a detector holds about a
        megabyte of arrays, so a platform of many new shops would pay for nothing."""
        first = await self._store.first_bucket(shop.shop_id)
        if first is None:
            return None
        saved = await self._store.load_state(shop.shop_id)
        if saved is None and complete_until < first + self._history_needed:
            self._young_until[shop.shop_id] = first + self._history_needed
            return None
        self._young_until.pop(shop.shop_id, None)
        zone = ZoneInfo(shop.time_zone)
        run = None if saved is None else await self._resume(shop, zone, saved[0])
        source = "checkpoint"
        if run is None:
            source = "new" if saved is None else "replay"
            run = await self._replay(shop, zone, first, *(saved or (first, {})))
            if source == "replay" and self._settings.checkpoint_hours > 0:
                await self._checkpoint(run)  # so that the next start need not replay
        self._runs[shop.shop_id] = run
        self._metrics.detectors_loaded.labels(source).inc()
        log.info(
            "anomaly detection ready",
            shop=shop.shop_id,
            judged_until=run.judged_until.isoformat(),
            source=source,
        )
        return run

    async def _resume(
        self, shop: ShopInfo, zone: ZoneInfo, judged_until: datetime
    ) -> _ShopRun | None:
        """The shop's detector from its checkpoint, with the hours judged after the checkpoint
        judged again as they were, silently (their anomalies were published then); None when
        there is no checkpoint this code and these settings wrote."""
        if self._settings.checkpoint_hours <= 0:
            return None
        checkpoint = await self._store.load_checkpoint(shop.shop_id)
        oldest = judged_until - self._settings.detector.warm_up_hours * HOUR
        if (
            checkpoint is None
            or checkpoint.code_version != self._code_version
            or not oldest <= checkpoint.judged_until <= judged_until
        ):
            return None
        try:
            data = await asyncio.to_thread(_decompress, checkpoint.detector)
            started = time.perf_counter()
            detector, products = thaw(data)
        except CheckpointError:
            log.warning(
                "detector checkpoint unreadable; replaying", shop=shop.shop_id, exc_info=True
            )
            return None
        await self._slicer.duty.rest(time.perf_counter() - started)
        since = checkpoint.judged_until
        run = _ShopRun(shop, zone, detector, products, since, since, checkpointed_until=since)
        if since < judged_until:
            await self._judge_stored(run, judged_until)
            run.judged_until = judged_until
        return run

    async def _replay(
        self,
        shop: ShopInfo,
        zone: ZoneInfo,
        first: datetime,
        judged_until: datetime,
        state: dict[str, Any],
    ) -> _ShopRun:
        """The shop's detector with its saved memory, and the hours before its progress
        replayed to rebuild the baselines."""
        config = self._settings.detector
        detector = ShopDetector(
            shop.shop_id, config, shop.currency, shop.market, state.get("detector")
        )
        warm_from = max(first, judged_until - config.warm_up_hours * HOUR)
        detector.campaigns.add(
            await self._store.planned_campaigns(
                shop.shop_id, warm_from - CAMPAIGN_LOOKBACK, judged_until
            )
        )
        products = ProductWatch(shop.shop_id, shop.market, self._settings.products)
        if warm_from < judged_until:
            numerators = await self._store.hour_numerators(shop.shop_id, warm_from, judged_until)
            # Only the newest hours' minutes matter: a run older than the longest window is
            # never judged again.
            minutes = await self._store.checkout_minutes(
                shop.shop_id, judged_until - config.max_window_hours * HOUR, judged_until
            )
            with detector.replaying() as replay:
                await self._slicer.map(
                    hours_between(warm_from, judged_until, zone, numerators, minutes), replay
                )
            products_from = max(first, judged_until - products.config.warm_up_hours * HOUR)
            counts = await self._store.product_counts(shop.shop_id, products_from, judged_until)
            await self._slicer.map(
                product_hours_between(products_from, judged_until, zone, counts),
                lambda hour: products.warm_up((hour,)),
            )
        campaigns_until = datetime.fromisoformat(
            state.get("campaigns_until", judged_until.isoformat())
        )
        return _ShopRun(shop, zone, detector, products, judged_until, campaigns_until)

    def _checkpoint_due(self, run: _ShopRun) -> bool:
        every = self._settings.checkpoint_hours
        if every <= 0:
            return False
        if run.checkpointed_until is None:
            return True
        shop_id = run.info.shop_id
        return _checkpoint_period(shop_id, run.judged_until, every) > _checkpoint_period(
            shop_id, run.checkpointed_until, every
        )

    async def _checkpoint(self, run: _ShopRun) -> None:
        """Save the shop's detector as it is (pickling takes a few milliseconds of the loop,
        rested after; compressing runs in a thread, which zlib lets run beside the loop)."""
        started = time.perf_counter()
        data = freeze(run.detector, run.products)
        busy = time.perf_counter() - started
        compressed = await asyncio.to_thread(zlib.compress, data, 1)
        await self._store.save_checkpoint(
            run.info.shop_id, Checkpoint(run.judged_until, self._code_version, compressed)
        )
        run.checkpointed_until = run.judged_until
        self._metrics.checkpoints_saved.inc()
        await self._slicer.duty.rest(busy)

    def _count(self, reports: list[AnomalyReport]) -> None:
        for report in reports:
            if not report.first:
                continue
            log.info(
                "anomaly",
                shop=report.shop_id,
                kpis=list(report.kpis),
                severity=report.severity.value,
                bucket_start=report.bucket_start.isoformat(),
                explanation=report.explanation,
            )
            for kpi in report.kpis:
                self._metrics.anomalies.labels(kpi, report.severity.value).inc()


async def _judge(
    slicer: Slicer,
    run: _ShopRun,
    hours: list[ClosedHour],
    product_hours: list[ProductHour],
    gaps: list[tuple[datetime, datetime]],
) -> list[AnomalyReport]:
    """The shop's closed hours, then its products' (skipping the hours the shop's anomalies
    explain), an hour at a time: the same reports as judging them all at once."""
    reports = await slicer.map(hours, lambda hour: run.detector.judge((hour,), gaps))
    explained = [(r.bucket_start, r.bucket_end) for r in reports]
    return reports + await slicer.map(
        product_hours, lambda hour: run.products.judge((hour,), gaps, explained)
    )


def _checkpoint_period(shop_id: str, until: datetime, every: int) -> int:
    """Which of a shop's checkpoint periods of `every` hours `until` falls in. The periods of
    shops are shifted by a hash of their id, so that shops judged together do not all save a
    checkpoint in the same run."""
    return (int(until.timestamp()) // 3600 + zlib.crc32(shop_id.encode()) % every) // every


def _decompress(data: bytes) -> bytes:
    """A checkpoint's pickle; its compression damaged reads as an unreadable checkpoint."""
    try:
        return zlib.decompress(data)
    except zlib.error as exc:
        raise CheckpointError(str(exc)) from exc


def _partition(shop_id: str, partitions: int) -> int:
    """The partition a shop's events go to: producers key by shop id with Kafka's default
    murmur2 partitioner."""
    return int(murmur2(shop_id.encode()) & 0x7FFFFFFF) % partitions


def shop_owner(
    assignment: Callable[[], set[Any]], topic: str, partitions: int
) -> Callable[[str], bool]:
    """Whether this worker owns a shop: it consumes the partition the shop's events go to, so
    with several workers each shop is judged by exactly one."""

    def owns(shop_id: str) -> bool:
        mine = {tp.partition for tp in assignment() if tp.topic == topic}
        return _partition(shop_id, partitions) in mine

    return owns


def unfinished_sources(
    stored_to_end: Callable[[TopicPartition], Awaitable[bool | None]], topic_prefix: str
) -> Callable[[str], Awaitable[set[str]]]:
    """The judged sources whose partition for a shop still holds records this worker has not
    stored. A partition another worker reads counts as finished: its quiet decides."""
    specs = {spec.name: spec for spec in EVENT_TOPICS}

    async def unfinished(shop_id: str) -> set[str]:
        sources = set()
        for source in JUDGED_SOURCES:
            spec = specs[TOPIC_BY_PAYLOAD[source]]
            partition = TopicPartition(
                topic_prefix + spec.name, _partition(shop_id, spec.partitions)
            )
            if await stored_to_end(partition) is False:
                sources.add(source)
        return sources

    return unfinished


def anomaly_runner(
    pool: asyncpg.Pool,
    producer: Any,
    topic: str,
    settings: MetricsSettings,
    metrics: AnomalyMetrics,
    owns: Callable[[str], bool],
    unfinished: Callable[[str], Awaitable[Collection[str]]],
) -> AnomalyRunner:
    """The runner the job's timer calls, from the job's settings."""
    return AnomalyRunner(
        AnomalyStore(pool),
        AnomalyPublisher(producer, topic),
        RunnerSettings(
            late_grace=timedelta(seconds=settings.metrics_late_grace_seconds),
            quiet=timedelta(seconds=settings.metrics_anomaly_quiet_seconds),
            stall_after=timedelta(seconds=settings.metrics_anomaly_stall_seconds),
            stall_min_visitors=settings.metrics_anomaly_stall_min_visitors,
            live_window=timedelta(seconds=settings.metrics_anomaly_live_window_seconds),
            max_hours_per_run=settings.metrics_anomaly_max_hours_per_run,
            cpu_share=settings.metrics_anomaly_cpu_share,
            checkpoint_hours=settings.metrics_anomaly_checkpoint_hours,
            tick_seconds=settings.metrics_anomaly_interval_seconds,
            detector=DetectorConfig(
                min_evidence=settings.metrics_anomaly_min_evidence,
                min_history_hours=settings.metrics_anomaly_min_history_hours,
                order_lag_minutes=settings.metrics_anomaly_order_lag_minutes,
            ),
            products=ProductConfig(min_evidence=settings.metrics_anomaly_product_min_evidence),
        ),
        metrics,
        owns,
        unfinished,
        ready=in_background(load_library),
    )


def in_background(load: Callable[[], None]) -> Callable[[], bool]:
    """Start `load` in a thread; whether it has finished (failed or not: a failure is logged,
    and the first fit then tries the import itself)."""
    done = threading.Event()

    def run() -> None:
        try:
            load()
        except Exception:
            log.exception("loading the outlier model's library failed")
        finally:
            done.set()

    threading.Thread(target=run, name="outlier-library", daemon=True).start()
    return done.is_set
