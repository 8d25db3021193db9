"""Forecast latency through the real server: `python -m shopee_forecast` as a process, on a
migrated private database with a generated world and the local Redis (part of bench/forecast.py).

`latency`, measured from a gRPC client in this process: the first call (trains the series on
demand), the first call of each horizon 1..90 (a cache miss: the loaded model predicts, the
answer is cached), then sequential cached calls (p50/p95/p99) and cached calls 16 at a time
(throughput).

`inventory-latency`: one shop of `--catalog` products, every product's units model trained by
a Retrain job; then AdviseInventory for the whole catalogue (what the dashboard's "Stock to
reorder" card asks), the first call after the retrain and again right after, against the
gateway's deadline for an upstream call (5 s by default).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import grpc
import numpy as np
from tqdm import tqdm

from shopee.forecast.v1 import forecast_pb2, forecast_pb2_grpc
from shopee_common.settings import PlatformSettings
from shopee_generator.world import GeneratorConfig, generate_history
from tests.integration.databases import migrated_database, shops_of
from tests.integration.forecast_world import load_world
from tests.integration.service_process import free_port, run_service

CONCURRENCY = 16


def _percentiles(label: str, seconds: list[float]) -> None:
    ms = np.array(seconds) * 1000
    print(
        f"{label}: n={len(ms)} p50 {np.percentile(ms, 50):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms, "
        f"p99 {np.percentile(ms, 99):.2f} ms, max {ms.max():.2f} ms"
    )


async def _measure(port: int, shop: str, requests: int) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = forecast_pb2_grpc.ForecastServiceStub(channel)

        def request(horizon: int) -> forecast_pb2.ForecastRequest:
            return forecast_pb2.ForecastRequest(
                shop_id=shop, target=forecast_pb2.TARGET_GMV, horizon_days=horizon
            )

        started = time.perf_counter()
        first = await stub.Forecast(request(30))
        print(
            f"first call (trains on demand, model {first.model}): "
            f"{time.perf_counter() - started:.1f} s"
        )
        misses = []
        for horizon in range(1, 91):
            if horizon == 30:
                continue
            started = time.perf_counter()
            response = await stub.Forecast(request(horizon))
            misses.append(time.perf_counter() - started)
            assert not response.from_cache
        _percentiles("cache miss (model loaded, predicts)", misses)
        hits = []
        for index in range(requests):
            started = time.perf_counter()
            response = await stub.Forecast(request(1 + index % 90))
            hits.append(time.perf_counter() - started)
            assert response.from_cache
        _percentiles("cached, one at a time", hits)

        async def one(index: int) -> float:
            started = time.perf_counter()
            await stub.Forecast(request(1 + index % 90))
            return time.perf_counter() - started

        started = time.perf_counter()
        latencies: list[float] = []
        for batch in range(0, requests, CONCURRENCY):
            latencies += await asyncio.gather(
                *(one(i) for i in range(batch, min(batch + CONCURRENCY, requests)))
            )
        wall = time.perf_counter() - started
        _percentiles(f"cached, {CONCURRENCY} in flight", latencies)
        print(f"cached throughput with {CONCURRENCY} in flight: {requests / wall:.0f} calls/s")


async def _measure_inventory(port: int, shop: str, repeats: int) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = forecast_pb2_grpc.ForecastServiceStub(channel)
        started = time.perf_counter()
        job = await stub.Retrain(
            forecast_pb2.RetrainRequest(shop_id=shop, targets=[forecast_pb2.TARGET_UNITS])
        )
        with tqdm(desc="retrain the units models", unit="series") as progress:
            while True:
                state = await stub.GetTrainingJob(
                    forecast_pb2.GetTrainingJobRequest(job_id=job.job_id)
                )
                progress.total = state.series_total
                progress.n = state.series_done
                progress.refresh()
                if state.state in (forecast_pb2.JOB_STATE_SUCCEEDED, forecast_pb2.JOB_STATE_FAILED):
                    break
                await asyncio.sleep(1)
        print(
            f"retrain: {forecast_pb2.JobState.Name(state.state)}, {state.series_done} series in "
            f"{time.perf_counter() - started:.0f} s"
        )
        for call in range(repeats):
            started = time.perf_counter()
            advice = await stub.AdviseInventory(forecast_pb2.InventoryRequest(shop_id=shop))
            seconds = time.perf_counter() - started
            models = sum(not item.model_version.startswith("baseline") for item in advice.items)
            print(
                f"AdviseInventory, call {call + 1}: {len(advice.items)} products "
                f"({models} with a model) in {seconds:.2f} s"
            )


def _run_forecast_service(config: GeneratorConfig, measure: Callable[[int, str], Any]) -> None:
    """`measure(port, shop)` against the forecast service on a private database holding the
    world `config` generates (the shop: its first)."""
    events = list(generate_history(config))
    shop = sorted(shops_of(events))[0]
    server = PlatformSettings().database_url.get_secret_value()
    with migrated_database(server, shops_of(events)) as dsn, tempfile.TemporaryDirectory() as root:
        load_world(dsn, events)
        grpc_port = free_port()
        with run_service(
            "shopee_forecast",
            "",
            "SHOPEE_FORECAST_HTTP_PORT",
            '"stopped"',
            SHOPEE_DATABASE_URL=dsn,
            SHOPEE_FORECAST_GRPC_PORT=str(grpc_port),
            SHOPEE_FORECAST_ARTEFACT_ROOT=root,
            SHOPEE_FORECAST_RETRAIN_CRON="",
        ):
            asyncio.run(measure(grpc_port, shop))


def latency(args: argparse.Namespace) -> None:
    """Run the latency benchmark (see the module docstring)."""
    config = GeneratorConfig(start=date(2026, 6, 1), days=150, shops=2, scale=0.5, seed=3)
    _run_forecast_service(config, lambda port, shop: _measure(port, shop, args.requests))


def inventory_latency(args: argparse.Namespace) -> None:
    """Run the inventory latency benchmark (see the module docstring)."""
    config = GeneratorConfig(
        start=date(2026, 6, 1),
        days=150,
        shops=1,
        scale=0.5,
        seed=3,
        products_per_shop=args.catalog,
    )
    _run_forecast_service(config, lambda port, shop: _measure_inventory(port, shop, 3))
