from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp  # type: ignore[import-untyped]
from sklearn.metrics.pairwise import cosine_similarity  # type: ignore[import-untyped]

from shopee_insights.domain.interactions import ndcg_at, ranking_scores, shop_interactions
from shopee_insights.domain.recommend import (
    PRICE_BANDS,
    AlsParameters,
    Recommender,
    fit_recommender,
    item_cosine,
)
from shopee_insights.domain.shop_data import ShopData


@pytest.fixture(scope="module")
def recommender(shop: ShopData) -> Recommender:
    products = shop.products.copy()
    # One product sold out: it must never be recommended.
    products.loc[products.index[0], "stock"] = 0
    # Half ALS, half item-to-item: both personal signals are exercised.
    return fit_recommender(
        shop_interactions(shop), products, AlsParameters(iterations=5), als_weight=0.5
    )


def test_personal_lists_skip_sold_out_and_already_bought(
    shop: ShopData, recommender: Recommender
) -> None:
    sold_out = shop.products.index[0]
    for buyer in list(recommender.buyer_index)[:200]:
        row = recommender.buyer_index[buyer]
        bought = recommender.purchased.indices[
            recommender.purchased.indptr[row] : recommender.purchased.indptr[row + 1]
        ]
        blocked = {recommender.product_ids[i] for i in bought if not recommender.consumable[i]}
        items = recommender.for_buyer(buyer, 10)
        ids = [i.product_id for i in items]
        assert sold_out not in ids
        assert not blocked & set(ids)
        assert len(ids) == len(set(ids))
        for item in items:
            if item.because_product_id:
                assert recommender.product_index[item.because_product_id] in set(bought.tolist())
                assert item.reason.startswith("because you bought")


def test_bought_together_and_cold_start(recommender: Recommender) -> None:
    product = recommender.product_ids[int(np.argmax(recommender.popularity))]
    together = recommender.bought_together(product, 6)
    assert len(together) == 6
    assert product not in {s.product_id for s in together}
    cold = recommender.cold_start(10)
    assert len({s.product_id for s in cold}) == 10
    assert all(recommender.available[recommender.product_index[s.product_id]] for s in cold)
    # An unknown buyer sees several categories, not ten of the same.
    assert len({recommender.categories[recommender.product_index[s.product_id]] for s in cold}) > 1


def test_a_product_sold_out_after_training_is_not_recommended(
    recommender: Recommender,
) -> None:
    cold = recommender.cold_start(3)
    gone, back = cold[0].product_id, recommender.product_ids[0]  # `back` was sold out at training
    buyer = next(
        b
        for b in recommender.buyer_index
        if gone in {s.product_id for s in recommender.for_buyer(b, 20)}
    )
    changes = pd.DataFrame(
        {"stock": [0, 12], "status": ["PRODUCT_STATUS_ACTIVE", "PRODUCT_STATUS_ACTIVE"]},
        index=pd.Index([gone, back], name="product_id"),
    )

    now = recommender.with_current_catalog(changes)

    assert gone not in {s.product_id for s in now.cold_start(10)}
    assert gone not in {s.product_id for s in now.for_buyer(buyer, 20)}
    assert now.available[now.product_index[back]]
    # The cached model is left as trained; other products keep their training-time state.
    assert recommender.available[recommender.product_index[gone]]
    assert not recommender.available[recommender.product_index[back]]
    others = [i for i in range(len(now.product_ids)) if now.product_ids[i] not in (gone, back)]
    assert (now.available[others] == recommender.available[others]).all()


def one_category_catalogue(products: int) -> Recommender:
    """`products` products in one category, price bands in turn, every popularity distinct."""
    popularity = np.random.default_rng(3).permutation(products).astype(float)
    no_buyers = sp.csr_matrix((1, products))
    no_pairs = sp.csr_matrix((products, products))
    return Recommender(
        product_ids=[f"p{i}" for i in range(products)],
        buyer_index={"b0": 0},
        user_factors=np.zeros((1, 2)),
        item_factors=np.zeros((products, 2)),
        purchased=no_buyers,
        together=no_pairs,
        popularity=popularity,
        names=[f"product {i}" for i in range(products)],
        categories=["hijab"] * products,
        price_bands=[PRICE_BANDS[i % 3] for i in range(products)],
        available=np.ones(products, bool),
        consumable=np.zeros(products, bool),
        history=no_buyers,
        item_similarity=no_pairs,
    )


def test_cold_start_ranks_a_big_category() -> None:
    # How its time grows with the catalogue is measured by bench/cold_start.py.
    model = one_category_catalogue(20_000)
    ids = np.array(model.product_ids)
    by_popularity = np.argsort(-model.popularity, kind="stable")
    mid = [i for i in by_popularity if model.price_bands[i] == "mid"]
    others = [i for i in by_popularity if model.price_bands[i] != "mid"]
    bands = np.array(model.price_bands)[by_popularity]
    # Each band's queue, in the order the bands first appear by popularity.
    turns = [by_popularity[bands == band] for band in dict.fromkeys(bands)]
    cases = [
        # Its category and band first, then the rest of the category.
        (20_000, "hijab", "mid", ids[mid + others]),
        # Nothing in the category: the shop's most popular.
        (10, "shoes", "mid", ids[by_popularity[:10]]),
        # No category: each band's most popular in turn.
        (6, None, None, ids[[turn[k] for k in range(2) for turn in turns]]),
    ]
    for limit, category, band, expected in cases:
        answer = model.cold_start(limit, category, band)
        assert [s.product_id for s in answer] == expected.tolist()


def test_ranking_metrics() -> None:
    assert ndcg_at(["a", "b"], {"a", "b"}, 10) == pytest.approx(1.0)
    assert ndcg_at(["x", "a"], {"a"}, 10) == pytest.approx(1 / np.log2(3))
    scores = ranking_scores({"u": ["a", "x"]}, {"u": {"a", "b"}}, k=2)
    assert scores["precision@2"] == pytest.approx(0.5)
    assert scores["recall@2"] == pytest.approx(0.5)


def test_item_to_item_is_the_cosine_of_buyer_sets_pruned_to_neighbours() -> None:
    rng = np.random.default_rng(4)
    history = sp.random(300, 12, density=0.15, random_state=rng, format="csr") * 5
    touched = (history.toarray() > 0).astype(float)
    expected = cosine_similarity(touched.T)
    np.fill_diagonal(expected, 0.0)
    assert np.allclose(item_cosine(history, neighbours=12).toarray(), expected)
    pruned = item_cosine(history, neighbours=3).toarray()
    for item in range(12):
        kept = np.flatnonzero(pruned[item])
        assert len(kept) == 3
        assert expected[item, kept].min() >= np.sort(expected[item])[-3] - 1e-12


def test_personal_scores_blend_als_item_to_item_and_popularity(
    recommender: Recommender,
) -> None:
    row = 0
    saved = recommender.als_weight, recommender.popularity_weight
    try:
        recommender.als_weight, recommender.popularity_weight = 0.0, 0.0
        neighbours = np.asarray(
            (recommender.history[row] @ recommender.item_similarity).todense()
        ).ravel()
        item_to_item = recommender.personal_scores(row)
        assert np.allclose(item_to_item, (neighbours - neighbours.mean()) / neighbours.std())
        recommender.als_weight = 1.0
        als = recommender.personal_scores(row)
        recommender.als_weight = 0.5
        assert np.allclose(recommender.personal_scores(row), 0.5 * als + 0.5 * item_to_item)
    finally:
        recommender.als_weight, recommender.popularity_weight = saved
