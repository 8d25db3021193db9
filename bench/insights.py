"""Benchmark and offline scores of the insights service.

    uv run --frozen shopee-generator history --out .run/bench/history.ndjson --end 2026-11-24
    uv run --frozen shopee-generator labels --out .run/bench/history.labels.json --end 2026-11-24
    uv run --frozen python -m bench.insights --events .run/bench/history.ndjson \
        --labels .run/bench/history.labels.json --data-dir ../shared/data

1. Offline scores (`shopee_insights.evaluation`): recommendations vs popularity (generator holdout,
   Online Retail), elasticities vs the generator's truth, sentiment macro-F1 vs a lexicon.
2. ALS training time on the first 1,000,000 interaction events of the file (all shops, ids
   prefixed by shop): the buyer x product matrix, ALS, co-purchases and popularity (`fit_recommender`),
   and ALS alone.
3. Recommend p50/p95/p99 through the real gRPC server (build_server) with the model in the
   registry of a private migrated database: sequential calls from one client, each a registry
   lookup in PostgreSQL plus scoring. Needs the stack's PostgreSQL (`scripts/stack up --infra`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pandas as pd
import scipy.sparse as sp  # type: ignore[import-untyped]
from rich.progress import Progress

from bench.machine import describe_machine
from shopee.insights.v1 import insights_pb2 as pb
from shopee.insights.v1 import insights_pb2_grpc
from shopee_common.grpc_server import build_server
from shopee_common.settings import PlatformSettings
from shopee_insights.adapters.event_files import read_event_file
from shopee_insights.bootstrap import wired
from shopee_insights.domain.interactions import as_index, shop_interactions
from shopee_insights.domain.recommend import AlsParameters, fit_als, fit_recommender
from shopee_insights.domain.shop_data import ShopData
from shopee_insights.evaluation import evaluate_all
from shopee_insights.settings import InsightsSettings
from shopee_insights.training import CATALOG_AS_OF
from tests.integration.databases import migrated_database

INTERACTIONS = 1_000_000


def pooled_interactions(shops: dict[str, ShopData]) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    catalogs = []
    for shop_id, data in shops.items():
        frame = shop_interactions(data)
        frame["buyer_id"] = shop_id + "/" + frame["buyer_id"]
        frame["product_id"] = shop_id + "/" + frame["product_id"]
        frames.append(frame)
        catalog = data.products.copy()
        catalog.index = shop_id + "/" + catalog.index
        catalogs.append(catalog)
    both = pd.concat(frames, ignore_index=True).sort_values("occurred_at")
    return both.head(INTERACTIONS), pd.concat(catalogs)


def time_als(shops: dict[str, ShopData]) -> dict[str, Any]:
    interactions, catalog = pooled_interactions(shops)
    params = AlsParameters()
    started = time.perf_counter()
    recommender = fit_recommender(interactions, catalog, params)
    full = time.perf_counter() - started
    users, _ = as_index(interactions["buyer_id"])
    items, _ = as_index(interactions["product_id"])
    matrix = sp.csr_matrix(
        (np.log1p(interactions["weight"].to_numpy(float)), (users, items)),
        shape=(int(users.max()) + 1, int(items.max()) + 1),
    )
    started = time.perf_counter()
    fit_als(matrix, params)
    als_only = time.perf_counter() - started
    return {
        "interactions": len(interactions),
        "buyers": len(recommender.buyer_index),
        "products": len(recommender.product_ids),
        "nonzero_cells": int(matrix.nnz),
        "fit_recommender_seconds": round(full, 2),
        "als_only_seconds": round(als_only, 2),
        "als": {"factors": params.factors, "iterations": params.iterations},
    }


def request_for(
    strategy: str, i: int, shop_id: str, buyers: list[str], products: list[str]
) -> pb.RecommendRequest:
    if strategy == "als":
        return pb.RecommendRequest(shop_id=shop_id, buyer_id=buyers[i % len(buyers)])
    if strategy == "bought_together":
        return pb.RecommendRequest(shop_id=shop_id, product_id=products[i % len(products)])
    return pb.RecommendRequest(shop_id=shop_id, buyer_id=f"new-{i}")


async def recommend_latency(shop: ShopData, calls: int) -> dict[str, Any]:
    platform = PlatformSettings()
    fitted = fit_recommender(shop_interactions(shop), shop.products, AlsParameters())
    buyers = list(fitted.buyer_index)[:calls]
    products = fitted.product_ids
    with (
        migrated_database(
            platform.database_url.get_secret_value(), {shop.shop_id: shop.time_zone}
        ) as dsn,
        tempfile.TemporaryDirectory() as artefacts,
    ):
        settings = InsightsSettings(database_url=dsn, insights_artefact_root=artefacts)
        async with wired(settings) as wiring:
            as_of = shop.catalog_as_of
            await wiring.engine.registry.register(
                f"insights/{shop.shop_id}/recommender",
                kind="insights_recommender",
                model=fitted,
                # As training records it: each call reads the catalogue changed since then.
                metadata={CATALOG_AS_OF: as_of.isoformat() if as_of else None},
            )
            built = build_server(wiring.service)
            await built.server.start()
            results: dict[str, Any] = {}
            async with grpc.aio.insecure_channel(f"127.0.0.1:{built.port}") as channel:
                stub = insights_pb2_grpc.InsightsServiceStub(channel)
                recommend: Callable[[pb.RecommendRequest], Awaitable[pb.RecommendResponse]] = (
                    stub.Recommend
                )
                for name in ("als", "bought_together", "cold_start"):
                    for i in range(50):  # warm-up: connection, model load
                        await recommend(request_for(name, i, shop.shop_id, buyers, products))
                    seconds = []
                    for i in range(calls):
                        request = request_for(name, i, shop.shop_id, buyers, products)
                        started = time.perf_counter()
                        await recommend(request)
                        seconds.append(time.perf_counter() - started)
                    ms = sorted(s * 1000 for s in seconds)
                    results[name] = {
                        "calls": calls,
                        "p50_ms": round(statistics.median(ms), 2),
                        "p95_ms": round(ms[int(0.95 * len(ms)) - 1], 2),
                        "p99_ms": round(ms[int(0.99 * len(ms)) - 1], 2),
                    }
            await built.server.stop(None)
    results["buyers_in_model"] = len(fitted.buyer_index)
    results["products_in_model"] = len(products)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path(".run/bench/insights.json"))
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": describe_machine()}
    started = time.perf_counter()
    shops = read_event_file(args.events)
    report["read_seconds"] = round(time.perf_counter() - started, 1)
    with Progress() as progress:
        started = time.perf_counter()
        report["offline"] = evaluate_all(shops, args.labels, args.data_dir, progress)
        report["offline_seconds"] = round(time.perf_counter() - started, 1)
    report["als_training"] = time_als(shops)
    busiest = max(shops.values(), key=lambda d: len(d.orders))
    report["recommend_latency"] = asyncio.run(recommend_latency(busiest, args.calls))
    report["recommend_latency"]["shop"] = busiest.shop_id
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
