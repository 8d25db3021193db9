"""The marketplace calendar: sale days, paydays, Ramadan and Lebaran, public holidays."""

from __future__ import annotations

import math
from datetime import date

import holidays
import pytest

from shopee_common.marketplace import SUPPORTED_MARKETS
from shopee_forecast.domain.calendar import (
    MEGA_SALE_DEVIATION_PRIOR,
    CalendarDay,
    calendar_days,
    holiday_frame,
)


def _days(name: str, market: str, year: int = 2025) -> list[date]:
    rows = calendar_days(date(year, 1, 1), date(year, 12, 31), market)
    return sorted(row.day for row in rows if row.name == name)


def test_every_double_date_is_a_sale_and_the_last_four_are_mega_sales_with_windows() -> None:
    rows = calendar_days(date(2025, 1, 1), date(2025, 12, 31), "TH")
    sales: dict[date, list[CalendarDay]] = {}
    for row in rows:
        if "double" in row.name or "mega" in row.name:
            sales.setdefault(row.day, []).append(row)
    assert sorted(sales) == [date(2025, m, m) for m in range(1, 13)]
    shared, own = sorted(sales[date(2025, 11, 11)], key=lambda row: row.name)
    # One effect shared by the mega sales, with the days around them, and 11.11's own
    # deviation from it, held close to 0 unless the history insists.
    assert (shared.name, shared.lower_window, shared.upper_window) == ("mega_sale", -2, 2)
    assert math.isnan(shared.prior_scale)
    assert (own.name, own.lower_window, own.upper_window) == ("mega_sale_11_11", 0, 0)
    assert own.prior_scale == MEGA_SALE_DEVIATION_PRIOR
    assert [row.name for row in sales[date(2025, 3, 3)]] == ["double_date"]


def test_paydays_run_from_the_25th_to_the_1st_and_the_philippines_adds_the_15th() -> None:
    paydays = _days("payday", "ID")
    assert date(2025, 1, 25) in paydays
    assert date(2025, 1, 31) in paydays
    assert date(2025, 2, 1) in paydays
    assert date(2025, 1, 24) not in paydays
    assert _days("payday_mid_month", "PH")[:2] == [date(2025, 1, 15), date(2025, 2, 15)]
    assert _days("payday_mid_month", "ID") == []


def test_ramadan_and_lebaran_only_where_they_shape_shopping() -> None:
    eid_id = next(
        d for d, n in holidays.country_holidays("ID", years=2025).items() if n == "Eid al-Fitr"
    )
    assert _days("lebaran", "ID") == [eid_id]
    ramadan = _days("ramadan", "MY")
    assert ramadan
    assert ramadan[-1] < _days("lebaran", "MY")[0]
    assert _days("ramadan", "TH") == []
    assert _days("lebaran", "VN") == []


@pytest.mark.parametrize("market", sorted(SUPPORTED_MARKETS))
def test_each_market_has_its_public_holidays(market: str) -> None:
    expected = {d for d in holidays.country_holidays(market, years=2025)}
    assert set(_days("public_holiday", market)) == expected


def test_the_holiday_frame_covers_the_future_and_has_prophets_columns() -> None:
    frame = holiday_frame(date(2025, 1, 1), date(2025, 12, 31), "SG")
    assert list(frame.columns) == ["holiday", "ds", "lower_window", "upper_window", "prior_scale"]
    assert frame["ds"].max().date() >= date(2025, 12, 25)
