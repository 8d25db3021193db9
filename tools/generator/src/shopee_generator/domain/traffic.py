"""The funnel a day's visits go through, drawn with numpy in bulk.

Visit -> (page views) -> product views -> add to cart -> checkout start. Whether a viewer adds a
product to the cart follows the product's true demand curve: the chance is proportional to
(price paid / base price) ** elasticity, so units sold per product view carry the elasticity.

Shoppers have tastes: everyone but bots has a favourite cell of the catalogue (a category and a
price band: budget, mid or premium within the category), fixed for life by their key, and draws
TASTE_SHARE of their product views from the popularity of that cell alone. Favourites are given
in proportion to the cells' shares of popularity, so on average the shop's product mix is
unchanged; it is spread over buyers differently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from shopee.events.v1 import events_pb2
from shopee_generator.domain.records import Record, fill_traffic
from shopee_generator.domain.shop import Shop
from shopee_generator.domain.visits import BOT, LIVE, DayPlan, FloatArray, IntArray, Sessions

# Chance that one product view ends in the cart, at the base price, for an organic visitor.
ATC_PER_VIEW = 0.06
# By visit kind: organic, returning, ads, live stream, bot (see visits.py).
ATC_BY_KIND = np.array([1.0, 2.2, 0.8, 1.6, 0.0])
CHECKOUT_AFTER_CART = 0.58
# Share of a shopper's product views drawn from their favourite cell (the rest from the whole
# shop's popularity). Shoppers in one shop mostly look for one kind of thing; at 0.5 a median
# buyer's two visits hardly tell their taste from chance.
TASTE_SHARE = 0.75
_QUANTITIES = np.array([1, 2, 3])
_QUANTITY_ODDS = np.array([0.82, 0.13, 0.05])


@dataclass
class Basket:
    session: int
    checkout_at: int
    # (product index, quantity, unit price minor, discount percent, campaign id)
    lines: list[tuple[int, int, int, float, str]] = field(default_factory=list)


def _discounts(
    plan: DayPlan, product: IntArray, when: IntArray, is_live: npt.NDArray[np.bool_]
) -> tuple[FloatArray, list[str]]:
    """Discount percent on each product view, and the campaign that gives it ("" if none)."""
    percent = np.zeros(len(product))
    winner = np.full(len(product), -1)
    priced = [c for c in plan.campaigns if c.product_indices]
    for number, campaign in enumerate(priced):
        mask = (
            np.isin(product, campaign.product_indices)
            & (when >= campaign.starts_ms - plan.midnight_ms)
            & (when < campaign.ends_ms - plan.midnight_ms)
            & (percent < campaign.discount_percent)
        )
        if campaign.live_only:
            mask &= is_live
        percent[mask] = campaign.discount_percent
        winner[mask] = number
    ids = [priced[w].campaign_id if w >= 0 else "" for w in winner.tolist()]
    return percent, ids


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: a cheap integer hash whose output bits look uniform."""
    mixed = values + np.uint64(0x9E3779B97F4A7C15)
    mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return mixed ^ (mixed >> np.uint64(31))


def price_bands(shop: Shop) -> IntArray:
    """Budget (0), mid (1) or premium (2): the tercile of each product's base price within its
    category (within the shop when the category has fewer than 3 products)."""
    prices = np.array([p.base_price_minor for p in shop.products], dtype=np.float64)
    categories = np.array([p.category for p in shop.products])
    bands = np.zeros(len(prices), dtype=np.int64)
    for i, (price, category) in enumerate(zip(prices, categories, strict=True)):
        peers = prices[categories == category]
        peers = peers if len(peers) >= 3 else prices
        rank = float((peers < price).mean() + 0.5 * (peers == price).mean())
        bands[i] = min(int(rank * 3), 2)
    return bands


@dataclass(frozen=True)
class TasteCells:
    """Products grouped into taste cells (category x price band), and where each cell's share
    of the shop's popularity lies in [0, 1]."""

    cell_of: IntArray  # by product index: its cell
    products: IntArray  # product indices, grouped by cell
    cumulative: FloatArray  # cumulative popularity share along `products`
    low: FloatArray  # by cell: share of popularity before it
    high: FloatArray  # by cell: low + its own share

    @classmethod
    @lru_cache(maxsize=32)
    def of(cls, shop: Shop) -> TasteCells:
        """The shop's cells (cached: a shop is immutable)."""
        bands = price_bands(shop).tolist()
        labels = [f"{p.category}|{band}" for p, band in zip(shop.products, bands, strict=True)]
        names = sorted(set(labels))
        cell = np.array([names.index(label) for label in labels])
        popularity = np.array([p.popularity for p in shop.products])
        order = np.argsort(cell, kind="stable")
        cumulative = np.cumsum(popularity[order]) / popularity.sum()
        high = np.array([cumulative[cell[order] == c][-1] for c in range(len(names))])
        return cls(cell, order, cumulative, np.concatenate([[0.0], high[:-1]]), high)


def favourite_cells(cells: TasteCells, shop: Shop, buyer_keys: IntArray) -> IntArray:
    """Each person's favourite taste cell, a pure function of their key and the shop; a cell is
    the favourite of a share of people equal to its share of the shop's popularity."""
    hashed = _mix(buyer_keys.astype(np.uint64) * np.uint64(1_000_003) + np.uint64(shop.index))
    uniform = (hashed >> np.uint64(11)).astype(np.float64) / float(2**53)
    return np.minimum(np.searchsorted(cells.high, uniform, side="right"), len(cells.high) - 1)


def _taste_views(
    shop: Shop, buyer_keys: IntArray, taste_rng: np.random.Generator
) -> tuple[npt.NDArray[np.bool_], IntArray]:
    """Which views follow the viewer's taste (a key >= 0, TASTE_SHARE of their views), and the
    products drawn for those from the popularity of the viewer's favourite cell."""
    tasted = (buyer_keys >= 0) & (taste_rng.random(len(buyer_keys)) < TASTE_SHARE)
    cells = TasteCells.of(shop)
    favourite = favourite_cells(cells, shop, buyer_keys[tasted])
    low, high = cells.low[favourite], cells.high[favourite]
    point = low + taste_rng.random(len(favourite)) * (high - low)
    position = np.searchsorted(cells.cumulative, point, side="right")
    return tasted, cells.products[np.minimum(position, len(cells.products) - 1)]


def browse(
    shop: Shop,
    plan: DayPlan,
    sessions: Sessions,
    rng: np.random.Generator,
    taste_rng: np.random.Generator,
    records: list[Record],
    session_prefix: str,
) -> list[Basket]:
    """Page views, product views, add-to-carts and checkout starts; returns the checkouts.

    `taste_rng` draws the views that follow buyers' tastes, apart from `rng`, so adding tastes
    left the day's other draws (visits, times, carts) as they were."""
    n = len(sessions.start)
    if n == 0:
        return []
    is_bot = sessions.kind == BOT
    page_views = np.where(is_bot, rng.integers(1, 4, n), (rng.random(n) < 0.35).astype(np.int64))
    product_views = np.where(is_bot, rng.integers(1, 5, n), np.minimum(rng.geometric(0.68, n), 6))
    steps = page_views + product_views
    owner = np.repeat(np.arange(n), steps)
    gaps = rng.exponential(1.0, len(owner)) * np.repeat(np.where(is_bot, 2_000.0, 40_000.0), steps)
    elapsed = np.cumsum(gaps)
    first = np.concatenate([[0], np.cumsum(steps)[:-1]])
    when = sessions.start[owner] + (elapsed - np.repeat(elapsed[first], steps)).astype(np.int64)
    is_page = (np.arange(len(owner)) - np.repeat(first, steps)) < np.repeat(page_views, steps)

    popularity = np.array([p.popularity for p in shop.products])
    product = rng.choice(len(popularity), size=len(owner), p=popularity / popularity.sum())
    tasted, favourite_products = _taste_views(shop, sessions.buyer_key[owner], taste_rng)
    product[tasted] = favourite_products
    is_live = sessions.kind[owner] == LIVE
    for campaign in plan.campaigns:
        featured = np.asarray(campaign.product_indices)
        if not len(featured) or campaign.double_date:
            continue
        inside = (when >= campaign.starts_ms - plan.midnight_ms) & (
            when < campaign.ends_ms - plan.midnight_ms
        )
        drawn = inside & (rng.random(len(owner)) < (0.6 if campaign.live_only else 0.35))
        if campaign.live_only:
            drawn &= is_live
        product[drawn] = featured[rng.integers(0, len(featured), int(drawn.sum()))]

    price = np.where(
        when < plan.price_change_at[product], plan.price_before[product], plan.price_after[product]
    )
    percent, campaign_ids = _discounts(plan, product, when, is_live)
    base = np.array([p.base_price_minor for p in shop.products], dtype=np.float64)
    elasticity = np.array([p.elasticity for p in shop.products])
    ratio = price * (1 - percent / 100) / base[product]
    chance = ATC_PER_VIEW * ATC_BY_KIND[sessions.kind[owner]] * ratio ** elasticity[product]
    if plan.double_date:
        chance *= 1.2
    available = (when >= plan.available_from[product]) & (when < plan.available_until[product])
    to_cart = ~is_page & available & (rng.random(len(owner)) < np.minimum(chance, 0.9))
    cart_at = when + (rng.exponential(15_000.0, len(owner)) + 3_000).astype(np.int64)
    quantity = _QUANTITIES[rng.choice(3, size=len(owner), p=_QUANTITY_ODDS)]

    pages = _pages(shop, plan)
    page_pick = rng.integers(0, len(pages), len(owner)).tolist()
    session_ids = [f"{session_prefix}{i:05d}" for i in range(n)]
    visitor_ids = sessions.visitor_ids
    source = sessions.source.tolist()
    channel = sessions.channel.tolist()
    product_ids = [p.product_id for p in shop.products]
    midnight = plan.midnight_ms
    append = records.append
    page_kind, view_kind, cart_kind = (
        events_pb2.TRAFFIC_KIND_PAGE_VIEW,
        events_pb2.TRAFFIC_KIND_PRODUCT_VIEW,
        events_pb2.TRAFFIC_KIND_ADD_TO_CART,
    )
    baskets: dict[int, Basket] = {}
    for i, (s, t, page, p, cart) in enumerate(
        zip(
            owner.tolist(),
            when.tolist(),
            is_page.tolist(),
            product.tolist(),
            to_cart.tolist(),
            strict=True,
        )
    ):
        if page:
            append(
                (
                    midnight + t,
                    fill_traffic,
                    (
                        page_kind,
                        session_ids[s],
                        visitor_ids[s],
                        source[s],
                        "",
                        pages[page_pick[i]],
                        0,
                        channel[s],
                    ),
                )
            )
            continue
        append(
            (
                midnight + t,
                fill_traffic,
                (
                    view_kind,
                    session_ids[s],
                    visitor_ids[s],
                    source[s],
                    product_ids[p],
                    "",
                    0,
                    channel[s],
                ),
            )
        )
        if cart:
            at = int(cart_at[i])
            qty = int(quantity[i])
            append(
                (
                    midnight + at,
                    fill_traffic,
                    (
                        cart_kind,
                        session_ids[s],
                        visitor_ids[s],
                        source[s],
                        product_ids[p],
                        "",
                        qty,
                        channel[s],
                    ),
                )
            )
            basket = baskets.setdefault(s, Basket(s, at))
            basket.checkout_at = max(basket.checkout_at, at)
            if all(line[0] != p for line in basket.lines):
                basket.lines.append((p, qty, int(price[i]), float(percent[i]), campaign_ids[i]))

    go_on = (
        CHECKOUT_AFTER_CART
        * (1.1 if plan.voucher_active else 1.0)
        * (1.08 if plan.double_date else 1.0)
    )
    checkouts = []
    for s, basket in baskets.items():
        if rng.random() >= go_on:
            continue
        basket.checkout_at += int(rng.exponential(60_000.0)) + 10_000
        first_line = basket.lines[0]
        append(
            (
                midnight + basket.checkout_at,
                fill_traffic,
                (
                    events_pb2.TRAFFIC_KIND_CHECKOUT_START,
                    session_ids[s],
                    visitor_ids[s],
                    source[s],
                    product_ids[first_line[0]],
                    "",
                    sum(line[1] for line in basket.lines),
                    channel[s],
                ),
            )
        )
        checkouts.append(basket)
    return sorted(checkouts, key=lambda b: b.checkout_at)


def _pages(shop: Shop, plan: DayPlan) -> list[str]:
    categories = sorted({p.category for p in shop.products})
    pages = ["/shop/home", "/shop/home", "/shop/home", "/shop/vouchers"]
    pages += [
        f"/shop/category/{c.lower().replace(' ', '-').replace('&', 'and')}" for c in categories
    ]
    pages += [f"/campaign/{c.campaign_id}" for c in plan.campaigns]
    return pages
