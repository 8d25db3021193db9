"""Price elasticity from a shop's own history, and the profit-maximising price.

Demand is counted per product and shop-local hour: units ordered, product views, and the price a
viewer saw (list price from the catalogue times the campaign discount running then). A Poisson
GLM with a log link regresses units on log(price), so its coefficient is d log(units) / d log(price),
controlling for exposure (log views), campaigns (the product featured, a sale running, a live-only
price), day of week and trend; standard errors are scaled for over-dispersion. A product with too
little sales or price variation borrows its category's elasticity (pooled, one intercept per
product).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import statsmodels.api as sm  # type: ignore[import-untyped]

from shopee_insights.domain.shop_data import ShopData

MIN_UNITS = 100
MIN_LOG_PRICE_STD = 0.05
SIGNIFICANCE = 0.05
LIVE_KIND = "CAMPAIGN_KIND_LIVE_STREAM"
PRICED_KINDS = ("CAMPAIGN_KIND_FLASH_SALE", "CAMPAIGN_KIND_VOUCHER", LIVE_KIND)


@dataclass(frozen=True)
class Elasticity:
    value: float
    std_error: float
    p_value: float
    observations: int
    units: int
    log_price_std: float
    source: str  # "product" or "category"

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANCE


@dataclass(frozen=True)
class PriceAdvice:
    current_price_minor: int
    recommended_price_minor: int
    expected_units_change_pct: float
    expected_profit_change_pct: float
    explanation: str


def demand_panel(data: ShopData) -> pd.DataFrame:
    """Rows of (product, local hour) with views: units, views, price seen and campaign flags."""
    zone = data.time_zone
    views = data.traffic[data.traffic["kind"] == "TRAFFIC_KIND_PRODUCT_VIEW"]
    hour = views["occurred_at"].dt.floor("h")
    panel = views.groupby([views["product_id"], hour.rename("hour")]).size().rename("views")
    carts = data.traffic[data.traffic["kind"] == "TRAFFIC_KIND_ADD_TO_CART"]
    units = carts.groupby(
        [carts["product_id"], carts["occurred_at"].dt.floor("h").rename("hour")]
    ).size()
    frame = panel.to_frame().join(units.rename("units"), how="left").fillna({"units": 0})
    frame = frame.reset_index().sort_values("hour")
    prices = data.catalog[["product_id", "occurred_at", "price_minor"]].sort_values("occurred_at")
    frame = pd.merge_asof(
        frame, prices, left_on="hour", right_on="occurred_at", by="product_id", direction="backward"
    ).dropna(subset=["price_minor"])
    frame = frame[frame["price_minor"] > 0]
    discount, featured, live, sale = _campaign_flags(data, frame)
    frame["discount"] = discount
    frame["featured"] = featured
    frame["live_featured"] = live
    frame["sale"] = sale
    frame["price"] = frame["price_minor"] * (1 - frame["discount"] / 100)
    local = frame["hour"].dt.tz_convert(zone)
    frame["dow"] = local.dt.day_of_week
    frame["trend"] = (frame["hour"] - frame["hour"].min()).dt.total_seconds() / (365 * 86_400)
    return frame.reset_index(drop=True)


def _campaign_flags(
    data: ShopData, frame: pd.DataFrame
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]
]:
    campaigns = data.campaigns[
        data.campaigns["kind"].isin(PRICED_KINDS) & data.campaigns["starts_at"].notna()
    ].drop_duplicates("campaign_id")
    hours = frame["hour"].dt.tz_convert(None).to_numpy()
    products = frame["product_id"].to_numpy()
    discount = np.zeros(len(frame))
    featured = np.zeros(len(frame), bool)
    live = np.zeros(len(frame), bool)
    sale = np.zeros(len(frame), bool)
    starts_at = pd.to_datetime(campaigns["starts_at"], utc=True)
    ends_at = pd.to_datetime(campaigns["ends_at"], utc=True).fillna(starts_at)
    for kind, started, ended, featured_ids, percent in zip(
        campaigns["kind"],
        starts_at.dt.tz_convert(None).to_numpy(),
        ends_at.dt.tz_convert(None).to_numpy(),
        campaigns["product_ids"],
        campaigns["discount_percent"].to_numpy(float),
        strict=True,
    ):
        # An hour counts if the campaign covers any of it.
        inside = (hours > started - np.timedelta64(1, "h")) & (hours < ended)
        sale |= inside
        on = inside & np.isin(products, np.asarray(list(featured_ids), dtype=object))
        if kind == LIVE_KIND:
            # The live price is for live-stream viewers only: a flag, not the price everyone saw.
            live |= on
            continue
        featured |= on
        discount = np.where(on, np.maximum(discount, float(percent)), discount)
    return discount, featured, live, sale


def _design(rows: pd.DataFrame, product_effects: bool) -> pd.DataFrame:
    design = pd.DataFrame(
        {
            "log_price": np.log(rows["price"].to_numpy(float)),
            "log_views": np.log(rows["views"].to_numpy(float)),
            "featured": rows["featured"].astype(float).to_numpy(),
            "live_featured": rows["live_featured"].astype(float).to_numpy(),
            "sale": rows["sale"].astype(float).to_numpy(),
            "trend": rows["trend"].to_numpy(float),
        }
    )
    dows = pd.get_dummies(rows["dow"].to_numpy(), prefix="dow", drop_first=True, dtype=float)
    parts = [design, dows]
    if product_effects:
        parts.append(
            pd.get_dummies(rows["product_id"].to_numpy(), prefix="p", drop_first=True, dtype=float)
        )
    full = pd.concat(parts, axis=1)
    full = full.loc[:, full.std() > 0]
    if "log_price" not in full:
        full.insert(0, "log_price", design["log_price"])
    with_constant: pd.DataFrame = sm.add_constant(full, has_constant="add")
    return with_constant


def fit_elasticity(rows: pd.DataFrame, source: str) -> Elasticity:
    """Poisson GLM of units on log price and the controls (rows of `demand_panel`)."""
    design = _design(rows, product_effects=source == "category")
    model = sm.GLM(rows["units"].to_numpy(float), design, family=sm.families.Poisson())
    result = model.fit(scale="X2")
    column = list(design.columns).index("log_price")
    return Elasticity(
        value=float(result.params.iloc[column]),
        std_error=float(result.bse.iloc[column]),
        p_value=float(result.pvalues.iloc[column]),
        observations=len(rows),
        units=int(rows["units"].sum()),
        log_price_std=float(np.log(rows["price"]).std()),
        source=source,
    )


def has_enough_variation(rows: pd.DataFrame) -> bool:
    """Enough to fit a product alone: MIN_UNITS units sold and a spread of log prices seen of
    at least MIN_LOG_PRICE_STD (about 5%)."""
    return (
        len(rows) > 0
        and rows["units"].sum() >= MIN_UNITS
        and float(np.log(rows["price"]).std()) >= MIN_LOG_PRICE_STD
    )


def estimate_elasticities(
    panel: pd.DataFrame, categories: pd.Series
) -> tuple[dict[str, Elasticity], dict[str, Elasticity]]:
    """Elasticity per product that has enough variation, and per category (pooled) for the
    rest. `categories` maps product_id to category."""
    by_product: dict[str, Elasticity] = {}
    for product, rows in panel.groupby("product_id"):
        if has_enough_variation(rows):
            by_product[str(product)] = fit_elasticity(rows, "product")
    by_category: dict[str, Elasticity] = {}
    panel = panel.assign(category=panel["product_id"].map(categories).fillna(""))
    for category, rows in panel.groupby("category"):
        if has_enough_variation(rows):
            by_category[str(category)] = fit_elasticity(rows, "category")
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
    bound (raising the price loses fewer units than it earns)."""
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
