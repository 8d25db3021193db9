"""Daily series from CSV files, for `shopee-forecast evaluate --csv` on public data.

Formats: `prophet` (columns ds, y; `--log-values` for files stored as log values, like the
Wikipedia page views) and `online-retail` (UCI Online Retail invoice lines: daily sales =
sum of Quantity x UnitPrice, cancellations excluded, days without trading = 0).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd


class CsvFormat(StrEnum):
    PROPHET = "prophet"
    ONLINE_RETAIL = "online-retail"


def read_daily_series(path: Path, fmt: CsvFormat, log_values: bool = False) -> pd.DataFrame:
    """A `ds`/`y` table with one row per day from the first to the last day in the file."""
    if fmt is CsvFormat.ONLINE_RETAIL:
        lines = pd.read_csv(path, dtype={"InvoiceNo": str})
        lines = lines[~lines["InvoiceNo"].str.startswith("C")]
        day = pd.to_datetime(lines["InvoiceDate"]).dt.normalize()
        daily = (lines["Quantity"] * lines["UnitPrice"]).groupby(day).sum()
    else:
        table = pd.read_csv(path)
        values = pd.Series(table["y"].astype("float64"))
        if log_values:
            values = pd.Series(np.exp(values.to_numpy()), index=values.index)
        day = pd.to_datetime(table["ds"]).dt.normalize()
        daily = values.groupby(day).sum()
        # Gaps in the file are unknown days, not zero days: carry the last value over them.
        days = pd.date_range(daily.index.min(), daily.index.max(), freq="D")
        filled = daily.reindex(days).ffill()
        return pd.DataFrame({"ds": days, "y": filled.to_numpy(dtype=np.float64)})
    days = pd.date_range(daily.index.min(), daily.index.max(), freq="D")
    filled = daily.reindex(days, fill_value=0.0).clip(lower=0.0)
    return pd.DataFrame({"ds": days, "y": filled.to_numpy(dtype=np.float64)})
