"""Fixtures: synthetic daily shop series (a weekly cycle, double-date sales, noise)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import pytest

from shopee_forecast.domain.campaigns import REGRESSORS, CampaignRegressors
from shopee_forecast.domain.models import SeriesContext
from shopee_forecast.domain.selection import SeriesHistory

WEEKLY = np.array([1.0, 0.95, 0.95, 0.9, 1.0, 1.15, 1.2])


def make_sales_frame(days: int, start: date = date(2025, 3, 3), seed: int = 1) -> pd.DataFrame:
    """Daily sales: level 1000, weekly cycle, x3 on double dates, 8% multiplicative noise."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=days, freq="D")
    sale = np.array([3.0 if d.day == d.month else 1.0 for d in ds])
    y = 1000 * WEEKLY[ds.day_of_week] * sale * np.exp(rng.normal(0, 0.08, days))
    return pd.DataFrame({"ds": ds, "y": y})


def make_sales_history(days: int, seed: int = 1) -> SeriesHistory:
    """The synthetic series as a shop series in Jakarta, with no campaigns."""
    return SeriesHistory(
        frame=make_sales_frame(days, seed=seed),
        context=SeriesContext("ID", REGRESSORS),
        time_zone="Asia/Jakarta",
        regressors_at=CampaignRegressors((), "Asia/Jakarta"),
    )


@pytest.fixture
def sales_frame() -> Callable[..., pd.DataFrame]:
    return make_sales_frame


@pytest.fixture
def sales_history() -> Callable[..., SeriesHistory]:
    return make_sales_history
