from __future__ import annotations

import io

import joblib
import pytest

from shopee_insights.adapters.corpora import stars_to_label
from shopee_insights.domain.sentiment import SentimentModel, lexicon_polarity, train_sentiment
from shopee_insights.domain.shop_data import ShopData
from shopee_insights.training import score_sentiment


@pytest.fixture(scope="module")
def model_and_test(shop: ShopData) -> tuple[SentimentModel, list[str], list[str]]:
    reviews = shop.reviews.sample(frac=1.0, random_state=1)
    labels = [stars_to_label(int(r)) for r in reviews["rating"]]
    cut = int(len(reviews) * 0.7)
    texts = reviews["text"].tolist()
    model = train_sentiment(texts[:cut], labels[:cut], reviews["language"].tolist()[:cut])
    return model, texts[cut:], labels[cut:]


def test_model_beats_the_lexicon_on_held_out_reviews(
    model_and_test: tuple[SentimentModel, list[str], list[str]],
) -> None:
    model, texts, labels = model_and_test
    scores = score_sentiment(model, "held", texts, labels)
    assert scores["held_macro_f1"] > scores["held_lexicon_macro_f1"]


def test_aspects_are_scored_per_clause_and_survive_pickling(
    model_and_test: tuple[SentimentModel, list[str], list[str]],
) -> None:
    model = model_and_test[0]
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    loaded: SentimentModel = joblib.load(buffer)
    [scored] = loaded.score(["The price is fine. The courier was late and the package damaged"])
    assert {"price", "delivery"} <= set(scored.aspects)
    assert -1.0 <= scored.score <= 1.0
    assert scored.language in loaded.languages


def test_lexicon_baseline_counts_words() -> None:
    assert lexicon_polarity("bagus dan cepat") > 0
    assert lexicon_polarity("barang rusak, kecewa") < 0
    assert lexicon_polarity("12345") == 0
