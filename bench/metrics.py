"""Benchmark: the stream job's sustained events/s from topic to committed KPIs, and the latency
from an event to the `kpi.updates` snapshot that includes it, against the raw aiokafka consume
rate of the same records as the ceiling (same script, same broker).

    uv run --frozen python -m bench.metrics --events 200000 --live-rate 2000 --live-seconds 20

Throughput: N generated events (3 busy shops, or `--history-shops` of ordinary size) are written
to private topics first; the job then starts and the rate is N / (last commit - first commit) as
PostgreSQL recorded them (`event_ids.first_seen_at` is the transaction time). Latency: events produced live at a steady
rate with occurred_at = send time; an event's latency is when the broker appended the first
snapshot of its shop whose watermark reached it to `kpi.updates` (the bench's private topic keeps
LogAppendTime, so a busy bench cannot add to it), minus its send time; when this script's consumer
received that snapshot is printed beside it. The live events go to the history's three shops
(each then gets hundreds a second, and the job sends a shop's snapshot at most once a second, so an
event waits up to a second for its shop's next one), or with `--live-shops N` to N other shops in
turn (fewer than one event a second each: what is left is the pipeline). Needs the stack
(`scripts/stack up --infra`).

`--store-only`: instead, the same N events go straight through the job's `KpiStore` (prepare, then
apply, one batch of 5,000 after another; no Kafka, no pipelining, the job's GC settings), printing
the CPU per event of this process (the job's Python) and, when the server runs on this machine, of
its PostgreSQL backend, the seconds of each SQL statement, the KPI rows upserted (per event and the
time per row) and the size of `kpi_members` afterwards: the database's share of the work without
the noise of the broker and the other processes. CPU times vary less than wall times on a busy
machine.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import os
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psycopg

from bench.machine import describe_machine
from shopee.events.v1 import events_pb2
from shopee.metrics.v1 import metrics_pb2
from shopee_common.events import payload_topic
from shopee_common.kafka import make_consumer, make_producer
from shopee_common.settings import PlatformSettings
from shopee_common.topics import ALL_TOPICS, EVENT_TOPICS, KPI_UPDATES, private_topics
from shopee_generator.world import GeneratorConfig, generate_history
from shopee_metrics.__main__ import GC_YOUNG_THRESHOLD
from shopee_metrics.adapters.store import UPSERTS, KpiStore
from shopee_metrics.domain.batch import Position, candidate
from shopee_metrics.domain.buckets import Granularity
from tests.integration.databases import migrated_database, shops_of
from tests.integration.service_process import run_metrics

# The broker stamps each record as it appends it: the latency is to `kpi.updates` itself, and the
# live events' own append times tell the bench's and the broker's share from the job's.
BENCH_TOPICS = tuple(
    replace(spec, configs=spec.configs | {"message.timestamp.type": "LogAppendTime"})
    for spec in ALL_TOPICS
)


def history(count: int, shops: int = 3) -> list[events_pb2.Event]:
    """The first `count` events of a generated history: three busy shops (scale 8), or more shops
    of ordinary size (scale 1), whose events share fewer KPI rows each."""
    scale = 8.0 if shops <= 3 else 1.0
    events = []
    for event in generate_history(
        GeneratorConfig(start=date(2026, 9, 1), days=60, shops=shops, scale=scale, seed=7)
    ):
        events.append(event)
        if len(events) == count:
            break
    return events


async def produce(bootstrap: str, prefix: str, events: list[events_pb2.Event]) -> None:
    producer = make_producer(bootstrap, client_id="bench-metrics")
    await producer.start()
    try:
        acks = [
            await producer.send(
                prefix + payload_topic(e), e.SerializeToString(), key=e.shop_id.encode()
            )
            for e in events
        ]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def raw_consume_rate(bootstrap: str, prefix: str, count: int) -> float:
    consumer = make_consumer(
        *[prefix + t.name for t in EVENT_TOPICS],
        bootstrap_servers=bootstrap,
        group_id=None,
        client_id="bench-raw",
    )
    await consumer.start()
    try:
        seen, started = 0, time.perf_counter()
        while seen < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(records) for records in batch.values())
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def committed_rate(dsn: str, expected: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(
                "SELECT count(*), min(first_seen_at), max(first_seen_at) FROM event_ids"
            ).fetchone()
            assert row is not None
            if row[0] >= expected:
                seconds = (row[2] - row[1]).total_seconds()
                return float(expected / seconds) if seconds else float("inf")
            time.sleep(0.5)
    raise TimeoutError(f"the job did not commit {expected} events in {timeout}s")


@dataclass(frozen=True)
class Latencies:
    """Seconds from each matched event to the first snapshot of its shop covering it: when the
    broker appended that snapshot to `kpi.updates` (LogAppendTime on the bench's private topic,
    so the bench's own speed cannot add to it), and when this script's consumer received it."""

    appended: list[float]
    received: list[float]
    sent_at: list[float]  # each matched event's send time (epoch seconds)
    # From its send time to the broker's append of the event itself (the bench and the broker).
    event_appended: list[float]


async def live_latency(
    bootstrap: str, prefix: str, shops: list[tuple[str, str]], rate: int, seconds: int
) -> Latencies:
    """Latencies of events produced at `rate`/s for `seconds`, to their first covering snapshot."""
    consumer = make_consumer(
        prefix + KPI_UPDATES.name,
        bootstrap_servers=bootstrap,
        group_id=None,
        client_id="bench-updates",
        auto_offset_reset="latest",
    )
    await consumer.start()
    await consumer.seek_to_end()
    # Kept raw and decoded after the run: decoding thousands of snapshots a second here would
    # compete with the job for the two cores.
    received: list[tuple[bytes, float, float]] = []  # value, appended, received

    async def listen() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batch.values():
                received.extend((r.value, r.timestamp / 1000, now) for r in records)

    listener = asyncio.create_task(listen())
    producer = make_producer(bootstrap, client_id="bench-live", linger_ms=1)
    await producer.start()
    sent: list[tuple[str, float, asyncio.Future[Any]]] = []
    try:
        started = time.time()
        for index in range(rate * seconds):
            due = started + index / rate
            await asyncio.sleep(max(0.0, due - time.time()))
            shop, zone = shops[index % len(shops)]
            event = events_pb2.Event(event_id=str(uuid.uuid4()), shop_id=shop, time_zone=zone)
            now = time.time()
            event.occurred_at.FromDatetime(datetime.fromtimestamp(now, UTC))
            event.traffic.kind = events_pb2.TRAFFIC_KIND_PRODUCT_VIEW
            event.traffic.visitor_id = f"live-{index % 5000}"
            event.traffic.session_id = f"s-{index % 700}"
            event.traffic.product_id = f"p-{index % 40}"
            delivery = await producer.send(
                prefix + payload_topic(event), event.SerializeToString(), key=shop.encode()
            )
            sent.append((shop, event.occurred_at.seconds + event.occurred_at.nanos / 1e9, delivery))
        await producer.flush()
        await asyncio.sleep(5)
    finally:
        listener.cancel()
        await producer.stop()
        await consumer.stop()
    # Each delivery's metadata carries the broker's append time (LogAppendTime).
    delivered = [(shop, occurred, d.result().timestamp / 1000) for shop, occurred, d in sent]
    return match_snapshots(delivered, received)


def match_snapshots(
    sent: list[tuple[str, float, float]], received: list[tuple[bytes, float, float]]
) -> Latencies:
    """Each sent event's first snapshot (in log order per shop) whose watermark reached it."""
    by_shop: dict[str, tuple[list[float], list[tuple[float, float]]]] = defaultdict(
        lambda: ([], [])
    )
    for value, appended, arrived in sorted(received, key=lambda item: item[1]):
        snapshot = metrics_pb2.KpiSnapshot.FromString(value)
        mark = snapshot.watermark.seconds + snapshot.watermark.nanos / 1e9
        marks, times = by_shop[snapshot.shop_id]
        # The running maximum: the first snapshot whose own mark reaches an event is the first
        # whose running maximum does, so a bisection finds it.
        marks.append(max(mark, marks[-1]) if marks else mark)
        times.append((appended, arrived))
    latencies = Latencies([], [], [], [])
    for shop, occurred, event_appended in sent:
        marks, times = by_shop.get(shop, ([], []))
        index = bisect.bisect_left(marks, occurred)
        if index < len(marks):
            appended, arrived = times[index]
            latencies.appended.append(appended - occurred)
            latencies.received.append(arrived - occurred)
            latencies.sent_at.append(occurred)
            latencies.event_appended.append(event_appended - occurred)
    return latencies


def percentile(values: list[float], share: float) -> float:
    return (
        statistics.quantiles(values, n=1000)[int(share * 1000) - 1]
        if len(values) > 1
        else values[0]
    )


@contextmanager
def timed_statements(seconds: dict[str, float], rows: dict[str, int]) -> Iterator[None]:
    """Add the time of every asyncpg fetch, execute and copy to `seconds`, and the length of its
    first array argument (the rows of an unnest) to `rows`, by the statement's first line."""
    originals: dict[str, Callable[..., Awaitable[Any]]] = {
        name: getattr(asyncpg.Connection, name)
        for name in ("fetch", "execute", "copy_records_to_table")
    }

    def timed(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def call(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(self, query, *args, **kwargs)
            finally:
                label = query.strip().splitlines()[0][:60] if query.strip() else query
                seconds[label] += time.perf_counter() - started
                if args and isinstance(args[0], list):
                    rows[label] += len(args[0])

        return call

    for name, original in originals.items():
        setattr(asyncpg.Connection, name, timed(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(asyncpg.Connection, name, original)


def backend_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU seconds each PostgreSQL backend has used, from /proc; empty when the server is not on
    this machine."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return {}
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return used


async def store_only(dsn: str, events: list[events_pb2.Event], batch: int = 5_000) -> None:
    """Apply `events` through the job's store, serially; print where the time went."""
    backends: list[int] = []

    async def remember_backend(connection: asyncpg.Connection) -> None:
        backends.append(connection.get_server_pid())

    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2, init=remember_backend)
    seconds: dict[str, float] = defaultdict(float)
    rows: dict[str, int] = defaultdict(int)
    try:
        store = KpiStore(pool, timedelta(minutes=10))
        backend_before = backend_cpu_seconds(backends)
        prepared = applied = cpu_seconds = 0.0
        with timed_statements(seconds, rows):
            for start in range(0, len(events), batch):
                began, cpu = time.perf_counter(), time.process_time()
                candidates = [
                    candidate(event, Position("bench", 0, start + index))
                    for index, event in enumerate(events[start : start + batch])
                ]
                store.prepare(candidates)
                written = time.perf_counter()
                await store.apply(candidates)
                cpu_seconds += time.process_time() - cpu
                prepared += written - began
                applied += time.perf_counter() - written
        backend_after = backend_cpu_seconds(backends)
        size = await pool.fetchrow(
            "SELECT count(*), pg_relation_size('kpi_members'), pg_indexes_size('kpi_members') "
            "FROM kpi_members"
        )
    finally:
        await pool.close()
    assert size is not None
    count = len(events)
    print(
        f"store only: prepare {prepared:.2f} s, apply {applied:.2f} s, "
        f"{count / (prepared + applied):,.0f} events/s serial ({count:,} events)"
    )
    # This process's CPU alone (PostgreSQL is another process): the job's Python per event.
    print(f"python CPU: {cpu_seconds:.2f} s, {cpu_seconds / count * 1e6:.1f} us an event")
    if backend_after:
        server = sum(used - backend_before.get(pid, 0.0) for pid, used in backend_after.items())
        print(f"postgres backend CPU: {server:.2f} s, {server / count * 1e6:.1f} us an event")
    for label, spent in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"  {spent:6.2f} s  {label}")
    # The KPI upserts of every level share their first line (`store._upsert`).
    upsert_label = UPSERTS[Granularity.MINUTE].strip().splitlines()[0]
    upserts, kpi_rows = seconds[upsert_label], rows[upsert_label]
    print(
        f"KPI rows upserted: {kpi_rows:,} ({kpi_rows / count:.1f} an event), "
        f"{upserts / max(kpi_rows, 1) * 1e6:.1f} us a row"
    )
    members, heap, indexes = size
    print(
        f"kpi_members: {members:,} rows, heap {heap / 2**20:.1f} MiB + indexes "
        f"{indexes / 2**20:.1f} MiB = {(heap + indexes) / max(members, 1):.0f} bytes a row"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--live-rate", type=int, default=2_000, help="events/s in the latency phase"
    )
    parser.add_argument("--live-seconds", type=int, default=20)
    parser.add_argument(
        "--history-shops",
        type=int,
        default=3,
        help="shops of the throughput phase's history (3 at 8x scale by default; more, up to 60, "
        "at ordinary scale)",
    )
    parser.add_argument(
        "--live-shops",
        type=int,
        default=0,
        help="send the live events to this many other shops in turn (registered for the run) "
        "instead of the history's three: with fewer than one event a second per shop, the job's "
        "one-snapshot-a-second-per-shop limit does not bind and the latency is the pipeline's",
    )
    parser.add_argument(
        "--store-only", action="store_true", help="time the store alone (see the docstring)"
    )
    options = parser.parse_args()
    settings = PlatformSettings()
    bootstrap = settings.kafka_bootstrap_servers
    prefix = f"benchm{uuid.uuid4().hex[:6]}."
    print(f"machine: {describe_machine()}")
    if options.store_only:
        events = history(options.events, options.history_shops)
        # The job's own GC settings.
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 10)
        with migrated_database(settings.database_url.get_secret_value(), shops_of(events)) as dsn:
            asyncio.run(store_only(dsn, events))
        return
    with private_topics(bootstrap, BENCH_TOPICS, prefix):
        events = history(options.events, options.history_shops)
        asyncio.run(produce(bootstrap, prefix, events))
        raw = asyncio.run(raw_consume_rate(bootstrap, prefix, len(events)))
        print(f"raw aiokafka consumer (no decoding): {raw:,.0f} events/s")
        live_shops = {f"live-{index:05d}": "Asia/Jakarta" for index in range(options.live_shops)}
        with (
            migrated_database(
                settings.database_url.get_secret_value(), shops_of(events) | live_shops
            ) as dsn,
            run_metrics(prefix, dsn),
        ):
            job = committed_rate(dsn, len({(e.shop_id, e.event_id) for e in events}), timeout=1800)
            print(
                f"stream job, topic to committed KPIs: {job:,.0f} events/s ({len(events):,} events)"
            )
            print(f"ratio job / raw consumer: {job / raw:.3f}")
            shops = sorted(live_shops.items()) or sorted({(e.shop_id, e.time_zone) for e in events})
            latencies = asyncio.run(
                live_latency(bootstrap, prefix, shops, options.live_rate, options.live_seconds)
            )
        covered = len(latencies.appended) / (options.live_rate * options.live_seconds)
        print(
            f"live: {options.live_rate}/s over {len(shops):,} shops for {options.live_seconds} s, "
            f"{covered:.1%} of events matched to a snapshot"
        )
        for what, values in (
            ("event -> appended to kpi.updates", latencies.appended),
            ("event -> received from kpi.updates", latencies.received),
            ("event -> appended to its own topic (bench and broker)", latencies.event_appended),
        ):
            p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
            print(f"{what}: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
        # A stall shows as a few slow windows, a job that cannot keep up as every window slow.
        windows: dict[int, list[float]] = defaultdict(list)
        first = min(latencies.sent_at, default=0.0)
        for sent, latency in zip(latencies.sent_at, latencies.appended, strict=True):
            windows[int((sent - first) // 5)].append(latency)
        print(
            "appended p50 / p99 by 5 s of sending: "
            + ", ".join(
                f"{percentile(values, 0.5) * 1000:.0f} / {percentile(values, 0.99) * 1000:.0f} ms"
                for _, values in sorted(windows.items())
            )
        )


if __name__ == "__main__":
    main()
