"""Recommendations: implicit ALS and item-to-item similarity for known buyers, "bought
together" for a product, and a category and price-band popularity fallback for anyone or
anything the model has not seen.

A known buyer's score blends three standardised signals: ALS affinity, item-to-item (the cosine
similarity of products' buyer sets, summed over the buyer's own history) and popularity; the two
weights are chosen on a validation split (training.fit_blended).

Filters: only products in stock and active, by the catalogue state at request time
(`with_current_catalog`); nothing the buyer already bought unless the product is consumable (its
category is bought again by the same buyers often enough, see `consumables`).
Each item carries its reason: the bought product whose ALS item vector is closest to it.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from shopee_insights.domain.interactions import as_index

FloatArray = npt.NDArray[np.float64]
PRICE_BANDS = ("budget", "mid", "premium")
# Neighbours kept per product in the item-to-item similarity (keeps it sparse for big catalogues).
NEIGHBOURS = 50
# A product without a status is taken as active.
ACTIVE_STATUSES = ("", "PRODUCT_STATUS_ACTIVE")


@dataclass(frozen=True)
class AlsParameters:
    factors: int = 32
    regularization: float = 0.05
    alpha: float = 2.0
    iterations: int = 15
    seed: int = 7


@dataclass(frozen=True)
class Suggestion:
    product_id: str
    score: float
    reason: str
    because_product_id: str = ""


@dataclass
class Recommender:
    """A fitted recommender of one shop; plain numpy inside so it pickles small and loads fast."""

    product_ids: list[str]
    buyer_index: dict[str, int]
    user_factors: FloatArray
    item_factors: FloatArray
    purchased: sp.csr_matrix
    together: sp.csr_matrix
    popularity: FloatArray
    names: list[str]
    categories: list[str]
    price_bands: list[str]
    available: npt.NDArray[np.bool_]
    consumable: npt.NDArray[np.bool_]
    # Buyers x products confidence (log-damped interaction weights), and product x product
    # cosine similarity of their buyer sets (top NEIGHBOURS per product).
    history: sp.csr_matrix
    item_similarity: sp.csr_matrix
    # Weight of the popularity prior in a buyer's score (0 = personal signals alone), and of
    # ALS within the personal part (1 = ALS alone, 0 = item-to-item alone); chosen on validation.
    popularity_weight: float = 0.0
    als_weight: float = 1.0
    product_index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.product_index = {p: i for i, p in enumerate(self.product_ids)}

    def knows_buyer(self, buyer_id: str) -> bool:
        return buyer_id in self.buyer_index

    def with_current_catalog(self, changes: pd.DataFrame) -> Recommender:
        """This recommender with the products in `changes` (their catalogue state since training,
        columns stock and status) in or out of stock as they are now. The fitted parts are
        shared, not copied; the cached model itself is left as trained."""
        known = [p for p in changes.index if p in self.product_index]
        if not known:
            return self
        current = copy.copy(self)
        current.available = self.available.copy()
        rows = changes.loc[known]
        items = [self.product_index[p] for p in known]
        current.available[items] = sellable(rows["stock"], rows["status"]).to_numpy(bool)
        return current

    def _allowed(
        self, bought: npt.NDArray[np.int64], only_available: bool
    ) -> npt.NDArray[np.bool_]:
        allowed = self.available.copy() if only_available else np.ones(len(self.product_ids), bool)
        repeatable = self.consumable[bought]
        allowed[bought[~repeatable]] = False
        return allowed

    def for_buyer(self, buyer_id: str, limit: int, only_available: bool = True) -> list[Suggestion]:
        """ALS scores for a known buyer, filtered, each with the bought product behind it."""
        row = self.buyer_index[buyer_id]
        bought = self.purchased.indices[self.purchased.indptr[row] : self.purchased.indptr[row + 1]]
        bought = bought.astype(np.int64)
        scores = self.personal_scores(row)
        scores = np.where(self._allowed(bought, only_available), scores, -np.inf)
        picked = _top(scores, limit)
        similarity = self.item_similarity[picked][:, bought].toarray() if len(bought) else None
        out = []
        for rank, item in enumerate(picked):
            if similarity is not None:
                anchor = int(bought[int(np.argmax(similarity[rank]))])
                reason = f"because you bought {self.names[anchor]}"
                because = self.product_ids[anchor]
            else:
                reason, because = "because of what you viewed and added to your cart", ""
            out.append(Suggestion(self.product_ids[item], float(scores[item]), reason, because))
        return out

    def personal_scores(self, row: int) -> FloatArray:
        """ALS affinity and item-to-item scores blended with log popularity, each standardised
        over the catalogue."""
        affinity = _standardise(self.item_factors @ self.user_factors[row])
        if self.als_weight < 1.0:
            neighbours = np.asarray((self.history[row] @ self.item_similarity).todense()).ravel()
            affinity = self.als_weight * affinity + (1.0 - self.als_weight) * _standardise(
                neighbours.astype(np.float64)
            )
        if self.popularity_weight == 0.0:
            return affinity
        prior = _standardise(np.log1p(self.popularity))
        return (1.0 - self.popularity_weight) * affinity + self.popularity_weight * prior

    def rank_for_buyer(self, buyer_id: str, limit: int) -> list[str]:
        """Product ids only, without the stock filter (offline evaluation)."""
        return [s.product_id for s in self.for_buyer(buyer_id, limit, only_available=False)]

    def bought_together(self, product_id: str, limit: int) -> list[Suggestion]:
        """Products most often in the same orders as this one, topped up by its category and
        price band when it has too few co-purchases (a new product)."""
        item = self.product_index[product_id]
        counts = self.together.getrow(item).toarray().ravel().astype(float)
        # Lift over popularity, so the best sellers do not top every list.
        scores = counts / np.sqrt(np.maximum(self.popularity, 1.0))
        scores[item] = 0.0
        scores = np.where(self.available & (counts > 0), scores, -np.inf)
        picked = _top(scores, limit)
        name = self.names[item]
        out = [
            Suggestion(
                self.product_ids[i],
                float(scores[i]),
                f"bought together with {name} in {int(counts[i])} orders",
                product_id,
            )
            for i in picked
        ]
        if len(out) < limit:
            taken = {s.product_id for s in out} | {product_id}
            fill = self.cold_start(limit, self.categories[item], self.price_bands[item])
            out += [s for s in fill if s.product_id not in taken][: limit - len(out)]
        return out

    def cold_start(
        self, limit: int, category: str | None = None, price_band: str | None = None
    ) -> list[Suggestion]:
        """Popular products of a category and price band; with neither, the most popular of each
        category and band in turn, so an unknown buyer sees the breadth of the shop."""
        order = np.argsort(-self.popularity, kind="stable")
        order = order[self.available[order]]
        if category is not None:
            same = np.array([self.categories[i] == category for i in order], dtype=bool)
            band = np.array([self.price_bands[i] == price_band for i in order], dtype=bool)
            # Masks keep this linear in the catalogue: it runs inside a Recommend call.
            grouped = np.concatenate([order[same & band], order[same & ~band], order[~same]])
            ranked = grouped[:limit].tolist()
        else:
            ranked = _round_robin(order.tolist(), self.categories, self.price_bands, limit)
        return [
            Suggestion(
                self.product_ids[i],
                float(self.popularity[i]),
                f"popular in {self.categories[i] or 'this shop'}, {self.price_bands[i]} price band",
            )
            for i in ranked
        ]


def sellable(stock: pd.Series, status: pd.Series) -> pd.Series:
    """In stock and active."""
    return (stock.fillna(0) > 0) & status.fillna("").isin(ACTIVE_STATUSES)


def _standardise(values: FloatArray) -> FloatArray:
    spread = float(values.std())
    centred = np.asarray(values - values.mean(), dtype=np.float64)
    return centred / spread if spread > 0 else centred


def _top(scores: FloatArray, limit: int) -> list[int]:
    finite = np.flatnonzero(np.isfinite(scores))
    if len(finite) > limit:
        finite = finite[np.argpartition(-scores[finite], limit - 1)[:limit]]
    return [int(i) for i in finite[np.argsort(-scores[finite], kind="stable")]]


def _round_robin(
    order: list[int], categories: list[str], bands: list[str], limit: int
) -> list[int]:
    """The first `limit` of `order` taking one from each (category, band) in turn."""
    queues: dict[tuple[str, str], deque[int]] = {}
    for i in order:
        queues.setdefault((categories[i], bands[i]), deque()).append(i)
    ranked: list[int] = []
    turn = list(queues.values())
    while turn and len(ranked) < limit:
        ranked += [queue.popleft() for queue in turn]
        turn = [queue for queue in turn if queue]
    return ranked[:limit]


def price_bands(prices: pd.Series, categories: pd.Series) -> list[str]:
    """Budget, mid or premium: the price's tercile within its category (whole shop if small)."""
    bands: list[str] = []
    for price, category in zip(prices.to_numpy(float), categories.to_numpy(), strict=True):
        peers = prices[categories.to_numpy() == category]
        peers = peers if len(peers) >= 3 else prices
        rank = float((peers < price).mean() + 0.5 * (peers == price).mean())
        bands.append(PRICE_BANDS[min(int(rank * 3), 2)])
    return bands


def consumables(
    purchases: pd.DataFrame, categories: pd.Series, min_rate: float, min_buyers: int
) -> set[str]:
    """Categories bought again: of the buyers who bought a product of the category, the share
    who bought that same product in two or more orders reaches `min_rate` (with at least
    `min_buyers` buyers, so a thin category is not called consumable by chance)."""
    orders = purchases.drop_duplicates(["buyer_id", "product_id", "order_id"])
    per_pair = orders.groupby(["buyer_id", "product_id"]).size().rename("orders").reset_index()
    per_pair["category"] = per_pair["product_id"].map(categories).fillna("")
    per_buyer = per_pair.groupby(["category", "buyer_id"])["orders"].max().reset_index()
    stats = per_buyer.groupby("category")["orders"].agg(
        buyers="size", repeat_rate=lambda s: float((s >= 2).mean())
    )
    chosen = stats[(stats["buyers"] >= min_buyers) & (stats["repeat_rate"] >= min_rate)]
    return {str(c) for c in chosen.index}


def item_cosine(history: sp.csr_matrix, neighbours: int = NEIGHBOURS) -> sp.csr_matrix:
    """Product x product cosine similarity of the sets of buyers who interacted with each,
    keeping each product's `neighbours` most similar (item-to-item collaborative filtering)."""
    touched = history.copy()
    touched.data[:] = 1.0
    together = (touched.T @ touched).tocsr().astype(np.float64)
    counts = np.asarray(touched.sum(axis=0)).ravel()
    norms = np.sqrt(np.maximum(counts, 1.0))
    together = sp.diags(1.0 / norms) @ together @ sp.diags(1.0 / norms)
    together = sp.csr_matrix(together)
    together.setdiag(0)
    together.eliminate_zeros()
    if together.shape[0] == 0:
        return together
    rows, cols, values = [], [], []
    for item in range(together.shape[0]):
        start, end = together.indptr[item], together.indptr[item + 1]
        keep = np.argsort(-together.data[start:end], kind="stable")[:neighbours]
        rows.append(np.full(len(keep), item))
        cols.append(together.indices[start:end][keep])
        values.append(together.data[start:end][keep])
    return sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=together.shape,
    )


def fit_als(matrix: sp.csr_matrix, params: AlsParameters) -> tuple[FloatArray, FloatArray]:
    """User and item factors of implicit's ALS on a buyers x products confidence matrix."""
    from implicit.cpu.als import AlternatingLeastSquares  # type: ignore[import-untyped]

    # implicit runs its own threads; a multi-threaded BLAS underneath only oversubscribes.
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=params.factors,
            regularization=params.regularization,
            alpha=params.alpha,
            iterations=params.iterations,
            random_state=params.seed,
        )
        model.fit(matrix, show_progress=False)
    return np.asarray(model.user_factors), np.asarray(model.item_factors)


def fit_recommender(
    interactions: pd.DataFrame,
    products: pd.DataFrame,
    params: AlsParameters,
    consumable_min_rate: float = 0.15,
    consumable_min_buyers: int = 30,
    popularity_weight: float = 0.0,
    als_weight: float = 1.0,
) -> Recommender:
    """Fit ALS, co-purchases and popularity on interactions; `products` is the catalogue
    (indexed by product_id, with name, category, price_minor, stock, status)."""
    known = pd.Index(products.index).union(pd.Index(interactions["product_id"].unique()))
    catalog = products.reindex(known)
    catalog["name"] = catalog["name"].fillna(pd.Series(known, index=known))
    catalog["category"] = catalog["category"].fillna("")
    catalog["price_minor"] = catalog["price_minor"].fillna(0)
    product_ids = [str(p) for p in known]
    item_of = {p: i for i, p in enumerate(product_ids)}
    items = interactions["product_id"].map(item_of).to_numpy(np.int64)
    users, buyers = as_index(interactions["buyer_id"])
    shape = (len(buyers), len(product_ids))
    weights = sp.csr_matrix((interactions["weight"].to_numpy(float), (users, items)), shape=shape)
    weights.sum_duplicates()
    # Diminishing returns: the 20th view of a product says little more than the 5th.
    weights.data = np.log1p(weights.data)
    user_factors, item_factors = fit_als(weights, params)

    bought = interactions["purchase"].to_numpy(bool)
    purchased = sp.csr_matrix(
        (np.ones(int(bought.sum())), (users[bought], items[bought])), shape=shape
    )
    purchased.sum_duplicates()
    purchases = interactions[bought]
    baskets, _ = as_index(purchases["order_id"])
    basket_items = sp.csr_matrix(
        (np.ones(len(purchases)), (baskets, items[bought])),
        shape=(int(baskets.max()) + 1 if len(baskets) else 0, len(product_ids)),
    )
    basket_items.data[:] = 1.0
    together = (basket_items.T @ basket_items).tocsr()
    together.setdiag(0)
    together.eliminate_zeros()
    popularity = np.bincount(items[bought], minlength=len(product_ids)).astype(float)
    repeat = consumables(purchases, catalog["category"], consumable_min_rate, consumable_min_buyers)
    stock = catalog.get("stock", pd.Series(1, index=known))
    status = catalog.get("status", pd.Series("", index=known))
    return Recommender(
        product_ids=product_ids,
        buyer_index={b: i for i, b in enumerate(buyers)},
        user_factors=user_factors,
        item_factors=item_factors,
        purchased=purchased,
        together=together,
        popularity=popularity,
        names=[str(n) for n in catalog["name"]],
        categories=[str(c) for c in catalog["category"]],
        price_bands=price_bands(catalog["price_minor"].astype(float), catalog["category"]),
        available=sellable(stock, status).to_numpy(bool),
        consumable=catalog["category"].isin(repeat).to_numpy(bool),
        history=weights,
        item_similarity=item_cosine(weights),
        popularity_weight=popularity_weight,
        als_weight=als_weight,
    )


def evaluate_rankings(
    recommender: Recommender, relevant: dict[str, set[str]], k: int = 10
) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, set[str]]]:
    """Model and popularity top-k lists for the test buyers, with the same filter (nothing
    already bought unless consumable) applied to both and to the relevant sets."""
    model_lists: dict[str, list[str]] = {}
    excluded: dict[str, set[str]] = {}
    for buyer in relevant:
        if not recommender.knows_buyer(buyer):
            continue
        row = recommender.buyer_index[buyer]
        bought = recommender.purchased.indices[
            recommender.purchased.indptr[row] : recommender.purchased.indptr[row + 1]
        ]
        excluded[buyer] = {
            recommender.product_ids[i] for i in bought if not recommender.consumable[i]
        }
        model_lists[buyer] = recommender.rank_for_buyer(buyer, k)
    order = [recommender.product_ids[i] for i in np.argsort(-recommender.popularity, kind="stable")]
    popular = {b: [p for p in order if p not in excluded[b]][:k] for b in model_lists}
    wanted = {b: relevant[b] - excluded[b] for b in model_lists}
    return model_lists, popular, {b: p for b, p in wanted.items() if p}
