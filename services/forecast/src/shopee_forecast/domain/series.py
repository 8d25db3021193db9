"""Series identities and daily tables: what is forecast, and its history as contiguous days."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import pandas as pd


class Target(StrEnum):
    """What a series measures; the value is the KPI name in shopee_common.kpis."""

    GMV = "gmv"
    ORDERS = "paid_orders"
    VISITORS = "unique_visitors"
    UNITS = "units"

    @property
    def source(self) -> str:
        """The stream job's source of the events the series counts (`stream_watermarks.source`)."""
        return "traffic" if self is Target.VISITORS else "order"


SHOP_TARGETS = (Target.GMV, Target.ORDERS, Target.VISITORS)


@dataclass(frozen=True)
class SeriesKey:
    """One forecastable series of a shop: a target, and a product for UNITS."""

    shop_id: str
    target: Target
    product_id: str = ""

    @property
    def series(self) -> str:
        """The registry's series part, e.g. "gmv" or "units/P0001"."""
        name = self.target.name.lower()
        return f"{name}/{self.product_id}" if self.product_id else name

    @property
    def model_name(self) -> str:
        """The registry model name, "forecast/<shop_id>/<series>"."""
        return f"forecast/{self.shop_id}/{self.series}"

    @property
    def label(self) -> str:
        """As ListModels shows it: "forecast:gmv", "forecast:units:<product_id>"."""
        name = self.target.name.lower()
        return f"forecast:{name}:{self.product_id}" if self.product_id else f"forecast:{name}"


def daily_frame(values: Iterable[tuple[date, float]], first: date, last: date) -> pd.DataFrame:
    """A `ds`/`y` table with one row per day from `first` to `last`; days without a row are 0
    (every forecast KPI is a count or a sum, and a day without events has none)."""
    days = pd.date_range(first, last, freq="D")
    observed = pd.Series(
        {pd.Timestamp(day): float(value) for day, value in values if first <= day <= last},
        dtype="float64",
    )
    y = observed.reindex(days, fill_value=0.0).to_numpy() if len(observed) else [0.0] * len(days)
    return pd.DataFrame({"ds": days, "y": y})
