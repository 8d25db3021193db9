"""Shoppers' tastes: stable per person, spread over people as the catalogue's popularity is."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from shopee.events.v1 import events_pb2
from shopee_generator.domain.shop import build_shop
from shopee_generator.domain.traffic import TASTE_SHARE, TasteCells, favourite_cells

from .conftest import NOVEMBER


def test_favourites_are_a_function_of_the_key_shared_as_popularity() -> None:
    shop = build_shop(seed=7, index=0, products_per_shop=40, scale=1.0)
    cells = TasteCells.of(shop)
    keys = np.arange(200_000, dtype=np.int64)
    favourite = favourite_cells(cells, shop, keys)
    assert np.array_equal(favourite, favourite_cells(cells, shop, keys[::-1])[::-1])
    shares = np.bincount(favourite, minlength=len(cells.high)) / len(keys)
    assert np.allclose(shares, cells.high - cells.low, atol=0.005)
    other_shop = build_shop(seed=7, index=1, products_per_shop=40, scale=1.0)
    assert not np.array_equal(
        favourite[:1000], favourite_cells(TasteCells.of(other_shop), other_shop, keys[:1000])
    )


def test_a_shoppers_views_lean_to_their_favourite_cell(
    november_events: list[events_pb2.Event],
) -> None:
    shop = build_shop(NOVEMBER.seed, 0, NOVEMBER.products_per_shop, NOVEMBER.scale)
    cells = TasteCells.of(shop)
    by_id = {p.product_id: int(cells.cell_of[p.index]) for p in shop.products}
    views: defaultdict[str, Counter[int]] = defaultdict(Counter)
    for event in november_events:
        traffic = event.traffic
        if (
            event.shop_id == shop.shop_id
            and event.WhichOneof("payload") == "traffic"
            and traffic.kind == events_pb2.TRAFFIC_KIND_PRODUCT_VIEW
            and not traffic.visitor_id.startswith("guest-")
            and traffic.product_id in by_id
        ):
            views[traffic.visitor_id][by_id[traffic.product_id]] += 1
    shares = cells.high - cells.low
    seen = [c for c in views.values() if sum(c.values()) >= 6]
    assert len(seen) >= 30
    top_share = np.mean([max(c.values()) / sum(c.values()) for c in seen])
    # The same view counts drawn from the shop's popularity alone (no taste).
    rng = np.random.default_rng(0)
    untasted = np.mean(
        [
            rng.multinomial(n, shares).max() / n
            for n in (sum(c.values()) for c in seen)
            for _ in range(20)
        ]
    )
    assert top_share > untasted + TASTE_SHARE / 4
