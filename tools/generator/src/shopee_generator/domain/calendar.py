"""The marketplace calendar: how much a day, and each hour of it, draws compared with an ordinary one.

Everything is in the shop's local time. Pure functions of the date and the market.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from shopee_generator.domain.markets import Market

# Traffic on the double dates (1.1 ... 12.12); the last four are the year's biggest sales.
MEGA_SALE_BOOST = {9: 3.2, 10: 2.8, 11: 4.5, 12: 3.8}
DOUBLE_DATE_BOOST = 1.8
# Buyers hold back just before a mega sale and finish their carts just after it.
_BEFORE_MEGA = {1: 0.88, 2: 0.93}
_AFTER_MEGA = {1: 1.35, 2: 1.1}
# Monday first; Sunday evenings are the busiest on the app.
WEEKDAY_FACTOR = (1.04, 1.0, 0.98, 0.97, 0.95, 0.99, 1.08)
# Eid al-Fitr (first day) by year, for the Ramadan rush and the holiday lull in ID and MY.
EID_AL_FITR = {
    2020: date(2020, 5, 24),
    2021: date(2021, 5, 13),
    2022: date(2022, 5, 2),
    2023: date(2023, 4, 22),
    2024: date(2024, 4, 10),
    2025: date(2025, 3, 31),
    2026: date(2026, 3, 20),
    2027: date(2027, 3, 10),
    2028: date(2028, 2, 27),
    2029: date(2029, 2, 14),
    2030: date(2030, 2, 4),
}
# Share of a day's visits per local hour: quiet before dawn, lunch bump, late-evening peak.
_ORDINARY_HOURS: npt.NDArray[np.float64] = np.array(
    [
        2.2,
        1.2,
        0.7,
        0.45,
        0.4,
        0.55,
        1.0,
        1.7,
        2.5,
        3.1,
        3.6,
        3.9,
        4.4,
        4.2,
        3.8,
        3.6,
        3.6,
        3.8,
        4.0,
        4.6,
        5.3,
        5.8,
        5.2,
        3.8,
    ]
)
# On a double date the sale opens at midnight: a rush in the first hours.
_DOUBLE_DATE_HOURS: npt.NDArray[np.float64] = _ORDINARY_HOURS * np.array(
    [
        6.0,
        3.5,
        1.8,
        1.2,
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
        1.1,
        1.3,
        1.1,
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
        1.1,
        1.3,
        1.4,
        1.3,
        1.4,
    ]
)


def is_double_date(day: date) -> bool:
    """1.1, 2.2, ... 12.12: every month's marketplace sale day."""
    return day.day == day.month


def is_mega_sale(day: date) -> bool:
    """9.9, 10.10, 11.11 and 12.12, the biggest sales of the year."""
    return is_double_date(day) and day.month in MEGA_SALE_BOOST


def double_date_factor(day: date) -> float:
    """The sale-day lift, with the lull before and the tail after a mega sale."""
    if is_double_date(day):
        return MEGA_SALE_BOOST.get(day.month, DOUBLE_DATE_BOOST)
    for offset, factor in _BEFORE_MEGA.items():
        if is_mega_sale(day + timedelta(days=offset)):
            return factor
    for offset, factor in _AFTER_MEGA.items():
        if is_mega_sale(day - timedelta(days=offset)):
            return factor
    if is_double_date(day - timedelta(days=1)):
        return 1.1
    return 1.0


def payday_factor(day: date, market: Market) -> float:
    """Salaries land from the 25th to the 1st (and on market-specific days): people spend."""
    if day.day >= 25:
        return 1.06 + 0.015 * min(day.day - 25, 5)
    if day.day == 1:
        return 1.12
    if day.day in market.extra_paydays:
        return 1.1
    return 1.0


def ramadan_factor(day: date, market: Market) -> float:
    """The rush in the last three weeks of Ramadan, then the quiet Eid holiday."""
    if not market.observes_ramadan:
        return 1.0
    eid = EID_AL_FITR.get(day.year)
    if eid is None:
        return 1.0
    days_to_eid = (eid - day).days
    if 1 <= days_to_eid <= 21:
        return 1.0 + 0.25 * (1 - (days_to_eid - 1) / 20)
    if -2 <= days_to_eid <= 0:
        return 0.6
    if -6 <= days_to_eid <= -3:
        return 0.85
    return 1.0


def yearly_factor(day: date) -> float:
    """A mild yearly wave: strongest around the year end, weakest mid-year."""
    phase = 2 * math.pi * (day.timetuple().tm_yday - 355) / 365.25
    return 1.0 + 0.05 * math.cos(phase)


def day_factor(day: date, market: Market) -> float:
    """How much more (or less) a day draws than an ordinary weekday, before trend and noise."""
    return (
        WEEKDAY_FACTOR[day.weekday()]
        * payday_factor(day, market)
        * double_date_factor(day)
        * ramadan_factor(day, market)
        * yearly_factor(day)
    )


def hour_profile(day: date) -> npt.NDArray[np.float64]:
    """The share of the day's visits in each local hour (24 numbers summing to 1)."""
    weights = _DOUBLE_DATE_HOURS if is_double_date(day) else _ORDINARY_HOURS
    return np.asarray(weights / weights.sum(), dtype=np.float64)
