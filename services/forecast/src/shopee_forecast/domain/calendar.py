"""The marketplace calendar as Prophet holidays: double-date sales, paydays, Ramadan and Lebaran,
and each market's public holidays (the `holidays` package). Which days are which comes from the
platform's shared calendar (`shopee_common.marketplace`).

Each kind of day is one Prophet "holiday" (one learned effect, shared by its occurrences); the
windows around the biggest sales let the model learn the lull before and the tail after them.
The mega sales (9.9 to 12.12) share one effect, and each month's own deviation from it is a
second holiday with a tight prior (partial pooling): two years of history hold each mega sale
once or twice, and a shop's lift on one of them varies from year to year far more than the
months differ on average, so an effect learned from one 10.10 alone forecasts the next badly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import holidays
import pandas as pd

from shopee_common.marketplace import (
    MEGA_SALE_MONTHS,
    MID_MONTH_PAYDAY,
    RAMADAN_MARKETS,
    is_payday,
    ramadan_and_eid,
)

# The prior sd of a mega sale's own deviation from the shared mega-sale effect, on the log scale
# the models work on: +-0.3 is about 35% up or 26% down.
MEGA_SALE_DEVIATION_PRIOR = 0.3


@dataclass(frozen=True)
class CalendarDay:
    """One row of the holiday table: a named effect on a day, with its window in days."""

    name: str
    day: date
    lower_window: int = 0
    upper_window: int = 0
    prior_scale: float = math.nan  # NaN: Prophet's holidays_prior_scale


def _sale_days(first: date, last: date) -> list[CalendarDay]:
    rows = []
    for year in range(first.year, last.year + 1):
        for month in range(1, 13):
            day = date(year, month, month)
            if month in MEGA_SALE_MONTHS:
                rows.append(CalendarDay("mega_sale", day, -2, 2))
                # 11.11 is not 9.9, but by how much is learned from few days: shrunk toward 0.
                rows.append(
                    CalendarDay(
                        f"mega_sale_{month}_{month}", day, prior_scale=MEGA_SALE_DEVIATION_PRIOR
                    )
                )
            else:
                rows.append(CalendarDay("double_date", day, 0, 1))
    return rows


def _paydays(first: date, last: date, market: str) -> list[CalendarDay]:
    rows = []
    day = first
    while day <= last:
        if day.day == MID_MONTH_PAYDAY.get(market):
            rows.append(CalendarDay("payday_mid_month", day))
        elif is_payday(day, market):
            rows.append(CalendarDay("payday", day))
        day += timedelta(days=1)
    return rows


def _local_eid(year: int, market: str) -> date | None:
    """Eid al-Fitr as the market's own public-holiday calendar dates it, if it does."""
    calendar = holidays.country_holidays(market, years=year)
    days = [day for day, name in calendar.items() if name.startswith("Eid al-Fitr")]
    return min(days) if days else None


def _ramadan(first: date, last: date, market: str) -> list[CalendarDay]:
    rows = []
    for year in range(first.year, last.year + 1):
        ramadan_start, eid = ramadan_and_eid(year)
        eid = _local_eid(year, market) or eid
        day = ramadan_start
        while day < eid - timedelta(days=7):
            rows.append(CalendarDay("ramadan", day))
            day += timedelta(days=1)
        # Lebaran: the rush of the last week before Eid and the quiet holiday after it.
        rows.append(CalendarDay("lebaran", eid, -7, 6))
    return rows


def _public_holidays(first: date, last: date, market: str) -> list[CalendarDay]:
    calendar = holidays.country_holidays(market, years=range(first.year, last.year + 1))
    return [CalendarDay("public_holiday", day) for day in sorted(calendar) if first <= day <= last]


def calendar_days(first: date, last: date, market: str) -> list[CalendarDay]:
    """Every marketplace-calendar day of `market` between `first` and `last` (inclusive)."""
    rows = _sale_days(first, last) + _paydays(first, last, market)
    if market in RAMADAN_MARKETS:
        rows += _ramadan(first, last, market)
    rows += _public_holidays(first, last, market)
    return [row for row in rows if first - timedelta(days=7) <= row.day <= last + timedelta(days=7)]


def holiday_frame(first: date, last: date, market: str) -> pd.DataFrame:
    """The calendar as Prophet's `holidays` table (holiday, ds, lower_window, upper_window)."""
    rows = calendar_days(first, last, market)
    return pd.DataFrame(
        {
            "holiday": [row.name for row in rows],
            "ds": pd.to_datetime([row.day for row in rows]),
            "lower_window": [row.lower_window for row in rows],
            "upper_window": [row.upper_window for row in rows],
            "prior_scale": [row.prior_scale for row in rows],
        }
    )
