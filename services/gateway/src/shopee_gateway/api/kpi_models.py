"""Response bodies of the KPI routes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.config import JsonDict

from shopee_common.kpis import KPI_BY_NAME, Rollup
from shopee_gateway.api import examples as ex

PERIOD_NOTE = (
    "Totals over local days: sums are summed, ratios recomputed from summed numerators and "
    "denominators; distinct counts (unique visitors, chat conversations) are summed per day."
)

# --- examples: glowlab-id (IDR, Asia/Jakarta) in the first week of November 2026 -------------

EXAMPLE_FROM, EXAMPLE_TO = "2026-11-01", "2026-11-07"
EXAMPLE_COUNTED_UNTIL = "2026-11-07T16:59:48Z"
EXAMPLE_PREVIOUS_FROM, EXAMPLE_PREVIOUS_TO = "2026-10-25", "2026-10-31"


def _parts_example(kpi: str, numerator: float, denominator: float | None) -> dict[str, Any]:
    """A KPI's value with its parts, as the routes compute it (ratios from their parts)."""
    ratio = KPI_BY_NAME[kpi].rollup is Rollup.RATIO
    value = round(numerator / denominator, 6) if ratio and denominator else numerator
    return {
        "value": None if ratio and not denominator else value,
        "numerator": numerator,
        "denominator": denominator if ratio else None,
    }


def series_example(
    days: dict[str, list[tuple[float, float | None]]], shop_id: str | None = ex.SHOP_ID
) -> dict[str, Any]:
    """A day series answer of glowlab-id from 2026-11-01: each KPI's (numerator, denominator)
    per day."""
    start = date.fromisoformat(EXAMPLE_FROM)
    return {
        "interval": "day",
        "time_zone": ex.TIME_ZONE,
        "series": [
            {
                "shop_id": shop_id,
                "kpi": kpi,
                "title": KPI_BY_NAME[kpi].title,
                "unit": KPI_BY_NAME[kpi].unit.value,
                "points": [
                    {
                        "bucket": f"{start + timedelta(days=day)}T00:00:00+07:00",
                        **_parts_example(kpi, numerator, denominator),
                    }
                    for day, (numerator, denominator) in enumerate(parts)
                ],
            }
            for kpi, parts in days.items()
        ],
    }


def _change_example(kpi: str, current: float | None, previous: float | None) -> dict[str, Any]:
    delta = None if current is None or previous is None else round(current - previous, 6)
    definition = KPI_BY_NAME[kpi]
    return {
        "kpi": kpi,
        "title": definition.title,
        "unit": definition.unit.value,
        "current": current,
        "previous": previous,
        "delta": delta,
        "delta_ratio": round(delta / previous, 4) if delta is not None and previous else None,
        "higher_is_better": definition.higher_is_better,
    }


def summary_example(kpis: dict[str, tuple[float | None, float | None]]) -> dict[str, Any]:
    """A period answer for glowlab-id alone: the total (shop_id null) and the shop agree."""
    changes = [_change_example(kpi, *values) for kpi, values in kpis.items()]
    return {
        "from": EXAMPLE_FROM,
        "to": EXAMPLE_TO,
        "previous_from": EXAMPLE_PREVIOUS_FROM,
        "previous_to": EXAMPLE_PREVIOUS_TO,
        "note": PERIOD_NOTE,
        "shops": [
            {"shop_id": None, "kpis": changes, "counted_until": EXAMPLE_COUNTED_UNTIL},
            {"shop_id": ex.SHOP_ID, "kpis": changes, "counted_until": EXAMPLE_COUNTED_UNTIL},
        ],
    }


def _funnel_example(counts: list[float]) -> list[JsonValue]:
    steps = (
        ("views", "product_views"),
        ("cart", "add_to_carts"),
        ("checkout", "checkout_starts"),
        ("paid", "paid_orders"),
    )
    return [
        {
            "step": step,
            "kpi": kpi,
            "count": count,
            "rate_from_previous": round(count / counts[i - 1], 4) if i else None,
            "rate_from_first": round(count / counts[0], 4) if i else None,
        }
        for i, ((step, kpi), count) in enumerate(zip(steps, counts, strict=True))
    ]


SERIES_EXAMPLE = series_example(
    {
        "conversion_rate": [(162, 5431), (171, 5522), (149, 5307)],
        "gmv": [(1_542_350_000, None), (1_618_900_000, None), (1_487_200_000, None)],
    }
)
SUMMARY_EXAMPLE = summary_example(
    {"conversion_rate": (0.029688, 0.028412), "gmv": (10_754_300_000, 9_868_150_000)}
)
FUNNEL_EXAMPLE: JsonDict = {
    "from": EXAMPLE_FROM,
    "to": EXAMPLE_TO,
    "funnels": [
        {"shop_id": shop_id, "steps": _funnel_example([48_210, 6_124, 1_583, 1_127])}
        for shop_id in (None, ex.SHOP_ID)
    ],
}
TOP_PRODUCTS_EXAMPLE: JsonDict = {
    "kpi": "gmv",
    "from": EXAMPLE_FROM,
    "to": EXAMPLE_TO,
    "products": [
        {
            "shop_id": ex.SHOP_ID,
            "product_id": product_id,
            "name": name,
            "value": gmv,
            "numerator": gmv,
            "denominator": None,
        }
        for product_id, name, gmv in (
            (ex.PRODUCT_ID, ex.PRODUCT_NAME, 842_400_000),
            (ex.OTHER_PRODUCT_ID, ex.OTHER_PRODUCT_NAME, 742_050_000),
            (ex.THIRD_PRODUCT_ID, ex.THIRD_PRODUCT_NAME, 636_000_000),
        )
    ],
}


class PeriodAnswer(BaseModel):
    """An answer about a period; `from`/`to` on the wire."""

    model_config = ConfigDict(populate_by_name=True)


class KpiDefinition(BaseModel):
    """One KPI of the registry (`shopee_common.kpis`), as the dashboard labels and formats it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "conversion_rate",
                    "title": "Conversion rate",
                    "unit": "ratio",
                    "rollup": "ratio",
                    "formula": "paid_orders / unique_visitors",
                    "per_product": False,
                    "higher_is_better": True,
                }
            ]
        }
    )

    name: str
    title: str
    unit: str = Field(
        description="money_minor (integer minor units of the shop's currency: divide by 100), "
        "count, ratio (0..1), seconds or score (a mean of 1..5 ratings)."
    )
    rollup: str = Field(
        description="How buckets combine: sum, ratio (sum of numerators / sum of denominators) "
        "or distinct (recounted per bucket size)."
    )
    formula: str
    per_product: bool = Field(description="Also kept per product (hour and day buckets).")
    higher_is_better: bool | None = Field(description="None where neither way is good news.")


class Point(BaseModel):
    bucket: str = Field(description="Bucket start, ISO 8601 in the query's time zone.")
    value: float | None = Field(description="None where a ratio has nothing to divide by.")
    numerator: float
    denominator: float | None


class Series(BaseModel):
    shop_id: str | None = Field(description="None for the series across the shops.")
    kpi: str
    title: str
    unit: str
    points: list[Point]


class SeriesResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SERIES_EXAMPLE]})

    interval: str
    time_zone: str
    series: list[Series]


class KpiChange(BaseModel):
    kpi: str
    title: str
    unit: str
    current: float | None
    previous: float | None
    delta: float | None
    delta_ratio: float | None = Field(description="delta / previous; None if previous is 0.")
    higher_is_better: bool | None


class ShopSummary(BaseModel):
    shop_id: str | None = Field(description="None for all the requested shops together.")
    kpis: list[KpiChange]
    counted_until: datetime | None = Field(
        description="The time the shop's KPIs are counted up to (for all the shops together: "
        "the earliest of theirs): the earliest newest-event time among the sources the stream "
        "job is counting now, or the newest event when every source is quiet. Figures after "
        "it are not in yet: a history still being loaded, or events that stopped arriving. "
        "Null: nothing counted yet."
    )


class SummaryResponse(PeriodAnswer):
    model_config = ConfigDict(json_schema_extra={"examples": [SUMMARY_EXAMPLE]})

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    previous_start: date = Field(alias="previous_from")
    previous_end: date = Field(alias="previous_to")
    note: str
    shops: list[ShopSummary]


class FunnelStep(BaseModel):
    step: str
    kpi: str
    count: float
    rate_from_previous: float | None
    rate_from_first: float | None


class ShopFunnel(BaseModel):
    shop_id: str | None
    steps: list[FunnelStep]


class FunnelResponse(PeriodAnswer):
    model_config = ConfigDict(json_schema_extra={"examples": [FUNNEL_EXAMPLE]})

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    funnels: list[ShopFunnel]


class ProductValue(BaseModel):
    shop_id: str
    product_id: str
    name: str = Field(
        "",
        description="The product's name, from its latest catalogue event; empty if that has none.",
    )
    value: float | None
    numerator: float
    denominator: float | None


class TopProductsResponse(PeriodAnswer):
    model_config = ConfigDict(json_schema_extra={"examples": [TOP_PRODUCTS_EXAMPLE]})

    kpi: str
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    products: list[ProductValue]
