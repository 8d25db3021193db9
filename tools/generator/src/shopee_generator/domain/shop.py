"""A demo shop: where it sells, its catalogue, its ads channels and how its staff answer chats."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from shopee.events.v1 import events_pb2
from shopee_generator.domain.markets import MARKETS, Market
from shopee_generator.domain.seeds import Stream, rng_for

# Organic visits of an average shop on an ordinary day, at --scale 1.
BASE_DAILY_VISITS = 220.0
MIN_ELASTICITY = -3.0
MAX_ELASTICITY = -0.5


@dataclass(frozen=True)
class Product:
    index: int
    product_id: str
    sku: str
    parent_sku: str
    name: str
    category: str
    # The reference price the true demand curve is written against (minor units).
    base_price_minor: int
    cost_minor: int
    # True price elasticity: demand is proportional to (price / base price) ** elasticity.
    elasticity: float
    # Relative share of product views.
    popularity: float
    # Latent quality in [0, 1]: better products get better ratings.
    quality: float


@dataclass(frozen=True)
class AdsChannelModel:
    """Shopee Ads on one channel: visits = max_visits * spend / (spend + half_saturation_spend)."""

    channel: int  # events_pb2.AdsChannel
    name: str
    max_daily_visits: float
    half_saturation_spend_minor: float
    base_daily_budget_minor: float

    def visits(self, spend_minor: float) -> float:
        """Expected ad-driven visits for a day's spend: diminishing returns (a Hill curve)."""
        return (
            self.max_daily_visits * spend_minor / (spend_minor + self.half_saturation_spend_minor)
        )


@dataclass(frozen=True)
class Shop:
    index: int
    shop_id: str
    name: str
    market: Market
    products: tuple[Product, ...]
    ads_channels: tuple[AdsChannelModel, ...]
    # Organic visits on an ordinary day at the start of 2025, already multiplied by --scale.
    base_daily_visits: float
    growth_per_year: float
    # Median seconds to a seller's first chat reply during working hours.
    response_median_seconds: float
    auto_reply: bool

    @property
    def currency(self) -> str:
        return self.market.currency

    @property
    def time_zone(self) -> str:
        return self.market.time_zone


def round_price(amount: float, market: Market) -> float:
    """Round to a price a seller in this market would set (IDR 125.000, MYR 29.90, PHP 299)."""
    if market.price_ending == 0.90:
        return max(0.90, math.floor(amount) + 0.90)
    if market.price_ending == 9:
        return max(9.0, math.floor(amount / 10) * 10 + 9)
    step = market.price_step
    return max(step, round(amount / step) * step)


def to_minor(amount: float) -> int:
    """Major currency units to the contract's minor units (x 100)."""
    return round(amount * 100)


def _build_products(
    shop_index: int, market: Market, count: int, rng: np.random.Generator
) -> tuple[Product, ...]:
    grid = [(t, v) for t in range(len(market.product_types)) for v in range(len(market.variants))]
    picks = rng.permutation(len(grid))
    # Zipf-like popularity: a few best sellers, a long tail.
    popularity = 1.0 / np.arange(1, count + 1) ** 0.9
    rng.shuffle(popularity)
    brand_code = market.brand[:3].upper()
    used_ids: set[str] = set()
    products = []
    for index in range(count):
        type_index, variant_index = grid[int(picks[index % len(grid)])]
        product_type = market.product_types[type_index]
        variant = market.variants[variant_index]
        edition = index // len(grid)
        name = f"{market.brand} {product_type.name} {variant}" + (
            f" V{edition + 1}" if edition else ""
        )
        log_price = rng.uniform(math.log(product_type.min_price), math.log(product_type.max_price))
        price = round_price(math.exp(log_price), market)
        product_id = str(int(rng.integers(10_000_000_000, 99_999_999_999)))
        while product_id in used_ids:
            product_id = str(int(rng.integers(10_000_000_000, 99_999_999_999)))
        used_ids.add(product_id)
        products.append(
            Product(
                index=index,
                product_id=product_id,
                sku=f"{brand_code}-{type_index + 1:02d}{index + 1:03d}-{variant_index + 1}",
                parent_sku=f"{brand_code}-{type_index + 1:02d}",
                name=name,
                category=product_type.category,
                base_price_minor=to_minor(price),
                cost_minor=to_minor(price * rng.uniform(0.35, 0.6)),
                elasticity=round(float(rng.uniform(MIN_ELASTICITY, MAX_ELASTICITY)), 3),
                popularity=float(popularity[index]),
                quality=float(rng.beta(8, 2)),
            )
        )
    return tuple(products)


_ADS = (
    (events_pb2.ADS_CHANNEL_SEARCH, "search", 0.20),
    (events_pb2.ADS_CHANNEL_DISCOVERY, "discovery", 0.12),
    (events_pb2.ADS_CHANNEL_AFFILIATE, "affiliate", 0.07),
    (events_pb2.ADS_CHANNEL_EXTERNAL, "external", 0.05),
)


def build_shop(seed: int, index: int, products_per_shop: int, scale: float) -> Shop:
    """The shop at position `index` (markets cycle after six), reproducible from `seed`."""
    market = MARKETS[index % len(MARKETS)]
    rng = rng_for(seed, Stream.CATALOGUE, index)
    products = _build_products(index, market, products_per_shop, rng)
    typical_price = float(np.median([p.base_price_minor for p in products]))
    base_visits = BASE_DAILY_VISITS * market.size * rng.uniform(0.85, 1.15) * scale
    ads = tuple(
        AdsChannelModel(
            channel=channel,
            name=name,
            max_daily_visits=base_visits * share * rng.uniform(1.6, 2.4),
            # A day's ad budget around a few typical products' price, scaled with traffic.
            half_saturation_spend_minor=typical_price * rng.uniform(1.5, 4.0) * scale,
            base_daily_budget_minor=typical_price * rng.uniform(1.0, 3.0) * scale,
        )
        for channel, name, share in _ADS
    )
    round_ = index // len(MARKETS)
    suffix = f"-{round_ + 1}" if round_ else ""
    return Shop(
        index=index,
        shop_id=f"{market.brand.lower()}-{market.code.lower()}{suffix}",
        name=market.shop_name + (f" {round_ + 1}" if round_ else ""),
        market=market,
        products=products,
        ads_channels=ads,
        base_daily_visits=base_visits,
        growth_per_year=float(rng.uniform(0.12, 0.35)),
        response_median_seconds=float(rng.uniform(90, 900)),
        auto_reply=bool(rng.random() < 0.6),
    )
