"""Benchmark: KPI query latency through the real gateway over the KPI rows of 10 million events,
and exports of a million rows in constant memory.

    uv run --frozen python -m bench.gateway_queries                 # load, measure, drop
    uv run --frozen python -m bench.gateway_queries --keep-database # ... keep the loaded database
    uv run --frozen python -m bench.gateway_queries --database-url postgresql://...  # re-measure

Load (bench.gateway_load): a private migrated database on the stack's PostgreSQL gets the
generator's world (8 shops, 730 days, --scale 1.6: about 10.5 million events) in raw_events by
COPY, and the KPI rows the stream job makes of them (the job's own event_parts and buckets_for,
summed per bucket, checked equal to the job's plan + increments on a sample) in kpi_minute /
kpi_hour / kpi_day; then VACUUM ANALYZE. Each shop is loaded by one process, --workers at once.

Queries: the gateway runs as its own process (`python -m shopee_gateway`, uvicorn) on that
database and the stack's Redis; an httpx client in this process signs in as an admin of the
shops' organisation and asks, one request at a time, the query mix below, each question with a
random shop set and a random period within the last year of data. Uncached: the shops' cache
generations are bumped before each request (KpiCache.invalidate_shop, as a kpi.updates snapshot
does), so the answer is computed (X-Cache: miss). Cached: the same question again (X-Cache:
hit). Baseline: GET /api/me (authenticated, three small reads) through the same client in the
same rounds. The classes run in a shuffled order each round; the first round is a warm-up.

Exports (bench.gateway_exports): CSV and Excel of about --export-rows minute rows, and of a
tenth of that, streamed by the client and discarded; the gateway's resident memory (VmRSS,
/proc) is sampled every 10 ms. Baseline: PostgreSQL's own COPY of the same rows to the client.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import psycopg
from redis.asyncio import Redis

from bench.gateway_exports import measure_exports, print_exports
from bench.gateway_setup import EMAIL, PASSWORD, ensure_user, load, private_database, register
from bench.machine import describe_machine
from shopee_common.settings import PlatformSettings
from shopee_common.topics import KPI_UPDATES, private_topics
from shopee_db import upgrade
from shopee_gateway.cache import KpiCache
from shopee_generator.world import GeneratorConfig
from tests.integration.service_process import run_gateway

DASHBOARD_KPIS = ["gmv", "paid_orders", "unique_visitors", "conversion_rate"]
OVERVIEW_KPIS = [*DASHBOARD_KPIS, "aov", "product_views"]


@dataclass(frozen=True)
class Data:
    """What the loaded database holds: shops (id -> zone), the local days, a top product each."""

    zones: dict[str, str]
    first_day: date
    last_day: date
    top_product: dict[str, str]


@dataclass(frozen=True)
class Question:
    path: str
    params: tuple[tuple[str, str], ...]
    shops: list[str]


Builder = Callable[[random.Random, Data], Question]


def _end(rng: random.Random, data: Data) -> date:
    """A random last day with a year of data before it."""
    earliest = min(data.first_day + timedelta(days=366), data.last_day)
    return earliest + timedelta(days=rng.randint(0, (data.last_day - earliest).days))


def series(
    interval: str,
    days: int,
    shops: int,
    kpis: list[str],
    group: str = "shop",
    product: bool = False,
) -> Builder:
    """GET /api/kpis over `days` local days ending on a random day."""

    def build(rng: random.Random, data: Data) -> Question:
        chosen = sorted(rng.sample(sorted(data.zones), shops))
        end = _end(rng, data) + timedelta(days=1)
        params = [("shops", s) for s in chosen] + [("kpis", k) for k in kpis]
        params += [
            ("from", (end - timedelta(days=days)).isoformat()),
            ("to", end.isoformat()),
            ("interval", interval),
            ("time_zone", data.zones[chosen[0]]),
            ("group", group),
        ]
        if product:
            params.append(("product_id", data.top_product[chosen[0]]))
        return Question("/api/kpis", tuple(params), chosen)

    return build


def period(path: str, days: int, extra: list[tuple[str, str]] | None = None) -> Builder:
    """A period route (summary, top products, funnel) over every shop."""

    def build(rng: random.Random, data: Data) -> Question:
        end = _end(rng, data)
        shops = sorted(data.zones)
        params = [("shops", s) for s in shops] + list(extra or [])
        params += [("from", (end - timedelta(days=days - 1)).isoformat()), ("to", end.isoformat())]
        return Question(path, tuple(params), shops)

    return build


QUERY_MIX: dict[str, Builder] = {
    "series minute, 1 day, 1 shop, 1 KPI": series("minute", 1, 1, ["gmv"]),
    "series minute, 1 day, 4 shops, 4 KPIs": series("minute", 1, 4, DASHBOARD_KPIS),
    "series hour, 30 days, 1 shop, 1 KPI": series("hour", 30, 1, ["gmv"]),
    "series hour, 30 days, 4 shops, 4 KPIs": series("hour", 30, 4, DASHBOARD_KPIS),
    "series hour, 30 days, 8 shops total, 4 KPIs": series("hour", 30, 8, DASHBOARD_KPIS, "total"),
    "series hour, 30 days, 1 product, 2 KPIs": series(
        "hour", 30, 1, ["gmv", "product_views"], product=True
    ),
    "series day, 1 year, 1 shop, 1 KPI": series("day", 365, 1, ["gmv"]),
    "series day, 1 year, 8 shops, 6 KPIs": series("day", 365, 8, OVERVIEW_KPIS),
    "series day, 1 year, 8 shops total, 6 KPIs": series("day", 365, 8, OVERVIEW_KPIS, "total"),
    "series hour, 1 year, 1 shop, 1 KPI": series("hour", 365, 1, ["gmv"]),
    "series minute, 30 days, 1 shop, 1 KPI": series("minute", 30, 1, ["gmv"]),
    "summary, 30 days, 8 shops": period("/api/kpis/summary", 30),
    "summary, 1 year, 8 shops": period("/api/kpis/summary", 365),
    "top products, 30 days, 8 shops": period("/api/kpis/top-products", 30, [("kpi", "gmv")]),
    "top products, 1 year, 8 shops": period("/api/kpis/top-products", 365, [("kpi", "gmv")]),
    "funnel, 30 days, 8 shops": period("/api/kpis/funnel", 30),
}
BASELINE = "baseline: GET /api/me"


def read_data(dsn: str) -> Data:
    with psycopg.connect(dsn) as connection:
        zones: dict[str, str] = dict(
            connection.execute("SELECT id, time_zone FROM shops").fetchall()
        )
        days = connection.execute("SELECT min(local_date), max(local_date) FROM kpi_day").fetchone()
        if days is None or days[0] is None:
            raise RuntimeError("the database holds no KPI rows")
        top = connection.execute(
            "SELECT DISTINCT ON (shop_id) shop_id, product_id FROM kpi_day "
            "WHERE kpi = 'gmv' AND product_id <> '' GROUP BY shop_id, product_id "
            "ORDER BY shop_id, sum(numerator) DESC"
        ).fetchall()
    return Data(zones, days[0], days[1], dict(top))


@dataclass
class Sample:
    seconds: float
    size: int


async def _timed(client: httpx.AsyncClient, question: Question, expect_cache: str | None) -> Sample:
    started = time.perf_counter()
    response = await client.get(question.path, params=question.params)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(
            f"{question.path} {question.params}: {response.status_code} {response.text}"
        )
    if expect_cache is not None and response.headers.get("x-cache") != expect_cache:
        raise RuntimeError(
            f"expected X-Cache {expect_cache}, got {response.headers.get('x-cache')}"
        )
    return Sample(seconds, len(response.content))


async def measure_queries(
    url: str, redis_url: str, redis_prefix: str, data: Data, rounds: int, seed: int
) -> dict[str, dict[str, list[Sample]]]:
    """Samples per class: 'uncached', 'cached' (and the baseline's under 'baseline')."""
    rng = random.Random(seed)
    redis = Redis.from_url(redis_url)
    cache = KpiCache(redis, redis_prefix, ttl_seconds=3600)
    samples: dict[str, dict[str, list[Sample]]] = defaultdict(lambda: defaultdict(list))
    try:
        await _rounds(url, cache, data, rounds, rng, samples)
    finally:
        await redis.aclose()
    return samples


async def _rounds(
    url: str,
    cache: KpiCache,
    data: Data,
    rounds: int,
    rng: random.Random,
    samples: dict[str, dict[str, list[Sample]]],
) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        token = await client.post("/api/auth/token", data={"username": EMAIL, "password": PASSWORD})
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        fixed = {name: build(rng, data) for name, build in QUERY_MIX.items()}
        for round_index in range(rounds + 1):
            names = list(QUERY_MIX)
            rng.shuffle(names)
            taken: list[tuple[str, str, Sample]] = []
            for position, name in enumerate(names):
                question = QUERY_MIX[name](rng, data)
                for shop in question.shops:
                    await cache.invalidate_shop(shop)
                taken.append((name, "uncached", await _timed(client, question, "miss")))
                # Bumped generations make the fixed question's answer stale too: answer it again.
                await _timed(client, fixed[name], None)
                taken.append((name, "cached", await _timed(client, fixed[name], "hit")))
                if position % 4 == 3:  # the baseline, spread over the round
                    me = Question("/api/me", (), [])
                    taken.append((BASELINE, "baseline", await _timed(client, me, None)))
            if round_index:  # round 0 warms PostgreSQL's and the OS's caches
                for name, kind, sample in taken:
                    samples[name][kind].append(sample)


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile (inclusive method)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def _ms(samples: list[Sample], share: float) -> str:
    return f"{percentile([s.seconds for s in samples], share) * 1000:.1f}"


def print_queries(samples: dict[str, dict[str, list[Sample]]]) -> None:
    baseline = samples[BASELINE]["baseline"]
    print(
        f"\n{BASELINE}: p50 {_ms(baseline, 0.5)} ms, p95 {_ms(baseline, 0.95)} ms "
        f"({len(baseline)} requests)"
    )
    print(
        f"{'query':48} {'uncached p50':>12} {'p95':>7} {'cached p50':>11} {'p95':>7} {'answer':>9}"
    )
    for name in QUERY_MIX:
        uncached, cached = samples[name]["uncached"], samples[name]["cached"]
        size = statistics.mean(s.size for s in uncached) / 1024
        print(
            f"{name:48} {_ms(uncached, 0.5):>12} {_ms(uncached, 0.95):>7} "
            f"{_ms(cached, 0.5):>11} {_ms(cached, 0.95):>7} {size:>7.1f}KB"
        )
    for kind in ("uncached", "cached"):
        pooled = [s for name in QUERY_MIX for s in samples[name][kind]]
        print(
            f"all {kind} ({len(pooled)} requests): p50 {_ms(pooled, 0.5)} ms, "
            f"p95 {_ms(pooled, 0.95)} ms; p95 / baseline p95 "
            f"{percentile([s.seconds for s in pooled], 0.95) / percentile([s.seconds for s in baseline], 0.95):.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway_queries",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--shops", type=int, default=8)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--scale", type=float, default=1.6, help="generator traffic scale")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 24))
    parser.add_argument("--workers", type=int, default=2, help="loading processes")
    parser.add_argument("--rounds", type=int, default=40, help="samples per query class")
    parser.add_argument(
        "--export-rows", type=int, default=1_000_000, help="rows of the large export"
    )
    parser.add_argument("--seed", type=int, default=7, help="of the random questions")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--database-url", help="measure an already loaded database (from --keep-database)"
    )
    options = parser.parse_args()
    settings = PlatformSettings()
    print(f"machine: {describe_machine()}")
    config = GeneratorConfig.ending(
        options.end, days=options.days, shops=options.shops, scale=options.scale
    )
    server = settings.database_url.get_secret_value()
    database = (
        nullcontext(options.database_url)
        if options.database_url
        else private_database(server, options.keep_database)
    )
    with database as dsn:
        upgrade(dsn)
        if not options.database_url:
            register(dsn, config)
            report = load(dsn, config, options.workers)
            print(
                f"loaded {report.events:,} events of {config.shops} shops over {config.days} days "
                f"(generator seed {config.seed}, scale {config.scale}) in {report.seconds:.0f} s "
                f"+ {report.vacuum_seconds:.0f} s VACUUM ANALYZE; rows: "
                + ", ".join(
                    f"{t} {report.rows(t):,}" for t in ("kpi_minute", "kpi_hour", "kpi_day")
                )
                + "; sizes: "
                + ", ".join(f"{t} {s}" for t, s in report.sizes.items())
            )
        ensure_user(dsn)
        data = read_data(dsn)
        prefix = f"benchgq{uuid.uuid4().hex[:6]}."
        redis_prefix = f"benchgq{uuid.uuid4().hex[:8]}:"
        bench_env = {
            "SHOPEE_GATEWAY_REDIS_PREFIX": redis_prefix,
            # The bench is one caller asking thousands of questions a minute.
            "SHOPEE_GATEWAY_RATE_LIMIT": "1000000/minute",
            "SHOPEE_GATEWAY_ACCESS_TOKEN_SECONDS": "7200",
        }
        with (
            private_topics(settings.kafka_bootstrap_servers, (KPI_UPDATES,), prefix),
            run_gateway(prefix, dsn, **bench_env) as gateway,
        ):
            samples = asyncio.run(
                measure_queries(
                    gateway.url,
                    settings.redis_url,
                    redis_prefix,
                    data,
                    options.rounds,
                    options.seed,
                )
            )
            print_queries(samples)
            assert gateway.process is not None
            print_exports(
                measure_exports(
                    gateway.url, gateway.process.pid, dsn, data.zones, options.export_rows
                )
            )
        asyncio.run(forget(settings.redis_url, redis_prefix))


async def forget(redis_url: str, prefix: str) -> None:
    """Delete the Redis keys the bench's gateway wrote (cache, generations, limits)."""
    redis = Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(f"{prefix}*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    main()
