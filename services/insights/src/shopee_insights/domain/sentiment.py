"""Sentiment of reviews and chats, offline: TF-IDF (word and character n-grams) and logistic
regression, trained on review text labelled by its stars (1-2 negative, 3 neutral, 4-5 positive).

Characters n-grams carry the model across languages, spelling variants and slang ('bgs', 'mantul')
that word lists miss. Language comes from the text's own tag when there is one, else from a
character n-gram classifier trained on the same corpus. Aspects (delivery, quality, price,
service) are found with keyword lexicons per language (en, id, ms, fil, th, vi; Thai entries match
as substrings, since Thai has no spaces between words); each aspect is scored on the clause that
mentions it, so "fast delivery but poor quality" is positive on delivery and negative on quality,
and so are "ส่งไวมาก คุณภาพแย่" and "giao hàng nhanh nhưng chất lượng kém". A delivery clause with
speed or parcel-condition words is scored by those words, not the model: stars say little about
delivery.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.naive_bayes import MultinomialNB  # type: ignore[import-untyped]
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline  # type: ignore[import-untyped]

from shopee_insights.domain.lexicons import (
    ASPECTS,
    DELIVERY_POLARITY,
    INTENSIFIERS,
    NEGATIONS,
    NEGATIVE,
    NOT_ASPECTS,
    NOT_POLARITY,
    POSITIVE,
)

LABELS = ("negative", "neutral", "positive")
# Thai script. Thai is written without spaces between words, and its vowel and tone marks are
# combining characters (Mn) that `\w` does not match, so `\b` falls inside Thai words.
_THAI = "\u0e00-\u0e7f"
# Clause breaks: punctuation; "but"-words (en, id/ms, vi) on word boundaries; Thai แต่ 'but'
# anywhere (no word boundaries in Thai) except in แต่ง 'dress, decorate' and แต่ละ 'each'; and a
# space between two Thai characters, which in Thai separates phrases and clauses the way a comma
# does (elsewhere a space is only a word break: "fast delivery" stays one clause).
CLAUSE_SPLIT = re.compile(
    r"[.!?;,\n]+"
    r"|\b(?:but|however|though|tapi|tetapi|namun|cuma|sayang|nhưng|tuy nhiên)\b"
    r"|แต่(?!ง|ละ)"
    rf"|(?<=[{_THAI}])\s+(?=[{_THAI}])",
    re.IGNORECASE,
)
_UNSPACED = re.compile(rf"[{_THAI}]")  # scripts whose entries match as plain substrings
_NOT_ASPECTS = re.compile(
    "|".join(rf"\b{re.escape(unicodedata.normalize('NFC', p))}\b" for p in NOT_ASPECTS),
    re.IGNORECASE,
)


def split_clauses(text: str) -> list[str]:
    """The non-blank clauses of a text, in Unicode NFC: the lexicons are NFC, and a text saved
    decomposed (NFD: Vietnamese 'ấ' as 'a' plus two combining marks) would match none of them."""
    return [c for c in CLAUSE_SPLIT.split(unicodedata.normalize("NFC", text)) if c.strip()]


def _alternatives(words: Sequence[str]) -> str:
    """A regex alternation for a word list: entries on word boundaries ('*' at the end: any word
    starting so); entries in Thai anywhere (substring), as Thai has no word boundaries."""
    parts = []
    for word in (unicodedata.normalize("NFC", w) for w in words):
        stem = re.escape(word.removesuffix("*"))
        if _UNSPACED.search(word):
            parts.append(stem)
        elif word.endswith("*"):
            parts.append(rf"\b{stem}\w*")
        else:
            parts.append(rf"\b{stem}\b")
    return "|".join(parts)


def _pattern(words: Sequence[str]) -> re.Pattern[str]:
    """One case-insensitive regex for a word list (`_alternatives`)."""
    return re.compile(_alternatives(words), re.IGNORECASE)


def _negated_pattern(words: Sequence[str]) -> re.Pattern[str]:
    """A word of the list, with the negation right before it (group `negation`, if any): a
    negation word and its space, or a "-n't" verb, then at most one intensifier."""
    negation = _alternatives(NEGATIONS)
    intensifier = _alternatives(INTENSIFIERS)
    before = rf"(?:(?:{negation}|\b\w+n['’]t\b)\s*(?:(?:{intensifier})\s+)?)"
    return re.compile(rf"(?P<negation>{before})?(?:{_alternatives(words)})", re.IGNORECASE)


_NOT_POLARITY = _pattern(NOT_POLARITY)
_DELIVERY_WORDS = {
    sign: _negated_pattern([w for words in by_language.values() for w in words])
    for sign, by_language in (
        (1, DELIVERY_POLARITY["positive"]),
        (-1, DELIVERY_POLARITY["negative"]),
    )
}


def delivery_polarity(clause: str) -> float | None:
    """A delivery clause's polarity from its words (`DELIVERY_POLARITY`): (positive - negative
    hits) / hits, a negated word counting the other way; None when it holds none of them."""
    probe = _NOT_POLARITY.sub(" ", unicodedata.normalize("NFC", clause))
    total = hits = 0
    for sign, pattern in _DELIVERY_WORDS.items():
        for match in pattern.finditer(probe):
            total += -sign if match.group("negation") else sign
            hits += 1
    return total / hits if hits else None


def _aspect_patterns() -> dict[str, re.Pattern[str]]:
    return {
        aspect: _pattern([w for words in by_language.values() for w in words])
        for aspect, by_language in ASPECTS.items()
    }


@dataclass(frozen=True)
class TextScore:
    label: str
    score: float
    aspects: dict[str, float]
    language: str


class SentimentModel:
    """A fitted sentiment and language model; pickled whole into the model registry."""

    def __init__(
        self, sentiment: Pipeline, language: Pipeline | None, languages: list[str]
    ) -> None:
        self.sentiment = sentiment
        self.language = language
        self.languages = languages
        self._aspects = _aspect_patterns()
        classes = list(sentiment.classes_)
        self._positive = classes.index("positive")
        self._negative = classes.index("negative")

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop("_aspects")
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._aspects = _aspect_patterns()

    def polarity(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """P(positive) - P(negative) per text, -1 to 1."""
        if not texts:
            return np.zeros(0)
        probabilities = self.sentiment.predict_proba(list(texts))
        return np.asarray(probabilities[:, self._positive] - probabilities[:, self._negative])

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(label) for label in self.sentiment.predict(list(texts))]

    def detect_language(self, texts: Sequence[str]) -> list[str]:
        if self.language is None or not texts:
            return ["" for _ in texts]
        return [str(label) for label in self.language.predict(list(texts))]

    def aspect_clauses(self, text: str) -> list[tuple[str, str]]:
        """(aspect, clause) for each clause of the text and each aspect the clause mentions."""
        found = []
        for clause in split_clauses(text):
            probe = _NOT_ASPECTS.sub(" ", clause)
            found += [(aspect, clause) for aspect, p in self._aspects.items() if p.search(probe)]
        return found

    def score(
        self, texts: Sequence[str], languages: Sequence[str] | None = None
    ) -> list[TextScore]:
        """Label, polarity, aspect polarities and language of each text."""
        if not texts:
            return []
        probabilities = self.sentiment.predict_proba(list(texts))
        classes = list(self.sentiment.classes_)
        given = list(languages) if languages else ["" for _ in texts]
        missing = [i for i, lang in enumerate(given) if not lang]
        for i, lang in zip(missing, self.detect_language([texts[i] for i in missing]), strict=True):
            given[i] = lang
        detected = given
        clauses: list[str] = []
        owners: list[tuple[int, str]] = []
        for position, text in enumerate(texts):
            for aspect, clause in self.aspect_clauses(text):
                clauses.append(clause)
                owners.append((position, aspect))
        clause_scores = self.polarity(clauses)
        aspects: list[dict[str, list[float]]] = [{} for _ in texts]
        for (position, aspect), clause, value in zip(
            owners, clauses, clause_scores.tolist(), strict=True
        ):
            if aspect == "delivery":
                # The clause's own words, where it has some: stars say little about delivery.
                worded = delivery_polarity(clause)
                value = value if worded is None else worded
            aspects[position].setdefault(aspect, []).append(value)
        return [
            TextScore(
                label=str(classes[int(np.argmax(row))]),
                score=float(row[self._positive] - row[self._negative]),
                aspects={a: float(np.mean(v)) for a, v in aspects[i].items()},
                language=detected[i],
            )
            for i, row in enumerate(probabilities)
        ]


def train_sentiment(
    texts: Sequence[str], labels: Sequence[str], languages: Sequence[str], seed: int = 7
) -> SentimentModel:
    """Fit the sentiment pipeline (balanced classes) and, with two or more languages, a
    character n-gram naive Bayes language identifier."""
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    min_df=2,
                    sublinear_tf=True,
                    max_features=200_000,
                ),
            ),
        ]
    )
    sentiment = Pipeline(
        [
            ("features", features),
            (
                "classifier",
                LogisticRegression(
                    C=4.0, max_iter=2_000, class_weight="balanced", random_state=seed
                ),
            ),
        ]
    )
    sentiment.fit(list(texts), list(labels))
    known = sorted({lang for lang in languages if lang})
    language = None
    if len(known) >= 2:
        tagged = [(t, lang) for t, lang in zip(texts, languages, strict=True) if lang]
        language = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2),
            MultinomialNB(alpha=0.1),
        )
        language.fit([t for t, _ in tagged], [lang for _, lang in tagged])
    return SentimentModel(sentiment, language, known)


def lexicon_polarity(text: str) -> float:
    """The baseline: (positive - negative word hits) / hits over the English and Indonesian
    lexicons; 0 when no word matches."""
    positive = sum(len(_LEXICON_PATTERNS["positive"][lang].findall(text)) for lang in POSITIVE)
    negative = sum(len(_LEXICON_PATTERNS["negative"][lang].findall(text)) for lang in NEGATIVE)
    hits = positive + negative
    return (positive - negative) / hits if hits else 0.0


def lexicon_label(text: str) -> str:
    value = lexicon_polarity(text)
    return "positive" if value > 0 else "negative" if value < 0 else "neutral"


_LEXICON_PATTERNS = {
    "positive": {lang: _pattern(words) for lang, words in POSITIVE.items()},
    "negative": {lang: _pattern(words) for lang, words in NEGATIVE.items()},
}
