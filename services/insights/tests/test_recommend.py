from __future__ import annotations

import numpy as np
import pytest

from shopee_insights.domain.interactions import ndcg_at, ranking_scores, shop_interactions
from shopee_insights.domain.recommend import AlsParameters, Recommender, fit_recommender
from shopee_insights.domain.shop_data import ShopData


@pytest.fixture(scope="module")
def recommender(shop: ShopData) -> Recommender:
    products = shop.products.copy()
    # One product sold out: it must never be recommended.
    products.loc[products.index[0], "stock"] = 0
    return fit_recommender(shop_interactions(shop), products, AlsParameters(iterations=5))


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


def test_ranking_metrics() -> None:
    assert ndcg_at(["a", "b"], {"a", "b"}, 10) == pytest.approx(1.0)
    assert ndcg_at(["x", "a"], {"a"}, 10) == pytest.approx(1 / np.log2(3))
    scores = ranking_scores({"u": ["a", "x"]}, {"u": {"a", "b"}}, k=2)
    assert scores["precision@2"] == pytest.approx(0.5)
    assert scores["recall@2"] == pytest.approx(0.5)
