"""Benchmark: setting up a shop's anomaly detector after a start, from a checkpoint against
replaying the weeks before.

For each shop of the generator's reference world (the series `bench.anomaly_quality` caches),
a detector and product watch judge the shop's hours up to a point C; a checkpoint is saved there
(pickled and compressed, as the job writes it); they judge 24 more hours, to J, and the job
"dies". Two ways back, timed in the same process:
- replay (the baseline, and what the job does without a usable checkpoint): a new detector with
  the state saved at J replays the 12 weeks before J, the product watch the 6 weeks before;
- checkpoint: the checkpoint is read back and the 24 hours from C to J judged again.
Both are then checked against the uninterrupted detector: the next week's reports must be the
same. CPU only, in this process: the database reads are left out, and the replay's are the
larger (12 weeks of hour rows per shop against one row of a few hundred kB).

    uv run --frozen python -m bench.anomaly_restart
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import math
import statistics
import time
import zlib
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
import structlog
from prometheus_client import CollectorRegistry

from bench.anomaly_quality import DEFAULT_END, ShopSeries, closed_hours, load_series
from bench.machine import describe_machine
from shopee_common.settings import PlatformSettings
from shopee_generator.world import DEFAULT_DAYS, DEFAULT_SEED, GeneratorConfig
from shopee_metrics.adapters.anomaly_publisher import AnomalyPublisher
from shopee_metrics.adapters.anomaly_runner import AnomalyMetrics, AnomalyRunner, RunnerSettings
from shopee_metrics.adapters.anomaly_store import AnomalyStore
from shopee_metrics.adapters.detector_checkpoints import freeze, thaw
from shopee_metrics.domain.anomalies import (
    BASE_KPIS,
    AnomalyReport,
    DetectorConfig,
    ShopDetector,
)
from shopee_metrics.domain.anomalies.history import ClosedHour
from shopee_metrics.domain.anomalies.products import (
    PRODUCT_KPIS,
    ProductConfig,
    ProductHour,
    ProductWatch,
)
from shopee_metrics.domain.contributions import SHOP
from tests.integration.databases import migrated_database

T = TypeVar("T")
HOUR = timedelta(hours=1)
BEHIND_HOURS = 24  # hours judged after the checkpoint, before the job dies
NEXT_HOURS = 20 * 7 * 24  # hours judged after the start, to compare with the uninterrupted run


def _judge(
    detector: ShopDetector,
    products: ProductWatch,
    hours: list[ClosedHour],
    product_hours: list[ProductHour],
) -> list[AnomalyReport]:
    reports = detector.judge(hours)
    explained = [(r.bucket_start, r.bucket_end) for r in reports]
    return reports + products.judge(product_hours, explained=explained)


def same(one: Any, other: Any) -> bool:
    """Equal values all the way down (NaN equal to NaN), whatever objects hold them."""
    if type(one) is not type(other):
        return False
    if isinstance(one, np.ndarray):
        return one.shape == other.shape and bool(np.array_equal(one, other, equal_nan=True))
    if isinstance(one, float):
        return one == other or (math.isnan(one) and math.isnan(other))
    if isinstance(one, dict):
        return one.keys() == other.keys() and all(same(one[k], other[k]) for k in one)
    if isinstance(one, list | tuple | deque):
        return len(one) == len(other) and all(same(a, b) for a, b in zip(one, other, strict=True))
    if dataclasses.is_dataclass(one):
        return all(
            same(getattr(one, f.name), getattr(other, f.name)) for f in dataclasses.fields(one)
        )
    if hasattr(one, "__dict__"):
        return same(vars(one), vars(other))
    return bool(one == other)


def _timed(work: Callable[[], T]) -> tuple[float, T]:
    started = time.process_time()
    result = work()
    return time.process_time() - started, result


def restart(series: ShopSeries, history_hours: int) -> dict[str, float]:
    config = DetectorConfig()
    shop_hours, product_hours = closed_hours(series)
    end = len(shop_hours) - NEXT_HOURS  # J
    checkpoint_at = end - BEHIND_HOURS  # C
    begin = max(0, checkpoint_at - history_hours)
    campaigns = [campaign for _, campaign in series.campaigns]

    detector = ShopDetector(series.shop_id, config)
    detector.campaigns.add(campaigns)
    products = ProductWatch(series.shop_id)
    _judge(detector, products, shop_hours[begin:checkpoint_at], product_hours[begin:checkpoint_at])
    save_seconds, saved = _timed(lambda: zlib.compress(freeze(detector, products), 1))
    _judge(detector, products, shop_hours[checkpoint_at:end], product_hours[checkpoint_at:end])
    state = detector.state()

    def replay() -> tuple[ShopDetector, ProductWatch]:
        again = ShopDetector(series.shop_id, config, state=state)
        again.campaigns.add(campaigns)
        again.warm_up(shop_hours[max(0, end - config.warm_up_hours) : end])
        watch = ProductWatch(series.shop_id)
        watch.warm_up(product_hours[max(0, end - watch.config.warm_up_hours) : end])
        return again, watch

    def resume() -> tuple[ShopDetector, ProductWatch]:
        again, watch = thaw(zlib.decompress(saved))
        again.campaigns.add(campaigns)
        _judge(again, watch, shop_hours[checkpoint_at:end], product_hours[checkpoint_at:end])
        return again, watch

    replay_seconds, (replayed, replayed_watch) = _timed(replay)
    resume_seconds, (resumed, resumed_watch) = _timed(resume)
    # Against the uninterrupted detector: every value held (outlier models aside), then the
    # reports of the weeks after.
    picture = detector.__getstate__(), products
    after = slice(end, end + NEXT_HOURS)
    replay_state = same((replayed.__getstate__(), replayed_watch), picture)
    resume_state = same((resumed.__getstate__(), resumed_watch), picture)
    expected = _judge(detector, products, shop_hours[after], product_hours[after])
    return {
        "replay": replay_seconds,
        "resume": resume_seconds,
        "save": save_seconds,
        "size": len(saved),
        "products": len(series.products),
        "replay state": 2.0 * replay_state,
        "resume state": 2.0 * resume_state,
        "replay reports": _alike(
            _judge(replayed, replayed_watch, shop_hours[after], product_hours[after]), expected
        ),
        "resume reports": _alike(
            _judge(resumed, resumed_watch, shop_hours[after], product_hours[after]), expected
        ),
        "anomalies": len({r.anomaly_id for r in expected}),
    }


def _alike(reports: list[AnomalyReport], expected: list[AnomalyReport]) -> float:
    """2: the same reports; 1: the same anomalies (ids, KPIs, spans), other figures (a score,
    an expected value); 0: other anomalies."""
    if reports == expected:
        return 2.0

    def anomalies(found: list[AnomalyReport]) -> list[tuple[object, ...]]:
        return [(r.anomaly_id, r.kpis, r.bucket_start, r.bucket_end) for r in found]

    return 1.0 if anomalies(reports) == anomalies(expected) else 0.0


def _yes(flag: float) -> str:
    return {2.0: "same", 1.0: "same anomalies, other figures", 0.0: "DIFFERENT"}[flag]


async def _job_restarts(dsn: str, shops: dict[str, ShopSeries], hours: int) -> None:
    """The job's own path (AnomalyRunner, AnomalyStore, PostgreSQL): the shops' last `hours`
    hours written to kpi_hour, judged cold to BEHIND_HOURS before their end with checkpoints on,
    then to the end (the checkpoints from before are kept, as a crash would leave them); then
    two starts timed, each a fresh runner's first run: from the checkpoints, and replaying."""
    first_hour = {
        shop: series.first_hour + (len(series.counts) - hours) * HOUR
        for shop, series in shops.items()
    }
    rows = []
    for shop, series in shops.items():
        zone = ZoneInfo(series.time_zone)
        for index in range(len(series.counts) - hours, len(series.counts)):
            bucket = series.first_hour + index * HOUR
            local = bucket.astimezone(zone).replace(tzinfo=None)
            for kpi, value in zip(BASE_KPIS, series.counts[index], strict=True):
                if value:
                    rows.append((shop, SHOP, kpi, bucket, local, float(value), int(value)))
            for product, counts in zip(series.products, series.product_counts[index], strict=True):
                for kpi, value in zip(PRODUCT_KPIS, counts, strict=True):
                    if value:
                        rows.append((shop, product, kpi, bucket, local, float(value), int(value)))
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    assert pool is not None
    try:
        await pool.copy_records_to_table(
            "kpi_hour",
            records=rows,
            columns=["shop_id", "product_id", "kpi", "bucket", "local_hour", "value", "numerator"],
        )
        print(f"job path: {len(shops)} shops, {hours:,} hours each, {len(rows):,} kpi_hour rows")

        async def watermarks(behind: int) -> None:
            await pool.executemany(
                "INSERT INTO stream_watermarks (shop_id, source, watermark, updated_at) "
                "VALUES ($1, $2, $3, now() - interval '1 hour') ON CONFLICT (shop_id, source) "
                "DO UPDATE SET watermark = excluded.watermark, updated_at = excluded.updated_at",
                [
                    (shop, source, first_hour[shop] + (hours - behind) * HOUR)
                    for shop in shops
                    for source in ("order", "traffic")
                ],
            )

        def runner(checkpoint_hours: int) -> AnomalyRunner:
            async def nothing_unread(shop_id: str) -> set[str]:
                return set()

            settings = RunnerSettings(
                late_grace=timedelta(0),
                quiet=timedelta(0),
                stall_after=timedelta(minutes=30),
                live_window=timedelta(hours=1),
                max_hours_per_run=hours,
                detector=DetectorConfig(),
                products=ProductConfig(),
                checkpoint_hours=checkpoint_hours,
            )
            publisher = AnomalyPublisher(producer, "anomalies")
            metrics = AnomalyMetrics(CollectorRegistry())
            return AnomalyRunner(
                AnomalyStore(pool), publisher, settings, metrics, lambda _: True, nothing_unread
            )

        producer = _CountingProducer()
        await watermarks(BEHIND_HOURS)
        cold = runner(24)
        started = time.perf_counter()
        judged = await cold.run_once()
        print(f"cold: {judged:,} shop hours judged in {time.perf_counter() - started:.1f} s")
        await pool.execute("CREATE TABLE kept AS SELECT * FROM anomaly_detector_checkpoints")
        await watermarks(0)
        await cold.run_once()
        await pool.execute("DELETE FROM anomaly_detector_checkpoints")
        await pool.execute("INSERT INTO anomaly_detector_checkpoints SELECT * FROM kept")
        for name, checkpoint_hours in (("checkpoint", 24), ("replay", 0), ("checkpoint", 24)):
            start = runner(checkpoint_hours)
            published = producer.sent
            wall, cpu = time.perf_counter(), time.process_time()
            await start.run_once()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(
                f"start from {name:<10}: {wall:6.2f} s wall, {cpu:6.2f} s CPU of this process "
                f"({wall / len(shops) * 1000:5.0f} ms a shop); published "
                f"{producer.sent - published}"
            )
    finally:
        await pool.close()


class _CountingProducer:
    """Counts what would be published: a start must publish nothing (its hours were judged
    before)."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, *args: Any, **kwargs: Any) -> asyncio.Future[None]:
        self.sent += 1
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--history-weeks", type=int, default=20, help="weeks judged before the checkpoint"
    )
    parser.add_argument(
        "--job-shops",
        type=int,
        default=0,
        help="also time starts through the job's own runner and a throwaway database (needs "
        "the stack's PostgreSQL): this many shops, the reference world's four cycled",
    )
    options = parser.parse_args()
    world = GeneratorConfig.ending(DEFAULT_END, days=DEFAULT_DAYS, shops=4, seed=DEFAULT_SEED)
    print(f"machine: {describe_machine()}")
    print(
        f"world: seed {world.seed}, {world.shops} shops, {world.days} days; checkpoint "
        f"{BEHIND_HOURS} h behind the saved progress; CPU seconds of this process"
    )
    results = []
    for shop, series in load_series(world).items():
        figures = restart(series, options.history_weeks * 7 * 24)
        results.append(figures)
        print(
            f"{shop:<14} {figures['products']:>4.0f} products  replay {figures['replay']:6.3f} s  "
            f"checkpoint: read back and {BEHIND_HOURS} h judged again {figures['resume']:6.3f} s, "
            f"saved in {figures['save'] * 1000:4.0f} ms, {figures['size'] / 1e3:5.0f} kB  "
            f"ratio {figures['replay'] / figures['resume']:5.1f}x"
        )
        print(
            f"{'':<14} as uninterrupted: every value held: replay {_yes(figures['replay state'])}, "
            f"checkpoint {_yes(figures['resume state'])}; the next {NEXT_HOURS // 168} weeks' "
            f"reports ({figures['anomalies']:.0f} anomalies): replay "
            f"{_yes(figures['replay reports'])}, checkpoint {_yes(figures['resume reports'])}"
        )
    ratio = statistics.median(r["replay"] / r["resume"] for r in results)
    print(f"median ratio replay / checkpoint: {ratio:.1f}x")
    if options.job_shops:
        # The runner logs every shop it sets up and every anomaly.
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        series = list(load_series(world).values())
        shops = {
            f"{series[i % len(series)].shop_id}-{i:04d}": series[i % len(series)]
            for i in range(options.job_shops)
        }
        server = PlatformSettings().database_url.get_secret_value()
        with migrated_database(server, {s: v.time_zone for s, v in shops.items()}) as dsn:
            asyncio.run(_job_restarts(dsn, shops, options.history_weeks * 7 * 24))


if __name__ == "__main__":
    main()
