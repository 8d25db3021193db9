"""The price every viewer saw, and the two panels elasticities are fitted on.

Each product view and add-to-cart gets the price its viewer saw at that moment: the catalogue's
list price then (latest `CatalogEvent`) times (1 - the largest discount of a priced campaign
featuring the product then). A live-stream price counts only for live-stream viewers (traffic
source LIVE_STREAM), since nobody else sees it.

- **Conversion panel**: add-to-carts and product views per cell of (product, shop-local day,
  price seen, visitor group, campaigns running in the shop), with whether the day is a
  marketplace sale day (the shared calendar). Visitor groups convert differently
  and their mix moves with campaigns (ad budgets rise on sale days), so they are controlled:
  live-stream viewers, paid traffic (ads, affiliates), returning buyers (a paid order before) and
  the rest. Times when the product was out of stock or not active are left out (no cart was
  possible).
- **Views panel**: product views per (product, UTC hour) over every hour the shop had views, with
  zeros, and the shop's views that hour as exposure, for the price elasticity of views per unit
  of traffic, summed over the hours of a day with the same price and featuring. Live-stream
  viewers are left out (their views follow the host, not the price).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopee_common.marketplace import is_double_date
from shopee_insights.domain.shop_data import ShopData

VIEW = "TRAFFIC_KIND_PRODUCT_VIEW"
CART = "TRAFFIC_KIND_ADD_TO_CART"
LIVE_KIND = "CAMPAIGN_KIND_LIVE_STREAM"
PRICED_KINDS = ("CAMPAIGN_KIND_FLASH_SALE", "CAMPAIGN_KIND_VOUCHER", LIVE_KIND)
LIVE_SOURCE = "TRAFFIC_SOURCE_LIVE_STREAM"
PAID_SOURCES = ("TRAFFIC_SOURCE_ADS",)
PAID_CHANNELS = ("CHANNEL_AFFILIATE",)
# A priced campaign shorter than this is a promotion slot (flash sale) that also puts the product
# in front of shoppers; a longer one is a sale day (a double date) discounting a whole range.
SLOT_HOURS = 12
CONTEXTS = ("slot_running", "day_sale_running", "live_running")
# Everything a conversion rate is controlled for besides price, visitor group, weekday and trend:
# the campaigns running, and the marketplace's sale days (shoppers on 11.11 are there to buy,
# whichever price they see; without this the sale-day lift was read as price response).
CONVERSION_CONTROLS = (*CONTEXTS, "double_date")

BoolArray = npt.NDArray[np.bool_]


def _priced_campaigns(data: ShopData) -> pd.DataFrame:
    campaigns = data.campaigns[
        data.campaigns["kind"].isin(PRICED_KINDS) & data.campaigns["starts_at"].notna()
    ].drop_duplicates("campaign_id")
    starts = pd.to_datetime(campaigns["starts_at"], utc=True)
    ends = pd.to_datetime(campaigns["ends_at"], utc=True).fillna(starts)
    return pd.DataFrame(
        {
            "kind": campaigns["kind"].to_numpy(),
            "starts": starts.dt.tz_convert(None).to_numpy(),
            "ends": ends.dt.tz_convert(None).to_numpy(),
            "product_ids": campaigns["product_ids"].to_numpy(),
            "percent": campaigns["discount_percent"].to_numpy(float),
        }
    )


def _with_list_price(events: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """Events (sorted by occurred_at) with the catalogue's price, stock and status then."""
    states = catalog[["product_id", "occurred_at", "price_minor", "stock", "status"]]
    merged = pd.merge_asof(
        events,
        states.sort_values("occurred_at"),
        on="occurred_at",
        by="product_id",
        direction="backward",
    )
    return merged[merged["price_minor"].fillna(0) > 0]


def _apply_campaigns(
    times: npt.NDArray[np.datetime64],
    products: npt.NDArray[np.object_],
    is_live: BoolArray,
    campaigns: pd.DataFrame,
) -> dict[str, npt.NDArray[np.float64] | BoolArray]:
    """Discount seen, product-level featuring and shop-level campaign context at each time
    (`times` sorted)."""
    count = len(times)
    discount = np.zeros(count)
    flags = {name: np.zeros(count, bool) for name in ("featured_slot", "featured_day", *CONTEXTS)}
    for kind, starts, ends, featured_ids, percent in campaigns.itertuples(index=False):
        low, high = np.searchsorted(times, [starts, ends], side="left")
        if high <= low:
            continue
        window = slice(int(low), int(high))
        short = (ends - starts) < np.timedelta64(SLOT_HOURS, "h")
        context = (
            "live_running"
            if kind == LIVE_KIND
            else ("slot_running" if short else "day_sale_running")
        )
        flags[context][window] = True
        on = np.isin(products[window], np.asarray(list(featured_ids), dtype=object))
        if kind == LIVE_KIND:
            on &= is_live[window]
        else:
            flags["featured_slot" if short else "featured_day"][window] |= on
        discount[window] = np.where(on, np.maximum(discount[window], percent), discount[window])
    return {"discount": discount, **flags}


def priced_traffic(data: ShopData) -> pd.DataFrame:
    """Product views and add-to-carts of shoppers (bots `guest-…` left out) with the price each
    saw, the visitor group, availability and campaign flags, sorted by time."""
    traffic = data.traffic
    events = traffic[
        traffic["kind"].isin([VIEW, CART])
        & (traffic["product_id"] != "")
        & ~traffic["visitor_id"].str.startswith("guest-")
    ].sort_values("occurred_at", kind="stable")
    events = _with_list_price(events.reset_index(drop=True), data.catalog)
    times = events["occurred_at"].dt.tz_convert(None).to_numpy()
    is_live = (events["source"] == LIVE_SOURCE).to_numpy(bool)
    applied = _apply_campaigns(
        times, events["product_id"].to_numpy(object), is_live, _priced_campaigns(data)
    )
    events = events.assign(**applied)
    events["price"] = events["price_minor"] * (1 - events["discount"] / 100)
    first_order = data.paid_lines.groupby("buyer_id")["occurred_at"].min()
    returning = events["visitor_id"].map(first_order) < events["occurred_at"]
    paid = events["source"].isin(PAID_SOURCES) | events["channel"].isin(PAID_CHANNELS)
    events["group"] = np.select(
        [is_live, paid.to_numpy(bool), returning.to_numpy(bool)],
        ["live", "paid", "returning"],
        default="other",
    )
    events["available"] = (events["stock"].fillna(1) > 0) & events["status"].fillna("").isin(
        ["", "PRODUCT_STATUS_ACTIVE"]
    )
    return events.reset_index(drop=True)


def conversion_panel(data: ShopData, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add-to-carts and views per (product, local day, price seen, visitor group, campaigns
    running), available times only, with day of week and trend (years)."""
    events = priced_traffic(data) if events is None else events
    events = events[events["available"]]
    local = events["occurred_at"].dt.tz_convert(data.time_zone)
    keys = [
        events["product_id"],
        local.dt.date.rename("day"),
        events["price"].round(2).rename("price"),
        events["group"],
        *(events[name] for name in CONTEXTS),
    ]
    counts = (
        events.groupby([*keys, events["kind"]], observed=True).size().unstack("kind", fill_value=0)
    )
    panel = pd.DataFrame(
        {
            "views": counts.get(VIEW, pd.Series(0, index=counts.index)),
            "carts": counts.get(CART, pd.Series(0, index=counts.index)),
        }
    ).reset_index()
    panel = panel[panel["views"] > 0]
    day = pd.to_datetime(panel["day"])
    panel["double_date"] = [is_double_date(d) for d in panel["day"]]
    panel["dow"] = day.dt.day_of_week
    panel["trend"] = (day - day.min()).dt.days / 365.0
    return panel.reset_index(drop=True)


def views_panel(data: ShopData, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Views of non-live shoppers per (product, local day, price on offer, featuring), zeros
    included, with the shop's views in the same hours (exposure). The price of an hour is the
    mean over its views, or for an hour without views the list price then."""
    events = priced_traffic(data) if events is None else events
    views = events[(events["kind"] == VIEW) & (events["group"] != "live")]
    hour = views["occurred_at"].dt.floor("h").rename("hour")
    shop_views = views.groupby(hour).size().rename("shop_views")
    per_cell = views.groupby([views["product_id"], hour]).agg(
        views=("price", "size"),
        price=("price", "mean"),
        featured_slot=("featured_slot", "max"),
        featured_day=("featured_day", "max"),
    )
    products = views["product_id"].unique()
    grid = pd.MultiIndex.from_product([products, shop_views.index], names=["product_id", "hour"])
    panel = per_cell.reindex(grid).reset_index()
    panel["views"] = panel["views"].fillna(0)
    panel["shop_views"] = panel["hour"].map(shop_views).to_numpy(float)
    missing = panel["price"].isna().to_numpy(bool)
    if missing.any():
        panel.loc[missing, ["price", "featured_slot", "featured_day"]] = _offer_at(
            data, panel.loc[missing, ["product_id", "hour"]]
        ).to_numpy()
    panel = panel.dropna(subset=["price"])
    panel = panel[panel["price"] > 0]
    # Hours of a product with the same day, price and featuring share every covariate, and a
    # Poisson fit depends on such cells only through their sums: add them up (~15x fewer rows).
    panel = panel.assign(
        day=panel["hour"].dt.tz_convert(data.time_zone).dt.date,
        price=panel["price"].round(2),
        featured_slot=panel["featured_slot"].astype(bool),
        featured_day=panel["featured_day"].astype(bool),
    )
    cells = (
        panel.groupby(["product_id", "day", "price", "featured_slot", "featured_day"])[
            ["views", "shop_views"]
        ]
        .sum()
        .reset_index()
    )
    day = pd.to_datetime(cells["day"])
    cells["dow"] = day.dt.day_of_week
    cells["trend"] = (day - day.min()).dt.days / 365.0
    return cells


def _offer_at(data: ShopData, cells: pd.DataFrame) -> pd.DataFrame:
    """Price on offer to non-live shoppers and featuring at the middle of each (product, hour)."""
    moments = cells.assign(occurred_at=cells["hour"] + pd.Timedelta(minutes=30)).sort_values(
        "occurred_at", kind="stable"
    )
    priced = pd.merge_asof(
        moments,
        data.catalog[["product_id", "occurred_at", "price_minor"]].sort_values("occurred_at"),
        on="occurred_at",
        by="product_id",
        direction="backward",
    )
    applied = _apply_campaigns(
        priced["occurred_at"].dt.tz_convert(None).to_numpy(),
        priced["product_id"].to_numpy(object),
        np.zeros(len(priced), bool),
        _priced_campaigns(data),
    )
    offer = pd.DataFrame(
        {
            "price": priced["price_minor"].to_numpy(float) * (1 - applied["discount"] / 100),
            "featured_slot": applied["featured_slot"],
            "featured_day": applied["featured_day"],
        },
        index=moments.index,
    )
    return offer.loc[cells.index]
