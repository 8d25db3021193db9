"""Public data sets on disk (/work/shared/data by default): read, never downloaded."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from shopee_insights.domain.interactions import PURCHASE_WEIGHT

ONLINE_RETAIL = "online-retail-uci-sample/online_retail_sample.csv"
PRDECT_ID = "prdect-id-reviews/prdect_id_dataset.csv"
AMAZON = "amazon-labelled-sentences/amazon_cells_labelled.txt"


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with a sentiment label (negative, neutral or positive) and a language tag."""

    name: str
    texts: list[str]
    labels: list[str]
    languages: list[str]


def online_retail_interactions(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """UCI Online Retail sample as purchase interactions (customers with an id, no
    cancellations, positive quantities) and a catalogue indexed by StockCode."""
    raw = pd.read_csv(data_dir / ONLINE_RETAIL, dtype={"CustomerID": str, "StockCode": str})
    raw = raw[
        raw["CustomerID"].notna()
        & ~raw["InvoiceNo"].astype(str).str.startswith("C")
        & (raw["Quantity"] > 0)
    ]
    interactions = pd.DataFrame(
        {
            "buyer_id": raw["CustomerID"],
            "product_id": raw["StockCode"],
            "weight": PURCHASE_WEIGHT,
            "purchase": True,
            "order_id": raw["InvoiceNo"].astype(str),
            "occurred_at": pd.to_datetime(raw["InvoiceDate"], utc=True),
        }
    ).reset_index(drop=True)
    catalog = raw.groupby("StockCode").agg(
        name=("Description", "last"), price_minor=("UnitPrice", lambda p: int(p.median() * 100))
    )
    catalog["category"] = ""
    catalog["stock"] = 1
    catalog["status"] = "PRODUCT_STATUS_ACTIVE"
    catalog.index.name = "product_id"
    return interactions, catalog


def stars_to_label(stars: int) -> str:
    """1-2 stars negative, 3 neutral, 4-5 positive."""
    return "negative" if stars <= 2 else "neutral" if stars == 3 else "positive"


def prdect_id_reviews(data_dir: Path) -> tuple[LabelledTexts, list[str]]:
    """PRDECT-ID (Indonesian): labels from the star rating, and the human binary label."""
    frame = pd.read_csv(data_dir / PRDECT_ID)
    texts = frame["Customer Review"].astype(str).tolist()
    stars = frame["Customer Rating"].astype(int).tolist()
    human = frame["Sentiment"].str.lower().tolist()
    labelled = LabelledTexts(
        "prdect-id-reviews", texts, [stars_to_label(s) for s in stars], ["id"] * len(texts)
    )
    return labelled, human


def amazon_sentences(data_dir: Path) -> LabelledTexts:
    """UCI labelled Amazon sentences (English, positive or negative)."""
    texts: list[str] = []
    labels: list[str] = []
    with (data_dir / AMAZON).open(encoding="utf-8") as source:
        for row in csv.reader(source, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) == 2:
                texts.append(row[0])
                labels.append("positive" if row[1].strip() == "1" else "negative")
    return LabelledTexts("amazon-labelled-sentences", texts, labels, ["en"] * len(texts))
