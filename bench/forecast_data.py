"""Daily series, campaigns, orders and buyer visits computed offline from the generator's NDJSON,
with the KPI registry's definitions (shopee_common.kpis), for bench/forecast.py.

gmv = sum over PAID order events of unit price x quantity - item discount; paid_orders = count
of PAID order events; units = quantities on PAID orders (per product); unique_visitors = distinct
visitor_id over traffic events per shop-local day. Days are shop-local (fixed offsets: none of
the generator's markets has daylight saving time).
"""

from __future__ import annotations

import pickle
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pandas as pd

from shopee_forecast.domain.campaigns import Campaign


@dataclass
class GeneratedData:
    """What the bench needs from one generated history."""

    time_zones: dict[str, str]
    series: pd.DataFrame  # shop, product ('' = shop), kpi, date, value
    campaigns: dict[str, list[Campaign]]
    orders: pd.DataFrame  # shop, buyer_id, occurred_at (UTC), status, gmv_minor, units
    visits: pd.DataFrame  # shop, visitor_id, date, visits
    stock: dict[tuple[str, str], int] = field(default_factory=dict)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_history(path: Path) -> GeneratedData:
    """Aggregate an NDJSON history (cached beside it as `<name>.forecast.pickle`)."""
    cache = path.with_suffix(".forecast.pickle")
    if cache.exists() and cache.stat().st_mtime > path.stat().st_mtime:
        with cache.open("rb") as handle:
            cached: GeneratedData = pickle.load(handle)  # noqa: S301 - our own cache file
            return cached
    offsets: dict[str, timedelta] = {}
    time_zones: dict[str, str] = {}
    sums: dict[tuple[str, str, str, date], float] = defaultdict(float)
    visitors: dict[tuple[str, date], set[str]] = defaultdict(set)
    buyer_visits: dict[tuple[str, str, date], int] = defaultdict(int)
    campaign_rows: dict[tuple[str, str], Campaign] = {}
    orders: list[tuple[str, str, datetime, str, int, int]] = []
    stock: dict[tuple[str, str], int] = {}
    with path.open("rb") as lines:
        for line in lines:
            event = orjson.loads(line)
            shop, zone = event["shopId"], event["timeZone"]
            if shop not in offsets:
                time_zones[shop] = zone
                offsets[shop] = ZoneInfo(zone).utcoffset(datetime(2025, 1, 1)) or timedelta()
            when = _utc(event["occurredAt"])
            day = (when + offsets[shop]).date()
            if "traffic" in event:
                visitor = event["traffic"].get("visitorId", "")
                visitors[(shop, day)].add(visitor)
                buyer_visits[(shop, visitor, day)] += 1
            elif "order" in event:
                _order(event["order"], shop, when, day, sums, orders)
            elif "campaign" in event:
                _campaign(event["campaign"], shop, when, campaign_rows)
            elif "catalog" in event:
                stock[(shop, event["catalog"]["productId"])] = int(event["catalog"].get("stock", 0))
    rows = [(s, p, k, d, v) for (s, p, k, d), v in sums.items()]
    rows += [(s, "", "unique_visitors", d, float(len(v))) for (s, d), v in visitors.items()]
    campaigns: dict[str, list[Campaign]] = defaultdict(list)
    for (shop, _), campaign in campaign_rows.items():
        campaigns[shop].append(campaign)
    data = GeneratedData(
        time_zones=time_zones,
        series=pd.DataFrame(rows, columns=["shop", "product", "kpi", "date", "value"]),
        campaigns=dict(campaigns),
        orders=pd.DataFrame(
            orders, columns=["shop", "buyer_id", "occurred_at", "status", "gmv_minor", "units"]
        ),
        visits=pd.DataFrame(
            [(s, v, d, n) for (s, v, d), n in buyer_visits.items()],
            columns=["shop", "visitor_id", "date", "visits"],
        ),
        stock=stock,
    )
    with cache.open("wb") as handle:
        pickle.dump(data, handle)
    return data


def _order(
    order: dict[str, object],
    shop: str,
    when: datetime,
    day: date,
    sums: dict[tuple[str, str, str, date], float],
    orders: list[tuple[str, str, datetime, str, int, int]],
) -> None:
    status = str(order.get("status", ""))
    gmv = units = 0
    if status == "ORDER_STATUS_PAID":
        items = order.get("items", [])
        assert isinstance(items, list)
        for item in items:
            line = int(item.get("unitPriceMinor", 0)) * int(item.get("quantity", 0)) - int(
                item.get("discountMinor", 0)
            )
            quantity = int(item.get("quantity", 0))
            gmv, units = gmv + line, units + quantity
            sums[(shop, str(item["productId"]), "units", day)] += quantity
        sums[(shop, "", "gmv", day)] += gmv
        sums[(shop, "", "paid_orders", day)] += 1
        sums[(shop, "", "units", day)] += units
    orders.append((shop, str(order.get("buyerId", "")), when, status, gmv, units))


def _campaign(
    campaign: dict[str, object], shop: str, when: datetime, rows: dict[tuple[str, str], Campaign]
) -> None:
    action = campaign.get("action")
    if action not in ("CAMPAIGN_ACTION_PLANNED", "CAMPAIGN_ACTION_STARTED"):
        return
    if campaign.get("kind") == "CAMPAIGN_KIND_ADS" or "startsAt" not in campaign:
        return
    key = (shop, str(campaign["campaignId"]))
    announced = rows[key].announced_at if key in rows else when
    products = campaign.get("productIds", [])
    assert isinstance(products, list)
    rows[key] = Campaign(
        campaign_id=key[1],
        announced_at=min(announced, when).astimezone(UTC),
        starts_at=_utc(str(campaign["startsAt"])),
        ends_at=_utc(str(campaign.get("endsAt", campaign["startsAt"]))),
        discount_percent=float(str(campaign.get("discountPercent", 0.0))),
        product_ids=frozenset(str(p) for p in products),
    )


def retail_product_units(path: Path) -> dict[str, pd.DataFrame]:
    """UCI Online Retail's units sold per product and day: a `ds`/`y` table per stock code, from
    the product's first sale to the file's last day (days without a sale, Saturdays among them,
    are 0). Cancellations and the codes that are not products (postage, fees, manual lines: they
    do not start with a digit) are left out."""
    lines = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str})
    lines = lines[~lines["InvoiceNo"].str.startswith("C") & lines["StockCode"].str[0].str.isdigit()]
    lines = lines.assign(day=pd.to_datetime(lines["InvoiceDate"]).dt.normalize())
    daily = lines.groupby(["StockCode", "day"])["Quantity"].sum().clip(lower=0)
    last = lines["day"].max()
    series = {}
    for code, units in daily.groupby(level="StockCode"):
        days = pd.date_range(units.index.get_level_values("day").min(), last, freq="D")
        values = units.droplevel("StockCode").reindex(days, fill_value=0)
        series[str(code)] = pd.DataFrame({"ds": days, "y": values.to_numpy(dtype="float64")})
    return series
