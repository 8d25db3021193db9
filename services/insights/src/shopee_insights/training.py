"""Fitting each area's model from a shop's tables, with its offline scores (no I/O here)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from shopee_common.grpc_server import FailedPrecondition
from shopee_insights.adapters.corpora import LabelledTexts, stars_to_label
from shopee_insights.domain.interactions import (
    Holdout,
    ranking_scores,
    shop_interactions,
    split_by_time,
)
from shopee_insights.domain.marketing import (
    MIN_DAYS,
    ResponseCurves,
    daily_spend_and_revenue,
    fit_response_curves,
    live_stream_days,
)
from shopee_insights.domain.pricing import Elasticity, demand_panels, estimate_elasticities
from shopee_insights.domain.recommend import (
    AlsParameters,
    Recommender,
    evaluate_rankings,
    fit_recommender,
)
from shopee_insights.domain.segments import Algorithm, Segmentation, segment_buyers
from shopee_insights.domain.sentiment import SentimentModel, lexicon_label, train_sentiment
from shopee_insights.domain.shop_data import ShopData

MIN_SEGMENT_BUYERS = 20
MIN_RECOMMENDER_PURCHASES = 20
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 0.9)
# Share of ALS in the personal part of a score (the rest item-to-item).
ALS_WEIGHTS = (0.0, 0.5, 1.0)
# Metadata of the recommender and pricing models: when their catalogue snapshot is from (ISO 8601,
# or None); requests read the catalogue events since then (`InsightsEngine.catalog_changes`).
CATALOG_AS_OF = "catalog_as_of"


@dataclass(frozen=True)
class Fitted:
    """A model and what the registry records with it."""

    model: object
    metadata: dict[str, Any]
    scores: dict[str, Any]


@dataclass(frozen=True)
class PricingModel:
    """Elasticities, and each product's category, list price and cost as of training (requests
    use the catalogue's current ones where it changed since)."""

    by_product: dict[str, Elasticity]
    by_category: dict[str, Elasticity]
    categories: dict[str, str]
    prices: dict[str, int]
    costs: dict[str, int]


def fit_segments(data: ShopData, algorithm: Algorithm) -> Fitted:
    buyers = data.paid_lines["buyer_id"].nunique()
    if buyers < MIN_SEGMENT_BUYERS:
        raise FailedPrecondition(
            f"segmentation needs at least {MIN_SEGMENT_BUYERS} buyers with paid orders; "
            f"shop {data.shop_id!r} has {buyers}"
        )
    result: Segmentation = segment_buyers(data.paid_lines, data.last_event_at, algorithm)
    return Fitted(
        result, {"buyers": buyers, "algorithm": algorithm.value}, {"silhouette": result.silhouette}
    )


def fit_blended(
    interactions: pd.DataFrame,
    products: pd.DataFrame,
    validation: Callable[[pd.DataFrame], Holdout],
    params: AlsParameters,
    consumable_rate: float = 0.15,
) -> tuple[Recommender, dict[str, Any]]:
    """Choose the blend (ALS vs item-to-item within the personal part, then the popularity
    prior) on a validation split of `interactions`, then refit on all of them; returns the model
    and the validation scores (each blend tried, the chosen one, popularity)."""
    scores: dict[str, Any] = {}
    chosen = (1.0, 0.0)
    holdout = validation(interactions)
    if holdout.relevant and holdout.train["purchase"].sum() >= MIN_RECOMMENDER_PURCHASES:
        trial = fit_recommender(holdout.train, products, params, consumable_rate)
        best = -1.0
        for als_weight in ALS_WEIGHTS:
            for candidate in BLEND_WEIGHTS:
                trial.als_weight, trial.popularity_weight = als_weight, candidate
                model_lists, popular, wanted = evaluate_rankings(trial, holdout.relevant)
                model_scores = ranking_scores(model_lists, wanted)
                scores[f"ndcg@10_als_{als_weight}_popularity_{candidate}"] = model_scores["ndcg@10"]
                if model_scores["ndcg@10"] > best:
                    best, chosen = model_scores["ndcg@10"], (als_weight, candidate)
                    scores.update({f"model_{k}": v for k, v in model_scores.items()})
                    scores.update(
                        {f"popularity_{k}": v for k, v in ranking_scores(popular, wanted).items()}
                    )
    scores["als_weight"], scores["popularity_weight"] = chosen
    recommender = fit_recommender(
        interactions,
        products,
        params,
        consumable_rate,
        popularity_weight=chosen[1],
        als_weight=chosen[0],
    )
    return recommender, scores


def fit_shop_recommender(
    data: ShopData, holdout_days: int, consumable_rate: float, params: AlsParameters | None = None
) -> Fitted:
    """The shop's recommender, blend chosen on its last `holdout_days`."""
    params = params or AlsParameters()
    interactions = shop_interactions(data)
    purchases = int(interactions["purchase"].sum()) if len(interactions) else 0
    if purchases < MIN_RECOMMENDER_PURCHASES:
        raise FailedPrecondition(
            f"recommendations need at least {MIN_RECOMMENDER_PURCHASES} purchased order lines; "
            f"shop {data.shop_id!r} has {purchases}"
        )
    recommender, scores = fit_blended(
        interactions,
        data.products,
        lambda frame: split_by_time(frame, holdout_days),
        params,
        consumable_rate,
    )
    metadata = {
        "interactions": len(interactions),
        "buyers": len(recommender.buyer_index),
        "products": len(recommender.product_ids),
        "popularity_weight": recommender.popularity_weight,
        "als_weight": recommender.als_weight,
        "consumable_categories": sorted(
            {c for c, ok in zip(recommender.categories, recommender.consumable, strict=True) if ok}
        ),
        "als": dataclasses.asdict(params),
        CATALOG_AS_OF: _catalog_as_of(data),
    }
    return Fitted(recommender, metadata, scores)


def fit_pricing(data: ShopData) -> Fitted:
    panels = demand_panels(data)
    categories = data.products["category"].astype(str)
    by_product, by_category = estimate_elasticities(panels, categories)
    model = PricingModel(
        by_product=by_product,
        by_category=by_category,
        categories={str(p): str(c) for p, c in categories.items()},
        prices={str(p): int(v) for p, v in data.products["price_minor"].items()},
        costs={str(p): int(v) for p, v in data.products["cost_minor"].items()},
    )
    metadata = {
        "conversion_panel_rows": len(panels.conversion),
        "views_panel_rows": len(panels.views),
        "products": len(by_product),
        "categories": len(by_category),
        CATALOG_AS_OF: _catalog_as_of(data),
    }
    return Fitted(model, metadata, {})


def _catalog_as_of(data: ShopData) -> str | None:
    as_of = data.catalog_as_of
    return None if as_of is None else as_of.isoformat()


def fit_marketing(data: ShopData) -> Fitted:
    daily = daily_spend_and_revenue(data)
    channels = [c for c in daily.columns if c != "revenue"]
    if len(daily) < MIN_DAYS or not channels:
        raise FailedPrecondition(
            f"marketing mix needs at least {MIN_DAYS} days of ads spend; shop {data.shop_id!r} "
            f"has {len(daily)}"
        )
    live = live_stream_days(data)
    curves: ResponseCurves = fit_response_curves(daily, live)
    metadata = {"days": len(daily), "live_stream_days": len(live), "channels": curves.channels}
    return Fitted(curves, metadata, curves.historical_roas)


def sentiment_corpus(
    reviews: list[tuple[str, int, str]], name: str = "platform-reviews"
) -> LabelledTexts:
    """Review texts labelled by their stars (the platform's own reviews)."""
    kept = [(t, r, lang) for t, r, lang in reviews if 1 <= r <= 5 and t.strip()]
    return LabelledTexts(
        name,
        [t for t, _, _ in kept],
        [stars_to_label(r) for _, r, _ in kept],
        [lang for _, _, lang in kept],
    )


def macro_f1(truth: list[str], predicted: list[str]) -> float:
    from sklearn.metrics import f1_score  # type: ignore[import-untyped]

    return float(f1_score(truth, predicted, average="macro"))


def fit_sentiment(corpora: list[LabelledTexts], test_share: float = 0.25, seed: int = 7) -> Fitted:
    """Train on (1 - test_share) of each corpus; score macro-F1 of model and lexicon baseline on
    the rest of each (binary corpora are scored positive vs negative)."""
    usable = [c for c in corpora if len(c.texts) >= 20]
    if not usable:
        raise FailedPrecondition("sentiment training needs at least 20 labelled review texts")
    rng = np.random.default_rng(seed)
    train_texts: list[str] = []
    train_labels: list[str] = []
    train_languages: list[str] = []
    held: dict[str, tuple[list[str], list[str]]] = {}
    for corpus in usable:
        order = rng.permutation(len(corpus.texts))
        cut = int(len(order) * (1 - test_share))
        for i in order[:cut]:
            train_texts.append(corpus.texts[i])
            train_labels.append(corpus.labels[i])
            train_languages.append(corpus.languages[i])
        held[corpus.name] = (
            [corpus.texts[i] for i in order[cut:]],
            [corpus.labels[i] for i in order[cut:]],
        )
    model = train_sentiment(train_texts, train_labels, train_languages, seed)
    scores: dict[str, Any] = {}
    for name, (texts, labels) in held.items():
        scores.update(score_sentiment(model, name, texts, labels))
    metadata = {
        "training_texts": len(train_texts),
        "languages": model.languages,
        "corpora": [c.name for c in usable],
    }
    return Fitted(model, metadata, scores)


def score_sentiment(
    model: SentimentModel, name: str, texts: list[str], labels: list[str]
) -> dict[str, float]:
    """Macro-F1 of the model and of the lexicon baseline on labelled texts."""
    if not texts:
        return {}
    if "neutral" in set(labels):
        predicted = model.predict(texts)
        baseline = [lexicon_label(t) for t in texts]
    else:
        predicted = ["positive" if p > 0 else "negative" for p in model.polarity(texts)]
        baseline = ["negative" if lexicon_label(t) == "negative" else "positive" for t in texts]
    return {
        f"{name}_macro_f1": macro_f1(labels, predicted),
        f"{name}_lexicon_macro_f1": macro_f1(labels, baseline),
        f"{name}_texts": float(len(texts)),
    }
