"""The KPI registry: every KPI's name, formula, unit and how it rolls up, written once.

The stream job computes them, the gateway serves them and the dashboard labels them from here.
Every KPI is stored as an exact `numerator` and, for ratios, a `denominator`, both additive
within a bucket; `value` = numerator (sums, counts) or numerator / denominator (ratios).
Distinct counts (unique visitors) are not additive across buckets: each bucket size (minute,
hour, day) counts its own distinct members.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Unit(StrEnum):
    MONEY_MINOR = "money_minor"  # integer minor units of the shop's currency
    COUNT = "count"
    RATIO = "ratio"  # 0..1
    MULTIPLE = "multiple"  # a ratio with no upper bound, read as "3.2x" (return on ad spend)
    SECONDS = "seconds"
    SCORE = "score"  # a mean of 1..5 ratings


class Rollup(StrEnum):
    SUM = "sum"  # value = sum of numerators
    RATIO = "ratio"  # value = sum(numerator) / sum(denominator)
    DISTINCT = "distinct"  # value = distinct members in the bucket; recounted per bucket size


@dataclass(frozen=True)
class Kpi:
    name: str
    title: str
    unit: Unit
    rollup: Rollup
    formula: str
    per_product: bool = False
    higher_is_better: bool | None = True


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "gmv",
        "GMV",
        Unit.MONEY_MINOR,
        Rollup.SUM,
        "sum over paid orders of item price x quantity - item discounts",
        per_product=True,
    ),
    Kpi(
        "paid_orders",
        "Paid orders",
        Unit.COUNT,
        Rollup.SUM,
        "count of orders turning paid",
        per_product=True,
    ),
    Kpi(
        "units",
        "Units sold",
        Unit.COUNT,
        Rollup.SUM,
        "sum of quantities on paid orders",
        per_product=True,
    ),
    Kpi("aov", "Average order value", Unit.MONEY_MINOR, Rollup.RATIO, "gmv / paid_orders"),
    Kpi(
        "unique_visitors",
        "Unique visitors",
        Unit.COUNT,
        Rollup.DISTINCT,
        "distinct visitor_id over traffic events (plus imported daily summaries)",
        per_product=True,
    ),
    Kpi(
        "page_views",
        "Page views",
        Unit.COUNT,
        Rollup.SUM,
        "count of page views, product pages included (as Seller Centre counts them)",
    ),
    Kpi(
        "product_views",
        "Product views",
        Unit.COUNT,
        Rollup.SUM,
        "count of product views",
        per_product=True,
    ),
    Kpi(
        "add_to_carts",
        "Add to cart",
        Unit.COUNT,
        Rollup.SUM,
        "count of add-to-cart events",
        per_product=True,
    ),
    Kpi("checkout_starts", "Checkouts started", Unit.COUNT, Rollup.SUM, "count of checkout starts"),
    Kpi(
        "add_to_cart_rate",
        "Add-to-cart rate",
        Unit.RATIO,
        Rollup.RATIO,
        "add_to_carts / product_views",
        per_product=True,
    ),
    Kpi(
        "conversion_rate",
        "Conversion rate",
        Unit.RATIO,
        Rollup.RATIO,
        "paid_orders / unique_visitors",
    ),
    Kpi(
        "cart_abandonment_rate",
        "Cart abandonment rate",
        Unit.RATIO,
        Rollup.RATIO,
        "(checkout_starts - paid_orders) / checkout_starts",
        higher_is_better=False,
    ),
    Kpi("created_orders", "Orders created", Unit.COUNT, Rollup.SUM, "count of orders created"),
    Kpi(
        "cancellation_rate",
        "Cancellation rate",
        Unit.RATIO,
        Rollup.RATIO,
        "orders cancelled in the bucket / orders created in it (each counted when it happens)",
        higher_is_better=False,
    ),
    Kpi(
        "return_rate",
        "Return rate",
        Unit.RATIO,
        Rollup.RATIO,
        "orders returned in the bucket / orders completed in it (each counted when it happens)",
        higher_is_better=False,
    ),
    Kpi(
        "voucher_orders",
        "Orders with a voucher",
        Unit.COUNT,
        Rollup.SUM,
        "count of paid orders that used a voucher",
    ),
    Kpi(
        "voucher_usage_rate",
        "Voucher usage rate",
        Unit.RATIO,
        Rollup.RATIO,
        "voucher_orders / paid_orders",
        higher_is_better=None,
    ),
    Kpi(
        "discount_cost",
        "Discount cost",
        Unit.MONEY_MINOR,
        Rollup.SUM,
        "item discounts + seller-funded vouchers on paid orders",
        higher_is_better=False,
    ),
    Kpi(
        "campaign_gmv",
        "Campaign GMV",
        Unit.MONEY_MINOR,
        Rollup.SUM,
        "gmv of paid orders that came through any campaign",
    ),
    Kpi(
        "flash_sale_gmv",
        "Flash sale GMV",
        Unit.MONEY_MINOR,
        Rollup.SUM,
        "gmv of paid orders through a flash sale",
    ),
    Kpi(
        "live_stream_gmv",
        "Live stream GMV",
        Unit.MONEY_MINOR,
        Rollup.SUM,
        "gmv of paid orders through a live stream (campaign or channel)",
    ),
    Kpi("ads_gmv", "Ads GMV", Unit.MONEY_MINOR, Rollup.SUM, "gmv of paid orders through ads"),
    Kpi(
        "ads_spend",
        "Ads spend",
        Unit.MONEY_MINOR,
        Rollup.SUM,
        "sum of campaign SPEND events",
        higher_is_better=None,
    ),
    Kpi("roas", "Return on ad spend", Unit.MULTIPLE, Rollup.RATIO, "ads_gmv / ads_spend"),
    Kpi(
        "chat_conversations",
        "Chat conversations",
        Unit.COUNT,
        Rollup.DISTINCT,
        "distinct conversations with a buyer message",
        higher_is_better=None,
    ),
    Kpi(
        "chat_response_rate",
        "Chat response rate",
        Unit.RATIO,
        Rollup.RATIO,
        "seller first replies / chat_conversations, a reply counted where its conversation "
        "started (reply time - first_response_seconds)",
    ),
    Kpi(
        "avg_first_response_seconds",
        "Average first response time",
        Unit.SECONDS,
        Rollup.RATIO,
        "sum of first-response seconds / seller first replies, counted where the conversations "
        "started",
        higher_is_better=False,
    ),
    Kpi("csat", "CSAT", Unit.SCORE, Rollup.RATIO, "sum of CSAT scores / CSAT answers"),
    Kpi(
        "avg_review_rating",
        "Average review rating",
        Unit.SCORE,
        Rollup.RATIO,
        "sum of ratings / reviews",
        per_product=True,
    ),
    Kpi(
        "reviews",
        "Reviews",
        Unit.COUNT,
        Rollup.SUM,
        "count of reviews",
        per_product=True,
        higher_is_better=None,
    ),
)

KPI_BY_NAME: dict[str, Kpi] = {kpi.name: kpi for kpi in KPIS}

# The KPI tree the anomaly explanations walk: GMV = visitors x conversion x AOV.
GMV_TREE: tuple[str, ...] = ("unique_visitors", "conversion_rate", "aov")
