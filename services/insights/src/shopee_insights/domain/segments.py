"""RFM segmentation: recency, frequency and monetary value per buyer, clustered, then named.

Clusters are found on standardised log features (k-means with k chosen by silhouette, or DBSCAN,
or Ward agglomerative). Names come from each segment's profile, not its index: every name has a
prototype in RFM score space (Champions: recent, frequent, big spenders; Hibernating: long ago,
rarely, little) and segments get names by the cheapest one-to-one assignment. Recency is scored
against the shop's own buying rhythm (how long its buyers usually wait between orders), not
against the other buyers: in a shop whose buyers mostly bought once long ago, "bought 9 months
ago" is long ago, not middling.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans  # type: ignore[import-untyped]
from sklearn.metrics import silhouette_score  # type: ignore[import-untyped]
from sklearn.neighbors import NearestNeighbors  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

SILHOUETTE_SAMPLE = 2_000
AGGLOMERATIVE_SAMPLE = 3_000
SELECTION_SAMPLE = 3_000
# Two segments say little a seller can act on, so k starts at 3.
K_RANGE = range(3, 9)
# Repeat purchases a shop needs before its buyers' recency is judged by its rhythm.
MIN_RHYTHM_GAPS = 30


class Algorithm(Enum):
    KMEANS = "kmeans"
    DBSCAN = "dbscan"
    AGGLOMERATIVE = "agglomerative"


# Prototype (recency score, frequency score, monetary score); 1 = most recent/frequent/spent.
NAMES: dict[str, tuple[tuple[float, float, float], str]] = {
    "Champions": ((0.85, 0.9, 0.9), "Bought recently, buy often and spend the most."),
    "Loyal": ((0.6, 0.8, 0.7), "Buy regularly and spend well; not the most recent."),
    "Potential loyalists": ((0.8, 0.55, 0.55), "Recent buyers with a second order or more."),
    "New": ((0.9, 0.1, 0.3), "First order, very recently."),
    "Promising": ((0.7, 0.2, 0.6), "Recent single orders of good value."),
    "Need attention": ((0.5, 0.45, 0.45), "Average on every count, drifting."),
    "At risk": ((0.2, 0.7, 0.7), "Used to buy often and spend well, but not for a long time."),
    "Can't lose them": ((0.1, 0.9, 0.95), "Big, frequent buyers who have gone quiet."),
    "Hibernating": ((0.25, 0.25, 0.3), "Last bought long ago, rarely and little."),
    "Lost": ((0.05, 0.05, 0.1), "One small order, very long ago."),
}


@dataclass(frozen=True)
class SegmentProfile:
    segment_id: int
    name: str
    description: str
    buyers: int
    revenue_share: float
    median_recency_days: float
    median_frequency: float
    median_monetary_minor: int
    sample_buyer_ids: list[str]


@dataclass(frozen=True)
class Segmentation:
    algorithm: Algorithm
    silhouette: float
    segments: list[SegmentProfile]
    computed_at: pd.Timestamp
    labels: dict[str, int]


def rfm_table(paid_lines: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """Per buyer: days since the last order, number of orders, money spent (minor units)."""
    lines = paid_lines[paid_lines["buyer_id"] != ""]
    grouped = lines.groupby("buyer_id")
    table = pd.DataFrame(
        {
            "recency_days": (now - grouped["occurred_at"].max()).dt.total_seconds() / 86_400,
            "frequency": grouped["order_id"].nunique(),
            "monetary": grouped["paid_minor"].sum().astype(float),
        }
    )
    return table.clip(lower=0)


def repeat_gaps(paid_lines: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Days between each repeat buyer's consecutive paid orders: the shop's buying rhythm."""
    lines = paid_lines[paid_lines["buyer_id"] != ""]
    orders = lines.groupby(["buyer_id", "order_id"])["occurred_at"].min().reset_index()
    orders = orders.sort_values(["buyer_id", "occurred_at"])
    gaps = orders.groupby("buyer_id")["occurred_at"].diff().dt.total_seconds() / 86_400
    return np.sort(gaps.dropna().to_numpy(float))


def recency_scores(recency_days: pd.Series, gaps: npt.NDArray[np.float64]) -> pd.Series:
    """1 = most recent. Against the shop's buying rhythm: the share of its repeat purchases that
    came after a longer wait than the buyer's, so a buyer is recent while a return is still
    usual, whatever most buyers did. A shop of one-off buyers (fewer than MIN_RHYTHM_GAPS gaps)
    has no rhythm to go by: its buyers are ranked among themselves."""
    if len(gaps) < MIN_RHYTHM_GAPS:
        return 1.0 - recency_days.rank(pct=True)
    waited_longer = len(gaps) - np.searchsorted(gaps, recency_days.to_numpy(float), side="right")
    return pd.Series(waited_longer / len(gaps), index=recency_days.index)


def _features(table: pd.DataFrame) -> npt.NDArray[np.float64]:
    raw = np.log1p(table[["recency_days", "frequency", "monetary"]].to_numpy(float))
    return np.asarray(StandardScaler().fit_transform(raw))


def _silhouette(x: npt.NDArray[np.float64], labels: npt.NDArray[np.int64], seed: int) -> float:
    clustered = labels >= 0
    if len(set(labels[clustered].tolist())) < 2:
        return 0.0
    size = min(SILHOUETTE_SAMPLE, int(clustered.sum()))
    return float(
        silhouette_score(x[clustered], labels[clustered], sample_size=size, random_state=seed)
    )


def _kmeans(x: npt.NDArray[np.float64], seed: int) -> npt.NDArray[np.int64]:
    # k is chosen on a sample (silhouette is quadratic), then the final fit sees every buyer.
    rng = np.random.default_rng(seed)
    sample = x[rng.choice(len(x), size=min(SELECTION_SAMPLE, len(x)), replace=False)]
    best: tuple[float, int] | None = None
    for k in K_RANGE:
        if k >= len(sample):
            break
        labels = KMeans(n_clusters=k, n_init=2, random_state=seed).fit_predict(sample)
        score = _silhouette(sample, labels, seed)
        if best is None or score > best[0]:
            best = (score, k)
    k = best[1] if best is not None else min(2, len(x))
    return np.asarray(KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(x))


def _dbscan(x: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    # eps from the k-distance curve: the 90th percentile of each point's k-th neighbour distance;
    # k grows with the shop so that a segment is a real group, not a handful of buyers.
    min_samples = max(6, len(x) // 400)
    distances, _ = NearestNeighbors(n_neighbors=min_samples).fit(x).kneighbors(x)
    eps = float(np.quantile(distances[:, -1], 0.9))
    return np.asarray(DBSCAN(eps=max(eps, 1e-6), min_samples=min_samples).fit_predict(x))


def _agglomerative(x: npt.NDArray[np.float64], seed: int) -> npt.NDArray[np.int64]:
    # Ward needs O(n^2) memory: cluster a sample, then give every buyer its nearest centroid.
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(x), size=min(AGGLOMERATIVE_SAMPLE, len(x)), replace=False)
    best: tuple[float, npt.NDArray[np.int64]] | None = None
    for k in K_RANGE:
        if k >= len(sample):
            break
        labels = AgglomerativeClustering(n_clusters=k).fit_predict(x[sample])
        score = _silhouette(x[sample], labels, seed)
        if best is None or score > best[0]:
            best = (score, labels)
    assert best is not None
    centroids = np.array([x[sample][best[1] == c].mean(axis=0) for c in np.unique(best[1])])
    return np.asarray(((x[:, None, :] - centroids[None]) ** 2).sum(axis=2).argmin(axis=1))


def _name(profiles: pd.DataFrame) -> list[tuple[str, str]]:
    """Name each profile (rows with r, f, m percentile scores) by one-to-one assignment."""
    # More segments than names (DBSCAN can find many): names repeat, numbered.
    rounds = -(-len(profiles) // len(NAMES))
    names = [n if r == 0 else f"{n} {r + 1}" for r in range(rounds) for n in NAMES]
    prototypes = np.array([NAMES[n.rstrip(" 0123456789")][0] for n in names])
    scores = profiles[["r", "f", "m"]].to_numpy(float)
    cost = ((scores[:, None, :] - prototypes[None]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    chosen = dict(zip(rows.tolist(), cols.tolist(), strict=True))
    return [
        (names[chosen[i]], NAMES[names[chosen[i]].rstrip(" 0123456789")][1])
        for i in range(len(profiles))
    ]


def segment_buyers(
    paid_lines: pd.DataFrame,
    now: pd.Timestamp,
    algorithm: Algorithm = Algorithm.KMEANS,
    seed: int = 7,
    samples: int = 5,
) -> Segmentation:
    """Cluster the buyers of `paid_lines` and describe each cluster. Needs at least 20 buyers
    (the caller checks, to say so precisely)."""
    table = rfm_table(paid_lines, now)
    x = _features(table)
    if algorithm is Algorithm.KMEANS:
        labels = _kmeans(x, seed)
    elif algorithm is Algorithm.DBSCAN:
        labels = _dbscan(x)
    else:
        labels = _agglomerative(x, seed)
    silhouette = _silhouette(x, labels, seed)
    # DBSCAN's noise points are kept as their own segment: they are buyers too.
    table["segment"] = np.where(labels >= 0, labels, labels.max() + 1)
    # Scores in 0-1, high = good: recency against the shop's rhythm; frequency as the share of
    # buyers with fewer orders (most buyers of a shop bought once: a percentile averaged over
    # that tie put them mid-table, named like repeat buyers); money as a percentile.
    table["r"] = recency_scores(table["recency_days"], repeat_gaps(paid_lines))
    table["f"] = (table["frequency"].rank(method="min") - 1) / len(table)
    table["m"] = table["monetary"].rank(pct=True)
    grouped = table.groupby("segment")
    profiles = grouped[["r", "f", "m"]].mean()
    named = _name(profiles)
    total = float(table["monetary"].sum()) or 1.0
    segments = []
    for position, (segment, members) in enumerate(grouped):
        name, description = named[position]
        segments.append(
            SegmentProfile(
                segment_id=int(str(segment)),
                name=name,
                description=description,
                buyers=len(members),
                revenue_share=float(members["monetary"].sum()) / total,
                median_recency_days=float(members["recency_days"].median()),
                median_frequency=float(members["frequency"].median()),
                median_monetary_minor=int(members["monetary"].median()),
                sample_buyer_ids=sorted(members.index)[:samples],
            )
        )
    segments.sort(key=lambda s: -s.revenue_share)
    return Segmentation(
        algorithm=algorithm,
        silhouette=silhouette,
        segments=segments,
        computed_at=now,
        labels={str(b): int(s) for b, s in table["segment"].items()},
    )
