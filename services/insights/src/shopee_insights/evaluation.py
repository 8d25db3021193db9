"""Offline scores of every model, for `shopee-insights evaluate` and bench/insights.py.

Recommendations: the served recommender (ALS, popularity blend chosen on an inner validation
split of the training part) against popularity, on the generator's last 28 days and on Online
Retail's last basket per customer. Elasticities: against the generator's true values. Sentiment:
macro-F1 on held-out generator reviews, PRDECT-ID and Amazon sentences, against a lexicon.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import Progress

from shopee_insights.adapters.corpora import LabelledTexts, online_retail_interactions
from shopee_insights.domain.interactions import (
    ranking_scores,
    shop_interactions,
    split_by_time,
    split_last_purchase,
)
from shopee_insights.domain.pricing import DemandPanels, demand_panels, estimate_elasticities
from shopee_insights.domain.recommend import AlsParameters, Recommender, evaluate_rankings
from shopee_insights.domain.shop_data import ShopData
from shopee_insights.engine import public_corpora
from shopee_insights.training import fit_blended, fit_sentiment, sentiment_corpus

HOLDOUT_DAYS = 28
WITHIN = 0.20


def _compare(recommender: Recommender, relevant: dict[str, set[str]]) -> dict[str, Any]:
    model_lists, popular, wanted = evaluate_rankings(recommender, relevant)
    model = ranking_scores(model_lists, wanted)
    baseline = ranking_scores(popular, wanted)
    saved = recommender.als_weight, recommender.popularity_weight
    alone = {}
    for name, als_weight in (("als_only", 1.0), ("item_to_item_only", 0.0)):
        recommender.als_weight, recommender.popularity_weight = als_weight, 0.0
        lists, _, _ = evaluate_rankings(recommender, relevant)
        alone[name] = ranking_scores(lists, wanted)
    recommender.als_weight, recommender.popularity_weight = saved
    lift = model["ndcg@10"] / baseline["ndcg@10"] - 1 if baseline["ndcg@10"] else 0.0
    return {
        "served": model,
        **alone,
        "popularity": baseline,
        "als_weight": saved[0],
        "popularity_weight": saved[1],
        "ndcg_lift_over_popularity": lift,
    }


def evaluate_generator_recommender(data: ShopData, params: AlsParameters) -> dict[str, Any]:
    interactions = shop_interactions(data)
    outer = split_by_time(interactions, HOLDOUT_DAYS)
    recommender, _ = fit_blended(
        outer.train, data.products, lambda f: split_by_time(f, HOLDOUT_DAYS), params
    )
    return _compare(recommender, outer.relevant)


def evaluate_online_retail(data_dir: Path, params: AlsParameters) -> dict[str, Any]:
    interactions, catalog = online_retail_interactions(data_dir)
    outer = split_last_purchase(interactions)
    recommender, _ = fit_blended(outer.train, catalog, lambda f: split_last_purchase(f), params)
    return _compare(recommender, outer.relevant)


def evaluate_elasticities(data: ShopData, truth: dict[str, float]) -> dict[str, Any]:
    """Product-level elasticities of a shop against the truth (see `score_elasticities`)."""
    return score_elasticities(demand_panels(data), data.products["category"].astype(str), truth)


def score_elasticities(
    panels: DemandPanels, categories: pd.Series, truth: dict[str, float]
) -> dict[str, Any]:
    """Product-level elasticities fitted on a shop's `panels` against the truth: all fitted, and
    those with enough price variation (`Elasticity.precise`: the 95% interval within +-20% of
    the estimate, a rule on the data alone, never on the truth); `misses` lists the precise
    products that are not within 20%."""
    by_product, _ = estimate_elasticities(panels, categories)
    rows = [
        {
            "product_id": p,
            "estimate": e.value,
            "std_error": e.std_error,
            "conversion": e.conversion,
            "conversion_std_error": e.conversion_std_error,
            "views": e.views,
            "views_std_error": e.views_std_error,
            "precise": e.precise,
            "own_estimate": e.own_value,
            "truth": truth[p],
            "relative_error": abs(e.value - truth[p]) / abs(truth[p]),
        }
        for p, e in by_product.items()
        if p in truth
    ]
    frame = pd.DataFrame(rows)
    if not len(frame):
        return {
            "products": len(truth),
            "fitted": 0,
            "fitted_within_20pct": 0,
            "own_within_20pct": 0,
            "enough_variation": 0,
            "within_20pct": 0,
            "misses": [],
            "error_z_spread": math.nan,
        }
    precise = frame[frame["precise"]]
    within = frame["relative_error"] <= WITHIN
    return {
        "products": len(truth),
        "fitted": len(frame),
        "fitted_within_20pct": int(within.sum()),
        # The products' own fits, before partial pooling with their shop.
        "own_within_20pct": int(
            ((frame["own_estimate"] - frame["truth"]).abs() <= WITHIN * frame["truth"].abs()).sum()
        ),
        "median_relative_error": float(frame["relative_error"].median()),
        "median_std_error": float(frame["std_error"].median()),
        "median_conversion_std_error": float(frame["conversion_std_error"].median()),
        "median_views_std_error": float(frame["views_std_error"].median()),
        "mean_views_elasticity": float(frame["views"].mean()),
        "enough_variation": len(precise),
        "within_20pct": int((precise["relative_error"] <= WITHIN).sum()),
        "misses": precise.loc[
            precise["relative_error"] > WITHIN,
            ["product_id", "estimate", "std_error", "truth", "relative_error"],
        ].to_dict("records"),
        "precise_median_relative_error": (
            float(precise["relative_error"].median()) if len(precise) else None
        ),
        # Calibration: (estimate - truth) / std_error should have spread 1.
        "error_z_spread": float(((frame["estimate"] - frame["truth"]) / frame["std_error"]).std()),
    }


def evaluate_all(
    shops: dict[str, ShopData], labels_path: Path, data_dir: Path, progress: Progress
) -> dict[str, Any]:
    """Every offline score of generated `shops` (with their labels file), as a JSON-ready dict."""
    task = progress.add_task("scoring", total=None)
    labels = json.loads(labels_path.read_text())
    params = AlsParameters()
    progress.update(task, total=2 * len(shops) + 2, completed=0)
    scores: dict[str, Any] = {"recommendations": {}, "elasticity": {}}
    for shop_id, data in shops.items():
        progress.update(task, description=f"recommender {shop_id}")
        scores["recommendations"][shop_id] = evaluate_generator_recommender(data, params)
        progress.advance(task)
        progress.update(task, description=f"elasticities {shop_id}")
        scores["elasticity"][shop_id] = evaluate_elasticities(data, labels["elasticities"][shop_id])
        progress.advance(task)
    progress.update(task, description="recommender online-retail")
    scores["recommendations"]["online-retail-uci-sample"] = evaluate_online_retail(data_dir, params)
    progress.advance(task)
    progress.update(task, description="sentiment")
    reviews = pd.concat([d.reviews for d in shops.values()])
    rows = zip(reviews["text"], reviews["rating"].astype(int), reviews["language"], strict=True)
    corpora: list[LabelledTexts] = [sentiment_corpus(list(rows), name="generator-reviews")]
    scores["sentiment"] = fit_sentiment(corpora + public_corpora(data_dir)).scores
    progress.advance(task)
    scores["elasticity"]["all_shops"] = elasticity_totals(scores["elasticity"].values())
    return scores


def elasticity_totals(shops: Iterable[dict[str, Any]]) -> dict[str, int]:
    """The counts of `score_elasticities` summed over shops."""
    counted = list(shops)
    return {
        key: sum(shop[key] for shop in counted)
        for key in (
            "fitted",
            "fitted_within_20pct",
            "own_within_20pct",
            "enough_variation",
            "within_20pct",
        )
    }
