"""Aspects in Thai and Vietnamese: lexicon matching, clause splitting, per-clause scores."""

from __future__ import annotations

import unicodedata

import pytest

from shopee_insights.domain.sentiment import (
    SentimentModel,
    delivery_polarity,
    split_clauses,
    train_sentiment,
)

# A small hand-written corpus: every aspect word with every polarity phrase, so the aspect words
# themselves carry no sentiment and a clause's score comes from its polarity words.
SUBJECTS = {
    "en": ("delivery", "quality", "price", "seller"),
    "th": ("ส่งของ", "คุณภาพ", "ราคา", "ร้าน"),
    "vi": ("giao hàng", "chất lượng", "giá", "shop"),
}
POLARITY = {
    "en": {
        "positive": ("is great", "was fast", "is excellent", "made me happy"),
        "neutral": ("is okay", "is average"),
        "negative": ("is terrible", "was slow", "is poor", "disappointed me"),
    },
    "th": {
        "positive": ("ดีมาก", "ไวมาก", "ประทับใจ", "ชอบมาก"),
        "neutral": ("พอใช้", "ธรรมดา"),
        "negative": ("แย่มาก", "ช้ามาก", "ผิดหวัง", "ไม่ชอบเลย"),
    },
    "vi": {
        "positive": ("rất tốt", "nhanh", "tuyệt vời", "hài lòng"),
        "neutral": ("bình thường", "tạm được"),
        "negative": ("rất tệ", "chậm", "kém", "thất vọng"),
    },
}


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    texts: list[str] = []
    labels: list[str] = []
    languages: list[str] = []
    for language, subjects in SUBJECTS.items():
        joiner = "" if language == "th" else " "  # Thai: no space between words
        for label, phrases in POLARITY[language].items():
            for subject in subjects:
                for phrase in phrases:
                    texts.append(f"{subject}{joiner}{phrase}")
                    labels.append(label)
                    languages.append(language)
    return train_sentiment(texts, labels, languages)


@pytest.mark.parametrize(
    "text",
    [
        "ส่งของไวมาก คุณภาพแย่",  # a space between Thai phrases
        "ส่งของไวมากแต่คุณภาพแย่",  # แต่ 'but', no spaces at all
    ],
    ids=["space", "but"],
)
def test_thai_review_scores_each_aspect_on_its_own_clause(model: SentimentModel, text: str) -> None:
    assert model.aspect_clauses(text) == [("delivery", "ส่งของไวมาก"), ("quality", "คุณภาพแย่")]
    [scored] = model.score([text])
    assert set(scored.aspects) == {"delivery", "quality"}
    assert scored.aspects["delivery"] > 0 > scored.aspects["quality"]


@pytest.mark.parametrize(
    ("text", "good", "bad"),
    [
        ("Giao hàng nhanh nhưng chất lượng kém", "delivery", "quality"),
        ("Giao hàng rất nhanh, tuy nhiên chất lượng kém.", "delivery", "quality"),
        ("Chất lượng rất tốt. Tuy nhiên giao hàng chậm", "quality", "delivery"),
    ],
    ids=["nhung", "tuy-nhien", "sentence-start"],
)
def test_vietnamese_review_scores_each_aspect_on_its_own_clause(
    model: SentimentModel, text: str, good: str, bad: str
) -> None:
    found = model.aspect_clauses(text)
    assert sorted(aspect for aspect, _ in found) == ["delivery", "quality"]
    assert all("nhưng" not in clause and "tuy" not in clause.lower() for _, clause in found)
    [scored] = model.score([text])
    assert set(scored.aspects) == {"delivery", "quality"}
    assert scored.aspects[good] > 0 > scored.aspects[bad]


def test_a_thai_keyword_is_found_inside_a_run_of_words(model: SentimentModel) -> None:
    # "Ordered three pieces, cheaper than I thought": ราคาถูก sits mid-run, and สั่ง 'order'
    # is not ส่ง 'send' (a vowel mark between the letters).
    text = "สั่งไปสามชิ้นราคาถูกกว่าที่คิดไว้"
    assert [aspect for aspect, _ in model.aspect_clauses(text)] == ["price"]
    assert set(model.score([text])[0].aspects) == {"price"}


def test_english_aspects_and_clauses_are_unchanged(model: SentimentModel) -> None:
    text = "Fast delivery but the quality is poor. The seller replied quickly; fair price"
    assert split_clauses(text) == [
        "Fast delivery ",
        " the quality is poor",
        " The seller replied quickly",
        " fair price",
    ]
    assert [aspect for aspect, _ in model.aspect_clauses(text)] == [
        "delivery",
        "quality",
        "service",
        "price",
    ]
    # Latin-script entries keep their word boundaries: 'shops' is not 'shop', nor 'ship' in
    # 'shipping' a second delivery word.
    assert model.aspect_clauses("Cheaper than other shops") == []
    assert model.aspect_clauses("Shipping was quick") == [("delivery", "Shipping was quick")]


def test_decomposed_vietnamese_text_still_matches(model: SentimentModel) -> None:
    composed = "Chất lượng kém nhưng shop trả lời nhiệt tình, giá rẻ"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert [a for a, _ in model.aspect_clauses(decomposed)] == ["quality", "service", "price"]
    assert set(model.score([decomposed])[0].aspects) == {"quality", "service", "price"}


def test_rating_in_vietnamese_is_not_a_price_mention(model: SentimentModel) -> None:
    # 'đánh giá' (to review, rate) holds 'giá' (price): blanked out before aspects are found.
    assert model.aspect_clauses("Mình đánh giá 5 sao") == []
    assert [a for a, _ in model.aspect_clauses("Đánh giá cao, giá rẻ")] == ["price"]


def test_clause_splitting_by_language() -> None:
    # A space separates Thai phrases; in Latin script it is only a word break.
    assert split_clauses("ร้านตอบแชทไว บริการดี") == ["ร้านตอบแชทไว", "บริการดี"]
    assert split_clauses("great value for money") == ["great value for money"]
    # A Thai phrase followed by a number stays whole; แต่ง 'dress up' and แต่ละ 'each' are not แต่.
    assert split_clauses("ส่งไวมาก 2 วันถึง") == ["ส่งไวมาก 2 วันถึง"]
    assert split_clauses("แต่งหน้าติดทนแต่ละสีสวย") == ["แต่งหน้าติดทนแต่ละสีสวย"]


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("fast delivery", 1.0),
        ("the parcel arrived late and dented", -1.0),
        ("delivery was not very fast", -1.0),
        ("shipping wasn't slow", 1.0),
        ("pengiriman tidak lama", 1.0),
        ("pengiriman kurang cepat", -1.0),
        ("ส่งไวมาก", 1.0),
        ("ส่งไม่ช้า", 1.0),
        ("giao hàng không nhanh lắm", -1.0),
        ("mabilis ang dating", 1.0),
        ("fast shipping but the box was crushed", 0.0),
        # ไว้ 'keep' holds ไว 'fast', ช้าง 'elephant' holds ช้า 'slow': neither is a polarity.
        ("เก็บไว้ส่งให้ ตุ๊กตาช้าง", None),
        ("the package arrived", None),
    ],
)
def test_a_delivery_clause_reads_by_its_words(clause: str, expected: float | None) -> None:
    assert delivery_polarity(clause) == expected


def test_delivery_is_scored_by_its_words_whatever_the_stars(model: SentimentModel) -> None:
    """The stars a review is trained on say little about its delivery: a clause with delivery
    words is scored by them, one without keeps the model's score."""
    [fast, slow, plain] = model.score(
        [
            "The product is terrible. Fast delivery though",
            "Excellent product! The parcel came late",
            "The product is terrible. The package came",
        ]
    )
    assert (fast.label, fast.aspects["delivery"]) == ("negative", 1.0)
    assert (slow.label, slow.aspects["delivery"]) == ("positive", -1.0)
    assert plain.aspects["delivery"] == pytest.approx(model.polarity(["The package came"])[0])
