"""Benchmark: Recommend's cold start (popular products of a category and price band) as the
catalogue grows, in one process. Linear work takes about 4x as long at 4x the products; the
per-element set building it replaced was quadratic (about 16x).

    uv run --frozen python -m bench.cold_start
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from bench.machine import describe_machine
from shopee_insights.domain.recommend import PRICE_BANDS, Recommender

SIZES = (5_000, 10_000, 20_000)
CALLS = 20


def one_category(products: int) -> Recommender:
    """`products` products in one category, price bands in turn: the worst case (every product
    is compared with the requested category)."""
    no_buyers = sp.csr_matrix((1, products))
    no_pairs = sp.csr_matrix((products, products))
    return Recommender(
        product_ids=[f"p{i}" for i in range(products)],
        buyer_index={"b0": 0},
        user_factors=np.zeros((1, 2)),
        item_factors=np.zeros((products, 2)),
        purchased=no_buyers,
        together=no_pairs,
        popularity=np.random.default_rng(3).permutation(products).astype(float),
        names=[f"product {i}" for i in range(products)],
        categories=["hijab"] * products,
        price_bands=[PRICE_BANDS[i % 3] for i in range(products)],
        available=np.ones(products, bool),
        consumable=np.zeros(products, bool),
        history=no_buyers,
        item_similarity=no_pairs,
    )


def main() -> None:
    print(f"machine: {describe_machine()}")
    seconds = {}
    for size in SIZES:
        model = one_category(size)
        started = time.perf_counter()
        for _ in range(CALLS):
            model.cold_start(10, "hijab", "mid")
        seconds[size] = (time.perf_counter() - started) / CALLS
        print(f"{size:>7,} products: {seconds[size] * 1000:8.2f} ms a call ({CALLS} calls)")
    first, last = SIZES[0], SIZES[-1]
    print(
        f"{last // first}x the products: {seconds[last] / seconds[first]:.1f}x the time "
        f"(linear {last // first}x, quadratic {(last // first) ** 2}x)"
    )


if __name__ == "__main__":
    main()
