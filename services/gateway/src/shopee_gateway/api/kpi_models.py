"""Response bodies of the KPI routes."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


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


class SummaryResponse(PeriodAnswer):
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
    kpi: str
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    products: list[ProductValue]
