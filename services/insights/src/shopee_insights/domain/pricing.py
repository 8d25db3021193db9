"""Price elasticity from a shop's own history, and the profit-maximising price.

The elasticity of units sold is split in two (`price_panel` builds both panels):

    d log(units) / d log(price) = d log(views per unit of traffic) / d log(price)
                                  + d log(add-to-carts per view) / d log(price)

- **Conversion part**: Poisson GLM (log link) of add-to-carts per cell with offset log(views),
  so the coefficient of log(price seen) is the elasticity of carts per view; controls: visitor
  group, campaigns running in the shop (promotion slot, long sale, live stream), marketplace sale
  days, day of week, trend. Prices seen include campaign discounts, so flash sales and sale days
  are price variation, not noise. The products of a shop are fitted together (in blocks of up to
  `MAX_PRODUCTS_PER_FIT`): an intercept and a price slope each, the controls shared. How much
  more a sale day's shoppers buy is then learned from every product, including the ones not
  discounted that day; fitted one product at a time, the sale-day lift of a product discounted
  on every sale day cannot be told apart from its price response (measured on the generator:
  elasticities 14% too steep).
- **Views part**: Poisson GLM of a product's hourly views with offset log(the shop's views that
  hour), log(price on offer), featuring (promotion slot, sale day), day of week and trend.
- The elasticity is their sum; its standard error combines both (the two fits use different
  outcomes). Standard errors are scaled by Pearson chi2/df (quasi-Poisson) for over-dispersion.

Each product's elasticity is then partially pooled with the rest of its shop (random-effects
meta-analysis, DerSimonian-Laird): pulled toward the shop's mean elasticity by as much as its own
standard error is large against the spread of elasticities between the shop's products. A product
measured precisely keeps nearly its own value; a noisy one moves toward its shop's. The product's
own fit is kept beside it (`own_value`, `own_std_error`).

A product with too few add-to-carts or too little price spread borrows its category's elasticity
(both parts fitted pooled, one intercept per product).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import statsmodels.api as sm  # type: ignore[import-untyped]
from scipy import stats  # type: ignore[import-untyped]

from shopee_insights.domain.price_panel import (
    CONVERSION_CONTROLS,
    conversion_panel,
    priced_traffic,
    views_panel,
)
from shopee_insights.domain.shop_data import ShopData

MIN_UNITS = 100
# Products per joint conversion fit: enough to learn the shared controls well, few enough that the
# dense design (two columns per product) stays small for shops with thousands of products.
MAX_PRODUCTS_PER_FIT = 50
MIN_LOG_PRICE_STD = 0.05
SIGNIFICANCE = 0.05
# "Measured to within 20%": the 95% interval of the estimate is inside +-20% of it.
PRECISION_BAND = 0.20
# Fewest products whose spread can say how far to pool them; with fewer each keeps its own fit.
MIN_PRODUCTS_TO_POOL = 5


@dataclass(frozen=True)
class Elasticity:
    value: float
    std_error: float
    p_value: float
    observations: int
    units: int  # add-to-carts behind the conversion part
    log_price_std: float
    source: str  # "product" or "category"
    conversion: float = math.nan
    conversion_std_error: float = math.nan
    views: float = math.nan
    views_std_error: float = math.nan
    # The product's own fit, before partial pooling with its shop (`partially_pooled`).
    own_value: float = math.nan
    own_std_error: float = math.nan

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANCE

    @property
    def precise(self) -> bool:
        """The data pin the elasticity down to +-20% with 95% confidence."""
        return 1.96 * self.std_error <= PRECISION_BAND * abs(self.value)


class NoListPrice(ValueError):
    """The current price is not positive: demand and profit changes are measured against it."""

    def __init__(self, price: float) -> None:
        super().__init__(f"no list price to optimise from: the current price is {price:g}")
        self.price = price


@dataclass(frozen=True)
class PriceAdvice:
    current_price_minor: int
    recommended_price_minor: int
    expected_units_change_pct: float
    expected_profit_change_pct: float
    explanation: str


@dataclass(frozen=True)
class DemandPanels:
    conversion: pd.DataFrame
    views: pd.DataFrame


def demand_panels(data: ShopData) -> DemandPanels:
    """The conversion and views panels of a shop (see `price_panel`)."""
    events = priced_traffic(data)
    return DemandPanels(conversion_panel(data, events), views_panel(data, events))


def _informative(columns: pd.DataFrame) -> pd.DataFrame:
    """The columns that can be fitted: a constant one says nothing, and one identical to another
    (a shop whose only long sales are the marketplace's sale days) would make the fit singular."""
    return columns.loc[:, (columns.std() > 0) & ~columns.T.duplicated().to_numpy()]


def _design(
    rows: pd.DataFrame, flags: list[str], categorical: list[str], product_effects: bool
) -> pd.DataFrame:
    parts = [
        pd.DataFrame(
            {
                "log_price": np.log(rows["price"].to_numpy(float)),
                "trend": rows["trend"].to_numpy(float),
                **{flag: rows[flag].astype(float).to_numpy() for flag in flags},
            }
        )
    ]
    for column in categorical + (["product_id"] if product_effects else []):
        parts.append(
            pd.get_dummies(rows[column].to_numpy(), prefix=column, drop_first=True, dtype=float)
        )
    full = _informative(pd.concat(parts, axis=1))
    if "log_price" not in full:
        full.insert(0, "log_price", parts[0]["log_price"])
    with_constant: pd.DataFrame = sm.add_constant(full, has_constant="add")
    return with_constant


def _price_coefficient(
    outcome: pd.Series, exposure: pd.Series, design: pd.DataFrame
) -> tuple[float, float]:
    """Coefficient of log_price and its quasi-Poisson standard error."""
    model = sm.GLM(
        outcome.to_numpy(float),
        design,
        family=sm.families.Poisson(),
        offset=np.log(exposure.to_numpy(float)),
    )
    result = model.fit(scale="X2")
    column = list(design.columns).index("log_price")
    return float(result.params.iloc[column]), float(result.bse.iloc[column])


def fit_elasticity(conversion: pd.DataFrame, views: pd.DataFrame, source: str) -> Elasticity:
    """Both parts on rows of the panels (one product, or a category pooled), and their sum."""
    pooled = source == "category"
    conversion_part = _price_coefficient(
        conversion["carts"],
        conversion["views"],
        _design(conversion, list(CONVERSION_CONTROLS), ["group", "dow"], pooled),
    )
    return _with_views_part(conversion, views, conversion_part, source)


def _with_views_part(
    conversion: pd.DataFrame,
    views: pd.DataFrame,
    conversion_part: tuple[float, float],
    source: str,
) -> Elasticity:
    """The elasticity from a fitted conversion part and the views part fitted on `views`."""
    conversion_value, conversion_se = conversion_part
    views_value, views_se = _price_coefficient(
        views["views"],
        views["shop_views"],
        _design(views, ["featured_slot", "featured_day"], ["dow"], source == "category"),
    )
    value = conversion_value + views_value
    std_error = math.hypot(conversion_se, views_se)
    p_value = float(2 * stats.norm.sf(abs(value) / std_error)) if std_error > 0 else 1.0
    return Elasticity(
        value=value,
        std_error=std_error,
        p_value=p_value,
        observations=len(conversion),
        units=int(conversion["carts"].sum()),
        log_price_std=_log_price_std(conversion),
        source=source,
        conversion=conversion_value,
        conversion_std_error=conversion_se,
        views=views_value,
        views_std_error=views_se,
    )


def _joint_design(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Shared controls, then an intercept and a log-price slope per product; and the products
    in the order of their slope columns."""
    shared = pd.concat(
        [
            pd.DataFrame(
                {
                    "trend": rows["trend"].to_numpy(float),
                    **{c: rows[c].astype(float).to_numpy() for c in CONVERSION_CONTROLS},
                }
            ),
            pd.get_dummies(rows["group"].to_numpy(), prefix="group", drop_first=True, dtype=float),
            pd.get_dummies(rows["dow"].to_numpy(), prefix="dow", drop_first=True, dtype=float),
        ],
        axis=1,
    )
    shared = _informative(shared)
    intercepts = pd.get_dummies(rows["product_id"].to_numpy(), dtype=float)
    slopes = intercepts.mul(np.log(rows["price"].to_numpy(float)), axis=0)
    products = [str(p) for p in intercepts.columns]
    design = pd.concat(
        [shared, intercepts.add_prefix("intercept:"), slopes.add_prefix("log_price:")], axis=1
    )
    return design, products


def _joint_conversion_parts(conversion: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """(coefficient, quasi-Poisson standard error) of each product's log-price slope, from one
    GLM over the products of `conversion` with shared controls."""
    design, products = _joint_design(conversion)
    result = sm.GLM(
        conversion["carts"].to_numpy(float),
        design,
        family=sm.families.Poisson(),
        offset=np.log(conversion["views"].to_numpy(float)),
    ).fit(scale="X2")
    first = len(design.columns) - len(products)
    return {
        product: (float(result.params.iloc[first + i]), float(result.bse.iloc[first + i]))
        for i, product in enumerate(products)
    }


def product_elasticities(
    conversion: pd.DataFrame, views: pd.DataFrame, categories: pd.Series
) -> dict[str, Elasticity]:
    """The elasticity of every product with enough variation (and views), the conversion parts
    fitted jointly per block of products of neighbouring categories."""
    views_of = dict(tuple(views.groupby("product_id")))
    fitted = [
        str(product)
        for product, rows in conversion.groupby("product_id")
        if has_enough_variation(rows) and product in views_of
    ]
    fitted.sort(key=lambda product: (str(categories.get(product, "")), product))
    by_product: dict[str, Elasticity] = {}
    for start in range(0, len(fitted), MAX_PRODUCTS_PER_FIT):
        block = fitted[start : start + MAX_PRODUCTS_PER_FIT]
        rows = conversion[conversion["product_id"].isin(block)].reset_index(drop=True)
        parts = _joint_conversion_parts(rows)
        for product, product_rows in rows.groupby("product_id"):
            key = str(product)
            by_product[key] = _with_views_part(
                product_rows, views_of[product], parts[key], "product"
            )
    return by_product


def partially_pooled(by_product: dict[str, Elasticity]) -> dict[str, Elasticity]:
    """Each product's elasticity pulled toward its shop's, as far as its own noise warrants.

    Random effects (DerSimonian-Laird): the products' true elasticities spread around a shop
    mean with variance tau^2, estimated from how much more the estimates vary than their standard
    errors explain. A product keeps the share tau^2 / (tau^2 + SE^2) of its distance from the mean;
    its standard error becomes that of the pooled value (its own part plus the mean's). With
    fewer than MIN_PRODUCTS_TO_POOL products, or a non-finite standard error, nothing is pooled.
    """
    products = list(by_product)
    own = np.array([by_product[p].value for p in products])
    variance = np.array([by_product[p].std_error for p in products]) ** 2
    if len(products) < MIN_PRODUCTS_TO_POOL or not np.all(np.isfinite(variance) & (variance > 0)):
        return by_product
    fixed_weights = 1 / variance
    fixed_mean = float(np.sum(fixed_weights * own) / fixed_weights.sum())
    excess = float(np.sum(fixed_weights * (own - fixed_mean) ** 2)) - (len(products) - 1)
    scale = fixed_weights.sum() - np.sum(fixed_weights**2) / fixed_weights.sum()
    spread = max(0.0, excess / scale)
    weights = 1 / (variance + spread)
    shop_mean = float(np.sum(weights * own) / weights.sum())
    kept = spread / (spread + variance)
    value = shop_mean + kept * (own - shop_mean)
    std_error = np.sqrt(kept * variance + (1 - kept) ** 2 / weights.sum())
    return {
        product: replace(
            estimate,
            value=float(value[i]),
            std_error=float(std_error[i]),
            p_value=float(2 * stats.norm.sf(abs(value[i]) / std_error[i])),
            own_value=estimate.value,
            own_std_error=estimate.std_error,
        )
        for i, (product, estimate) in enumerate(by_product.items())
    }


def _log_price_std(conversion: pd.DataFrame) -> float:
    """Standard deviation of log(price seen) over the views."""
    if conversion["views"].sum() <= 0:
        return 0.0
    log_price = np.log(conversion["price"].to_numpy(float))
    weights = conversion["views"].to_numpy(float)
    mean = np.average(log_price, weights=weights)
    return float(np.sqrt(np.average((log_price - mean) ** 2, weights=weights)))


def has_enough_variation(conversion: pd.DataFrame) -> bool:
    """Enough to fit a product (or pool a category) at all: MIN_UNITS add-to-carts and a
    spread of log prices seen of at least MIN_LOG_PRICE_STD (about 5%)."""
    return (
        len(conversion) > 0
        and conversion["carts"].sum() >= MIN_UNITS
        and _log_price_std(conversion) >= MIN_LOG_PRICE_STD
    )


def estimate_elasticities(
    panels: DemandPanels, categories: pd.Series
) -> tuple[dict[str, Elasticity], dict[str, Elasticity]]:
    """Elasticity per product that has enough variation (partially pooled with its shop's), and
    per category (fitted pooled) for the rest. `categories` maps product_id to category."""
    by_product = partially_pooled(product_elasticities(panels.conversion, panels.views, categories))
    by_category: dict[str, Elasticity] = {}
    conversion = panels.conversion.assign(
        category=panels.conversion["product_id"].map(categories).fillna("")
    )
    views = panels.views.assign(category=panels.views["product_id"].map(categories).fillna(""))
    views_by_category = dict(tuple(views.groupby("category")))
    for category, rows in conversion.groupby("category"):
        if has_enough_variation(rows) and category in views_by_category:
            by_category[str(category)] = fit_elasticity(
                rows, views_by_category[category], "category"
            )
    return by_product, by_category


def optimal_price(
    elasticity: float,
    current_price: float,
    unit_cost: float,
    low: float,
    high: float,
) -> PriceAdvice:
    """The profit-maximising price within [low, high] under constant elasticity demand
    q(p) = q0 (p / p0)^e: p* = c e / (1 + e) when demand is elastic (e < -1), else the upper
    bound (raising the price loses fewer units than it earns). Raises `NoListPrice` when
    `current_price` is not positive."""
    if current_price <= 0:
        raise NoListPrice(current_price)
    if elasticity < -1:
        best = unit_cost * elasticity / (1 + elasticity)
        why = f"with elasticity {elasticity:.2f} the margin-optimal price is cost x e/(1+e)"
    else:
        best = high
        why = f"demand is inelastic ({elasticity:.2f} > -1): higher prices earn more"
    price = float(np.clip(best, low, high))
    if price != best:
        why += ", held to your bounds"

    def units(p: float) -> float:
        return float((p / current_price) ** elasticity)

    def profit(p: float) -> float:
        return (p - unit_cost) * units(p)

    before = profit(current_price)
    units_change = (units(price) - 1.0) * 100
    profit_change = (profit(price) - before) / abs(before) * 100 if before else 0.0
    return PriceAdvice(
        current_price_minor=round(current_price),
        recommended_price_minor=round(price),
        expected_units_change_pct=units_change,
        expected_profit_change_pct=profit_change,
        explanation=why,
    )
