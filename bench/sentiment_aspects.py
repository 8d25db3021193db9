"""Benchmark: aspect detection (delivery, quality, price, service) per language on generated reviews.

    uv run --frozen python -m bench.sentiment_aspects                  # 6 shops, 180 days
    uv run --frozen python -m bench.sentiment_aspects --out .run/bench/sentiment_aspects.json

The generator writes a review as an opener, one or two aspect phrases and a closer from its
phrasebook for the language (`shopee_generator.domain.texts.REVIEWS`), in memory through its
Python API (`generate_history`). The truth of a review is which aspect sections its text was
composed from, and their sentiment (pos/neu/neg): found by looking each section's phrases up in
the text (that is measurement: the service's lexicons never see the phrasebook). Six shops, so
that the world has all six markets: glowlab-id (id/en), techmate-my (ms/en), moda-ph (fil/en),
baansuay-th (th/en), dailygreens-sg (en), beyeu-vn (vi/en).

A sentiment model is trained with the service's own `train_sentiment` on 75% of the reviews (a
seeded split; labels from stars) and `SentimentModel.score` is run on the held-out 25%; all
figures are on those held-out reviews. Per language and aspect:

- recall: a section was used -> the aspect was found;
- precision: the aspect was found -> its section was used;
- sign agrees: of the found aspects whose section was pos or neg, the share whose aspect score
  has that sign (> 0 for pos, < 0 for neg).

Only `train_sentiment` and `score` are used, so the script also measures an older checkout: put
that checkout's `services/insights/src` first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from bench.machine import describe_machine
from shopee_generator.domain.texts import ASPECTS, REVIEWS
from shopee_generator.world import GeneratorConfig, generate_history
from shopee_insights.adapters.corpora import stars_to_label
from shopee_insights.domain.sentiment import train_sentiment

LANGUAGES = ("en", "id", "ms", "fil", "th", "vi")
SIGN = {"pos": 1.0, "neg": -1.0}


@dataclass(frozen=True)
class Review:
    text: str
    rating: int
    language: str
    truth: dict[str, str]  # aspect section used -> its sentiment (pos, neu, neg)


def sections_used(text: str, language: str) -> dict[str, str]:
    """The aspect sections of the phrasebook whose phrases are in the text, with their mood."""
    used: dict[str, str] = {}
    for aspect in ASPECTS:
        for mood, phrases in REVIEWS[language][aspect].items():
            if any(phrase and phrase in text for phrase in phrases):
                used[aspect] = mood
    return used


def check_phrasebooks() -> None:
    """No aspect phrase may occur inside another phrase of the same language: the lookup would
    then report a section that was not used."""
    for language, book in REVIEWS.items():
        phrases = [(part, p) for part, moods in book.items() for ps in moods.values() for p in ps]
        for aspect in ASPECTS:
            for mood_phrases in book[aspect].values():
                for phrase in mood_phrases:
                    inside = [p for part, p in phrases if p != phrase and phrase in p]
                    if inside:
                        raise SystemExit(f"{language} {aspect} {phrase!r} is inside {inside}")


def generated_reviews(config: GeneratorConfig) -> list[Review]:
    reviews = []
    for event in generate_history(config):
        if event.HasField("review") and event.review.text.strip():
            r = event.review
            reviews.append(Review(r.text, r.rating, r.language, sections_used(r.text, r.language)))
    return reviews


def measure(reviews: list[Review], found: list[dict[str, float]]) -> dict[str, Any]:
    """Counts and rates per language and aspect, plus an 'all' row per language."""
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"used": 0, "found": 0, "both": 0, "signed": 0, "agrees": 0}
    )
    for review, aspects in zip(reviews, found, strict=True):
        for aspect in ASPECTS:
            used = aspect in review.truth
            hit = aspect in aspects
            for key in ((review.language, aspect), (review.language, "all")):
                row = counts[key]
                row["used"] += used
                row["found"] += hit
                row["both"] += used and hit
                mood = review.truth.get(aspect, "")
                if hit and mood in SIGN:
                    row["signed"] += 1
                    row["agrees"] += aspects[aspect] * SIGN[mood] > 0
    table: dict[str, Any] = {}
    for (language, aspect), row in sorted(counts.items()):
        table.setdefault(language, {})[aspect] = {
            **row,
            "recall": row["both"] / row["used"] if row["used"] else None,
            "precision": row["both"] / row["found"] if row["found"] else None,
            "sign_agrees": row["agrees"] / row["signed"] if row["signed"] else None,
        }
    return table


def markdown(table: dict[str, Any]) -> str:
    def rate(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [
        "| language | aspect | sections used | recall | aspects found | precision "
        "| found, section pos/neg | sign agrees |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for language in [lang for lang in LANGUAGES if lang in table] + sorted(
        set(table) - set(LANGUAGES)
    ):
        for aspect in (*ASPECTS, "all"):
            row = table[language].get(aspect)
            if row is None:
                continue
            name = f"**{aspect}**" if aspect == "all" else aspect
            lines.append(
                f"| {language} | {name} | {row['used']} | {rate(row['recall'])} | {row['found']} "
                f"| {rate(row['precision'])} | {row['signed']} | {rate(row['sign_agrees'])} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 24))
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--shops", type=int, default=6, help="6 or more for a Vietnamese shop")
    parser.add_argument("--seed", type=int, default=20251111, help="generator seed")
    parser.add_argument("--split-seed", type=int, default=7, help="train/held-out split seed")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    machine = describe_machine()
    print(f"machine: {machine}")
    check_phrasebooks()
    config = GeneratorConfig.ending(args.end, days=args.days, shops=args.shops, seed=args.seed)
    started = time.perf_counter()
    reviews = generated_reviews(config)
    generate_seconds = time.perf_counter() - started
    odd = sum(not 1 <= len(r.truth) <= 2 for r in reviews)
    if odd:
        raise SystemExit(f"{odd} reviews do not have one or two recognised aspect phrases")
    order = np.random.default_rng(args.split_seed).permutation(len(reviews))
    cut = int(len(order) * 0.75)
    train = [reviews[i] for i in order[:cut]]
    held = [reviews[i] for i in order[cut:]]
    started = time.perf_counter()
    model = train_sentiment(
        [r.text for r in train],
        [stars_to_label(r.rating) for r in train],
        [r.language for r in train],
    )
    train_seconds = time.perf_counter() - started
    scored = model.score([r.text for r in held], [r.language for r in held])
    table = measure(held, [s.aspects for s in scored])
    print(
        f"world: {args.shops} shops, {args.days} days to {args.end}, seed {args.seed}; "
        f"{len(reviews)} reviews generated in {generate_seconds:.1f} s; model trained on "
        f"{len(train)} in {train_seconds:.1f} s; {len(held)} held out and scored"
    )
    print(markdown(table))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "machine": machine,
            "config": {k: str(v) for k, v in vars(args).items()},
            "reviews": len(reviews),
            "held_out": len(held),
            "table": table,
        }
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
