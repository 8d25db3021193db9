"""The shared marketplace calendar: sale days, paydays, Ramadan and Eid, markets."""

from __future__ import annotations

from datetime import date

import pytest

from shopee_common.marketplace import (
    is_double_date,
    is_mega_sale,
    is_payday,
    market_of,
    ramadan_and_eid,
)


def test_double_dates_and_the_four_mega_sales() -> None:
    days = [date(2026, m, d) for m in range(1, 13) for d in (1, m, 28)]
    assert sorted({d for d in days if is_double_date(d)}) == [
        date(2026, m, m) for m in range(1, 13)
    ]
    assert [m for m in range(1, 13) if is_mega_sale(date(2026, m, m))] == [9, 10, 11, 12]
    assert not is_mega_sale(date(2026, 11, 12))


@pytest.mark.parametrize(
    ("day", "market", "payday"),
    [
        (date(2026, 5, 25), "ID", True),
        (date(2026, 5, 31), "ID", True),
        (date(2026, 6, 1), "ID", True),
        (date(2026, 5, 24), "ID", False),
        (date(2026, 5, 15), "PH", True),
        (date(2026, 5, 15), "ID", False),
    ],
)
def test_paydays_run_from_the_25th_to_the_1st_and_mid_month_in_the_philippines(
    day: date, market: str, payday: bool
) -> None:
    assert is_payday(day, market) is payday


def test_the_hijri_calendar_gives_a_29_or_30_day_ramadan_before_eid() -> None:
    assert ramadan_and_eid(2026)[1] == date(2026, 3, 20)
    for year in (2024, 2025, 2026, 2030, 2035):
        start, eid = ramadan_and_eid(year)
        assert eid.year == year
        assert 29 <= (eid - start).days <= 30


def test_market_comes_from_the_shop_or_else_its_time_zone() -> None:
    assert market_of("ph", "Asia/Jakarta") == "PH"
    assert market_of("", "Asia/Bangkok") == "TH"
    assert market_of("US", "Asia/Ho_Chi_Minh") == "VN"
    assert market_of(None, "Europe/Paris") == "ID"
