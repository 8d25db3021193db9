"""The detection run with fakes of the database and the topic: bounded catch-up, publish before
store, resume after a restart, data-incomplete signals opened once and resolved, ownership."""

from __future__ import annotations

import asyncio
import os
import pickle
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry

from shopee_metrics.adapters.anomaly_publisher import AnomalyPublisher
from shopee_metrics.adapters.anomaly_runner import (
    AnomalyMetrics,
    AnomalyRunner,
    RunnerSettings,
    in_background,
)
from shopee_metrics.adapters.anomaly_store import AnomalyStore, Checkpoint, ShopInfo
from shopee_metrics.adapters.detector_checkpoints import code_version
from shopee_metrics.domain.anomalies import (
    AnomalyReport,
    DetectorConfig,
    Incomplete,
    PlannedCampaign,
    SourceMark,
)
from shopee_metrics.domain.anomalies.checkout_runs import CheckoutMinute
from shopee_metrics.domain.anomalies.detector import MissingData
from shopee_metrics.domain.anomalies.products import ProductConfig

HOUR = timedelta(hours=1)
SHOP = ShopInfo("shop-1", "Asia/Jakarta", "IDR", "ID")
FIRST = datetime(2026, 5, 10, 17, tzinfo=UTC)  # midnight in Jakarta
DAYS = 10
OUTAGE = FIRST + (8 * 24 + 12) * HOUR  # day 8, noon local
NOW = datetime(2026, 11, 25, tzinfo=UTC)
DETECTOR = DetectorConfig(min_history_hours=72)


def numerators(days: int, visitors_per_hour: float = 200) -> dict[datetime, dict[str, float]]:
    """A steady shop (busy by default) whose checkout breaks for three hours at OUTAGE."""
    rng = np.random.default_rng(4)
    hours = {}
    for index in range(days * 24):
        start = FIRST + index * HOUR
        visitors = int(rng.poisson(visitors_per_hour))
        views = int(rng.poisson(visitors * 1.5))
        carts = int(rng.binomial(views, 0.066))
        checkouts = int(rng.binomial(carts, 0.6))
        broken = OUTAGE <= start < OUTAGE + 3 * HOUR
        created = 0 if broken else int(rng.binomial(checkouts, 0.9))
        counts = {
            "unique_visitors": visitors,
            "product_views": views,
            "add_to_carts": carts,
            "checkout_starts": checkouts,
            "created_orders": created,
            "paid_orders": created,
            "gmv": created * 5_000_000,
        }
        hours[start] = {kpi: float(value) for kpi, value in counts.items()}
    return hours


class FakeStore(AnomalyStore):
    def __init__(self, hours: dict[datetime, dict[str, float]], log: list[str]) -> None:
        self.hours = hours
        self.log = log
        self.now = NOW
        newest = max(hours) + HOUR
        # A replay: events far older than the wall clock, counted a while ago.
        self.marks = {
            SHOP.shop_id: [
                SourceMark(source, newest, NOW - timedelta(hours=1))
                for source in ("order", "traffic")
            ]
        }
        self.states: dict[str, tuple[datetime, dict[str, Any]]] = {}
        self.anomalies: dict[str, AnomalyReport] = {}
        self.signals: dict[str, list[Any]] = {}
        self.reasons: dict[str, str] = {}
        self.reads: list[tuple[datetime, datetime]] = []
        self.minutes: dict[datetime, tuple[CheckoutMinute, ...]] = {}
        self.checkpoints: list[Checkpoint] = []  # every one saved, oldest first
        self.missing: list[MissingData] = []

    async def watermarks(self) -> tuple[datetime, dict[str, list[SourceMark]]]:
        return self.now, self.marks

    async def shops(self) -> list[ShopInfo]:
        return [SHOP]

    async def first_bucket(self, shop_id: str) -> datetime | None:
        self.log.append("first bucket")
        return min(self.hours)

    async def hour_numerators(
        self, shop_id: str, start: datetime, end: datetime
    ) -> dict[datetime, dict[str, float]]:
        self.reads.append((start, end))
        return {b: v for b, v in self.hours.items() if start <= b < end}

    async def planned_campaigns(
        self, shop_id: str, start: datetime, end: datetime
    ) -> list[PlannedCampaign]:
        return []

    async def checkout_minutes(
        self, shop_id: str, start: datetime, end: datetime
    ) -> dict[datetime, tuple[CheckoutMinute, ...]]:
        return {
            hour: tuple(m for m in minutes if hour + m.minute * timedelta(minutes=1) < end)
            for hour, minutes in self.minutes.items()
            if start <= hour < end
        }

    async def product_counts(
        self, shop_id: str, start: datetime, end: datetime
    ) -> dict[datetime, dict[str, tuple[float, float, float]]]:
        return {}

    async def load_state(self, shop_id: str) -> tuple[datetime, dict[str, Any]] | None:
        return self.states.get(shop_id)

    async def save(
        self,
        shop_id: str,
        judged_until: datetime,
        state: dict[str, Any],
        reports: list[AnomalyReport],
    ) -> None:
        self.log.append(f"save {len(reports)}")
        self.states[shop_id] = (judged_until, state)
        self.anomalies.update({r.anomaly_id: r for r in reports})

    async def load_checkpoint(self, shop_id: str) -> Checkpoint | None:
        return self.checkpoints[-1] if self.checkpoints else None

    async def save_checkpoint(self, shop_id: str, checkpoint: Checkpoint) -> None:
        self.log.append("checkpoint")
        self.checkpoints.append(checkpoint)

    async def open_incomplete(self) -> dict[str, datetime]:
        return {shop: s[0] for shop, s in self.signals.items() if s[1] is None}

    async def record_incomplete(self, shop_id: str, incomplete: Incomplete) -> None:
        self.signals[shop_id] = [incomplete.since, None, incomplete.lag_seconds]
        self.reasons[shop_id] = incomplete.reason

    async def incomplete_periods(
        self, shop_id: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        return []

    async def record_missing(self, shop_id: str, missing: MissingData) -> None:
        self.log.append("missing stored")
        self.missing.append(missing)

    async def resolve_incomplete(self, shop_id: str) -> tuple[datetime, datetime] | None:
        signal = self.signals[shop_id]
        signal[1] = self.now
        return signal[0], self.now


class FakePublisher(AnomalyPublisher):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def anomalies(self, reports: list[AnomalyReport]) -> None:
        self.log.append(f"publish {len(reports)}")

    async def incomplete(self, shop_id: str, incomplete: Incomplete) -> None:
        self.log.append(f"incomplete {incomplete.lag_seconds:.0f}")

    async def resolved(self, shop_id: str, since: datetime, resolved_at: datetime) -> None:
        self.log.append("resolved")

    async def missing(self, shop_id: str, missing: MissingData) -> None:
        self.log.append("missing published")


def runner(
    store: FakeStore,
    log: list[str],
    owns: bool | Callable[[str], bool] = True,
    unfinished: frozenset[str] = frozenset(),
    registry: CollectorRegistry | None = None,
    ready: Callable[[], bool] = lambda: True,
    checkpoint_hours: int = 0,
    detector: DetectorConfig = DETECTOR,
    clock: Callable[[], float] = lambda: 0.0,
) -> AnomalyRunner:
    settings = RunnerSettings(
        late_grace=timedelta(minutes=10),
        quiet=timedelta(0),
        stall_after=timedelta(minutes=30),
        live_window=timedelta(hours=1),
        max_hours_per_run=100,
        detector=detector,
        products=ProductConfig(),
        checkpoint_hours=checkpoint_hours,
    )

    async def unfinished_sources(shop_id: str) -> frozenset[str]:
        return unfinished

    return AnomalyRunner(
        store,
        FakePublisher(log),
        settings,
        AnomalyMetrics(registry or CollectorRegistry()),
        owns if callable(owns) else lambda _: owns,
        unfinished_sources,
        ready,
        clock,
    )


def test_a_replay_is_judged_in_bounded_runs_published_before_stored_and_resumed() -> None:
    log: list[str] = []
    store = FakeStore(numerators(DAYS), log)
    first = runner(store, log)
    # The newest hour closes only with the late grace behind it: 239 of 240 hours.
    assert [asyncio.run(first.run_once()) for _ in range(4)] == [100, 100, 39, 0]
    assert len(store.anomalies) == 1
    (anomaly,) = store.anomalies.values()
    assert (anomaly.bucket_start, anomaly.bucket_end) == (OUTAGE, OUTAGE + 3 * HOUR)
    assert "created_orders" in anomaly.kpis
    # The anomaly grew over three hours of one run: three reports, sent before they are stored.
    assert log == ["first bucket", "save 0", "save 0", "publish 3", "save 3"]
    assert store.states[SHOP.shop_id][0] == FIRST + 239 * HOUR

    # A restart without checkpoints: the new runner replays the saved span, then judges only
    # what is new.
    extend(store, later_day(DAYS))
    store.reads.clear()
    again = runner(store, log)
    assert asyncio.run(again.run_once()) == 24
    warm_up, judged = store.reads
    assert warm_up == (FIRST, FIRST + 239 * HOUR)
    assert judged == (FIRST + 239 * HOUR, FIRST + 263 * HOUR)
    assert len(store.anomalies) == 1


def test_a_backlog_is_judged_run_after_run_until_the_next_tick_is_due() -> None:
    """A history longer than one run's hours is not left to one run per tick: runs follow one
    another within the tick (the duty cycle paces them), and stop when the next tick is due."""
    log: list[str] = []
    store = FakeStore(numerators(DAYS), log)
    asyncio.run(runner(store, log).run_safely())
    assert store.states[SHOP.shop_id][0] == FIRST + 239 * HOUR

    ticks = iter([0.0, 4.0, 11.0])  # the tick is due 10 s after it started
    store = FakeStore(numerators(DAYS), log)
    asyncio.run(runner(store, log, clock=lambda: next(ticks)).run_safely())
    assert store.states[SHOP.shop_id][0] == FIRST + 200 * HOUR


def test_hours_whose_events_are_missing_are_said_as_data_incomplete_once() -> None:
    """Six hours of a day without a single event (a feed that stopped): no anomaly, but one
    closed data-incomplete period, published before it is stored, and not again when the same
    hours are judged after a restart."""
    log: list[str] = []
    hours = numerators(DAYS)
    gap = FIRST + (9 * 24 + 8) * HOUR
    for index in range(6):
        hours[gap + index * HOUR] = {}
    store = FakeStore(hours, log)
    judge_all(runner(store, log))
    (missing,) = store.missing
    assert (missing.start, missing.end) == (gap, gap + 6 * HOUR)
    assert missing.reason.startswith("no events for 6 h where ")
    assert log.index("missing published") < log.index("missing stored")
    assert not any(gap <= a.bucket_start < gap + 6 * HOUR for a in store.anomalies.values())

    store.states.clear()
    store.missing.clear()
    judge_all(runner(store, log))
    assert [(m.start, m.end) for m in store.missing] == [(gap, gap + 6 * HOUR)]


def later_day(day: int, outage: bool = False) -> dict[datetime, dict[str, float]]:
    """An ordinary day `day` days after FIRST, or with its checkout broken 12:00-15:00."""
    hours = {b + day * 24 * HOUR: dict(v) for b, v in numerators(1).items()}
    if outage:
        broken = OUTAGE + (day - 8) * 24 * HOUR
        for start in (broken, broken + HOUR, broken + 2 * HOUR):
            hours[start].update(created_orders=0.0, paid_orders=0.0, gmv=0.0)
    return hours


def extend(store: FakeStore, hours: dict[datetime, dict[str, float]]) -> None:
    """More hours, counted up to their end."""
    store.hours.update(hours)
    newest = max(store.hours) + HOUR
    store.marks[SHOP.shop_id] = [
        SourceMark(m.source, newest, m.updated_at) for m in store.marks[SHOP.shop_id]
    ]


def judge_all(live: AnomalyRunner) -> None:
    while asyncio.run(live.run_once()):
        pass


def loaded(registry: CollectorRegistry, source: str) -> float | None:
    return registry.get_sample_value("metrics_anomaly_detectors_loaded_total", {"source": source})


def test_a_restart_resumes_from_a_checkpoint_and_judges_as_an_uninterrupted_run() -> None:
    uninterrupted = FakeStore(numerators(DAYS) | later_day(DAYS, outage=True), [])
    judge_all(runner(uninterrupted, uninterrupted.log, checkpoint_hours=24))
    assert len(uninterrupted.anomalies) == 2

    log: list[str] = []
    store = FakeStore(numerators(DAYS), log)
    judge_all(runner(store, log, checkpoint_hours=24))
    assert log.count("checkpoint") == len(store.checkpoints) >= 2
    assert store.checkpoints[0].judged_until == FIRST + 100 * HOUR  # after the first run
    assert store.checkpoints[-1].judged_until == FIRST + 239 * HOUR
    # The job dies; the checkpoints after its first were lost with it (say).
    del store.checkpoints[1:]
    extend(store, later_day(DAYS, outage=True))
    log.clear()
    store.reads.clear()
    registry = CollectorRegistry()
    judge_all(runner(store, log, checkpoint_hours=24, registry=registry))
    # No twelve weeks read back: the hours after the checkpoint judged again, then the new ones.
    assert store.reads == [
        (FIRST + 100 * HOUR, FIRST + 239 * HOUR),
        (FIRST + 239 * HOUR, FIRST + 263 * HOUR),
    ]
    # The first outage, judged again, is not published again; the new one is, as it would
    # have been without the restart, and a checkpoint follows.
    assert log == ["first bucket", "publish 3", "save 3", "checkpoint"]
    assert store.anomalies == uninterrupted.anomalies
    assert loaded(registry, "checkpoint") == 1


def test_a_checkpoint_of_other_code_or_settings_or_damaged_is_replayed_over() -> None:
    log: list[str] = []
    store = FakeStore(numerators(DAYS), log)
    judge_all(runner(store, log, checkpoint_hours=24))
    good = store.checkpoints[-1]
    foreign = zlib.compress(pickle.dumps(os.getcwd))  # a function: never built from a row
    for checkpoint, detector in (
        (replace(good, code_version="0123456789abcdef"), DETECTOR),
        (good, DetectorConfig(min_history_hours=72, min_evidence=5.0)),
        (replace(good, detector=b"not compressed"), DETECTOR),
        (replace(good, detector=foreign), DETECTOR),
    ):
        store.checkpoints = [checkpoint]
        store.reads.clear()
        registry = CollectorRegistry()
        judge_all(runner(store, log, checkpoint_hours=24, detector=detector, registry=registry))
        assert store.reads[0] == (FIRST, FIRST + 239 * HOUR)  # the whole span replayed
        assert loaded(registry, "replay") == 1
        # Then checkpointed at once, so that the next start does not replay.
        fresh = store.checkpoints[-1]
        assert fresh.judged_until == FIRST + 239 * HOUR
        assert fresh.code_version == code_version(detector, ProductConfig())
        if detector == DETECTOR:
            assert fresh.detector == good.detector  # the replay rebuilt the very same detector


def test_hours_wait_for_a_source_the_worker_has_not_finished_reading() -> None:
    log: list[str] = []
    store = FakeStore(numerators(DAYS), log)
    # Traffic read to the end; orders counted up to day 4 an hour ago, the rest still unread.
    orders_until = FIRST + 4 * 24 * HOUR
    traffic = next(m for m in store.marks[SHOP.shop_id] if m.source == "traffic")
    store.marks[SHOP.shop_id] = [traffic, SourceMark("order", orders_until, NOW - HOUR)]
    reading = runner(store, log, unfinished=frozenset({"order"}))
    assert asyncio.run(reading.run_once()) == 4 * 24 - 1
    assert store.states[SHOP.shop_id][0] == orders_until - HOUR
    # Never counted and unread: nothing is judged at all.
    fresh = FakeStore(numerators(DAYS), log)
    fresh.marks[SHOP.shop_id] = [traffic]
    assert asyncio.run(runner(fresh, log, unfinished=frozenset({"order"})).run_once()) == 0
    assert fresh.reads == []


def test_data_incomplete_is_signalled_once_and_resolved_when_events_flow() -> None:
    log: list[str] = []
    store = FakeStore(numerators(2), log)
    live = runner(store, log)
    stopped = NOW - 2 * HOUR
    store.marks[SHOP.shop_id] = [SourceMark("traffic", stopped, stopped + timedelta(seconds=2))]
    asyncio.run(live.run_once())
    asyncio.run(live.run_once())
    assert [entry for entry in log if entry.startswith("incomplete")] == ["incomplete 7200"]
    assert store.signals[SHOP.shop_id][1] is None
    store.marks[SHOP.shop_id] = [SourceMark("traffic", NOW - timedelta(minutes=1), NOW)]
    asyncio.run(live.run_once())
    assert log.count("resolved") == 1
    assert store.signals[SHOP.shop_id][1] == NOW


def test_a_quiet_shop_is_not_stalled_until_its_silence_has_missed_enough_visitors() -> None:
    """A live shop whose events stopped, its history judged up to the silence: 40 minutes of a
    shop of 200 visitors an hour is a stall; of one with 4 an hour, a quiet spell, until about
    five hours of silence have missed the 20 visitors that make none by chance implausible."""
    for per_hour, silence, stalled in (
        (200, timedelta(minutes=40), True),
        (4, timedelta(minutes=40), False),
        (4, 6 * HOUR, True),
    ):
        stopped = NOW - silence
        history = numerators(DAYS, per_hour)
        shift = stopped.replace(minute=0) - (max(history) + HOUR)
        log: list[str] = []
        store = FakeStore({start + shift: counts for start, counts in history.items()}, log)
        store.marks[SHOP.shop_id] = [
            SourceMark(source, stopped, stopped + timedelta(seconds=2))
            for source in ("order", "traffic")
        ]
        judge_all(runner(store, log))
        signal = store.signals.get(SHOP.shop_id)
        assert (signal is not None) is stalled, (per_hour, silence)
        if stalled:
            (said,) = [entry for entry in log if entry.startswith("incomplete")]
            assert said == f"incomplete {silence.total_seconds():.0f}"
            assert store.reasons[SHOP.shop_id].endswith("visitors were expected"), store.reasons


def test_shops_of_other_workers_are_left_alone() -> None:
    log: list[str] = []
    store = FakeStore(numerators(DAYS), log)
    assert asyncio.run(runner(store, log, owns=False).run_once()) == 0
    assert store.reads == []
    assert log == []


def test_a_shop_handed_to_another_worker_and_back_is_loaded_again() -> None:
    log: list[str] = []
    store = FakeStore(numerators(DAYS), log)
    owned = [True]
    live = runner(store, log, owns=lambda _: owned[0], checkpoint_hours=24)
    assert asyncio.run(live.run_once()) == 100
    owned[0] = False  # the partitions moved: another worker judges the shop meanwhile
    assert asyncio.run(live.run_once()) == 0
    judge_all(runner(store, log, checkpoint_hours=24))
    owned[0] = True
    store.reads.clear()
    asyncio.run(live.run_once())
    # Not the 100 hours it had judged, stale by now: the other worker's progress.
    assert store.reads == []
    assert store.states[SHOP.shop_id][0] == FIRST + 239 * HOUR


def test_a_shop_whose_detection_fails_does_not_stop_the_others() -> None:
    # PostgreSQL knows zones Python's zoneinfo may not: that shop cannot be judged.
    broken = ShopInfo("shop-0", "Mars/Olympus_Mons", "IDR", "ID")

    class TwoShops(FakeStore):
        async def shops(self) -> list[ShopInfo]:
            return [broken, SHOP]

    log: list[str] = []
    store = TwoShops(numerators(DAYS), log)
    store.marks[broken.shop_id] = store.marks[SHOP.shop_id]
    registry = CollectorRegistry()
    seconds = [0.0]
    live = runner(store, log, registry=registry, clock=lambda: seconds[0])

    def failures() -> float | None:
        return registry.get_sample_value("metrics_anomaly_failures_total", {"scope": "shop"})

    assert [asyncio.run(live.run_once()) for _ in range(3)] == [100, 100, 39]
    assert list(store.states) == [SHOP.shop_id]
    # Tried once, then left alone until its back-off (30 s) is over.
    assert failures() == 1
    assert registry.get_sample_value("metrics_anomaly_shops_failing") == 1
    seconds[0] = 30.0
    asyncio.run(live.run_once())
    assert failures() == 2
    # The wait doubles with each failure in a row: 60 s now.
    seconds[0] = 89.0
    asyncio.run(live.run_once())
    assert failures() == 2
    seconds[0] = 90.0
    asyncio.run(live.run_once())
    assert failures() == 3


def test_a_shop_whose_judging_fails_still_gets_its_stall_signal() -> None:
    """Whether its events stopped does not depend on judging its hours."""
    broken = ShopInfo("shop-0", "Mars/Olympus_Mons", "IDR", "ID")

    class OneBrokenShop(FakeStore):
        async def shops(self) -> list[ShopInfo]:
            return [broken]

    log: list[str] = []
    store = OneBrokenShop(numerators(DAYS), log)
    stopped = NOW - 2 * HOUR
    store.marks = {broken.shop_id: [SourceMark("traffic", stopped, stopped + timedelta(seconds=2))]}
    registry = CollectorRegistry()
    asyncio.run(runner(store, log, registry=registry).run_once())
    assert registry.get_sample_value("metrics_anomaly_shops_failing") == 1
    assert store.signals[broken.shop_id][1] is None, "open"
    assert [entry for entry in log if entry.startswith("incomplete")] == ["incomplete 7200"]


def test_a_failed_shop_that_can_be_judged_again_is_no_longer_held_back() -> None:
    log: list[str] = []
    broken = [True]

    class FlakyStore(FakeStore):
        async def hour_numerators(self, *args: Any, **kwargs: Any) -> Any:
            if broken[0]:
                raise ValueError("a row the detector cannot take")
            return await super().hour_numerators(*args, **kwargs)

    store = FlakyStore(numerators(DAYS), log)
    registry = CollectorRegistry()
    seconds = [0.0]
    live = runner(store, log, registry=registry, clock=lambda: seconds[0])
    assert asyncio.run(live.run_once()) == 0
    broken[0] = False
    assert asyncio.run(live.run_once()) == 0  # still waiting
    seconds[0] = 30.0
    assert asyncio.run(live.run_once()) == 100
    assert registry.get_sample_value("metrics_anomaly_shops_failing") == 0
    assert [asyncio.run(live.run_once()) for _ in range(2)] == [100, 39]


def test_a_shop_too_young_to_raise_anything_gets_no_detector_until_it_could() -> None:
    log: list[str] = []
    # Two days closed, and the detector needs three (min_history_hours=72 in `runner`).
    young = {b: v for b, v in numerators(DAYS).items() if b < FIRST + 2 * 24 * HOUR}
    store = FakeStore(young, log)
    live = runner(store, log)
    assert [asyncio.run(live.run_once()) for _ in range(3)] == [0, 0, 0]
    assert store.reads == []  # no hours read back or judged
    assert log == ["first bucket"]  # and asked once, not every run
    assert store.states == {}

    # Old enough: its hours are judged from its first, as if judged all along.
    store.hours.update(numerators(DAYS))
    store.marks = FakeStore(store.hours, log).marks
    assert [asyncio.run(live.run_once()) for _ in range(4)] == [100, 100, 39, 0]
    assert store.reads[0] == (FIRST, FIRST + 100 * HOUR)
    (anomaly,) = store.anomalies.values()
    assert (anomaly.bucket_start, anomaly.bucket_end) == (OUTAGE, OUTAGE + 3 * HOUR)


def test_a_checkout_outage_is_called_before_its_hour_closes_and_counted_once() -> None:
    log: list[str] = []
    hours = numerators(DAYS)
    # The newest hour, still open (the late grace): six checkouts from 12:05, no order since.
    newest = FIRST + (DAYS * 24 - 1) * HOUR
    hours[newest].update(checkout_starts=6.0, created_orders=0.0, paid_orders=0.0, gmv=0.0)
    store = FakeStore(hours, log)
    store.minutes[newest] = tuple(CheckoutMinute(m, 1.0, 0.0) for m in (5, 12, 20, 28, 35, 41))
    registry = CollectorRegistry()
    live = runner(store, log, registry=registry)
    while asyncio.run(live.run_once()):
        pass
    assert store.states[SHOP.shop_id][0] == newest  # the hour is not judged yet
    early = store.anomalies[max(store.anomalies, key=lambda i: store.anomalies[i].bucket_start)]
    assert early.bucket_start == newest
    assert early.explanation.startswith("orders stopped: 6 checkouts in a row since ")
    assert early.first
    asyncio.run(live.run_once())  # nothing new in the open hour: not published again
    assert log[-2:] == ["publish 1", "save 1"]

    # The hour closes: the same anomaly, now judged with its whole hour.
    store.marks[SHOP.shop_id] = [
        SourceMark(m.source, m.watermark + HOUR, m.updated_at) for m in store.marks[SHOP.shop_id]
    ]
    store.hours[newest + HOUR] = numerators(1)[FIRST]
    assert asyncio.run(live.run_once()) == 1
    judged = store.anomalies[early.anomaly_id]
    assert judged.bucket_end == newest + HOUR
    assert "visitors normal" in judged.explanation  # the whole tree, now
    assert "6 checkouts started, 0 became orders" in judged.explanation
    assert not judged.first
    counted = sum(
        sample.value
        for metric in registry.collect()
        if metric.name == "metrics_anomalies"
        for sample in metric.samples
        if sample.name == "metrics_anomalies_total" and sample.labels["kpi"] == "created_orders"
    )
    assert counted == 2  # the three-hour outage of day 8, and this one once


def test_nothing_is_judged_until_the_outlier_library_has_loaded_in_the_background() -> None:
    release = threading.Event()

    def load() -> None:
        release.wait(5)

    ready = in_background(load)
    log: list[str] = []
    store = FakeStore(numerators(DAYS), log)
    waiting = runner(store, log, ready=ready)
    assert asyncio.run(waiting.run_once()) == 0
    assert log == []
    assert store.reads == []
    release.set()
    for _ in range(50):
        if ready():
            break
        time.sleep(0.01)
    assert asyncio.run(waiting.run_once()) == 100

    def broken() -> None:
        raise ImportError("no pyod")

    failed = in_background(broken)
    for _ in range(50):
        if failed():
            break
        time.sleep(0.01)
    assert failed()  # a failure does not hold detection back for ever
