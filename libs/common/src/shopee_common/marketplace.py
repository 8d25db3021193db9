"""The marketplace calendar every service reads the same way (pure).

Shopee's sale days are the same in every market: the double dates (1.1 ... 12.12), of which 9.9,
10.10, 11.11 and 12.12 are the year's mega sales. Salaries land from the 25th to the 1st, and in
the Philippines on the 15th too. In the Muslim-majority markets Ramadan shapes shopping: a rush
before Eid al-Fitr, a quiet holiday week after it.

The stream job's anomaly baselines, the forecast models' holiday effects and the price models'
controls all come from here, so a sale day or a holiday is one thing across the platform.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from hijridate import Gregorian, Hijri

MEGA_SALE_MONTHS = frozenset({9, 10, 11, 12})
# Muslim-majority markets, where Ramadan and Eid al-Fitr move the whole shop.
RAMADAN_MARKETS = frozenset({"ID", "MY", "BN"})
# Paydays besides the end of the month.
MID_MONTH_PAYDAY = {"PH": 15}
# IANA zone -> ISO market, for shops whose market is not known otherwise.
MARKET_BY_TIME_ZONE = {
    "Asia/Jakarta": "ID",
    "Asia/Makassar": "ID",
    "Asia/Jayapura": "ID",
    "Asia/Pontianak": "ID",
    "Asia/Kuala_Lumpur": "MY",
    "Asia/Kuching": "MY",
    "Asia/Manila": "PH",
    "Asia/Bangkok": "TH",
    "Asia/Singapore": "SG",
    "Asia/Ho_Chi_Minh": "VN",
    "Asia/Saigon": "VN",
    "Asia/Brunei": "BN",
}
SUPPORTED_MARKETS = frozenset(MARKET_BY_TIME_ZONE.values())


def is_double_date(day: date) -> bool:
    """A marketplace sale day: the month's number twice (3.3, 11.11)."""
    return day.day == day.month


def is_mega_sale(day: date) -> bool:
    """One of the year's four biggest sales (9.9, 10.10, 11.11, 12.12)."""
    return is_double_date(day) and day.month in MEGA_SALE_MONTHS


def is_payday(day: date, market: str = "") -> bool:
    """From the 25th to the 1st everywhere; also mid-month where salaries are paid twice."""
    return day.day >= 25 or day.day == 1 or day.day == MID_MONTH_PAYDAY.get(market)


def market_of(market: str | None, time_zone: str) -> str:
    """The shop's market: its registered market if supported, else guessed from its zone
    (Indonesia, the largest, when the zone says nothing)."""
    if market and market.upper() in SUPPORTED_MARKETS:
        return market.upper()
    return MARKET_BY_TIME_ZONE.get(time_zone, "ID")


@lru_cache(maxsize=64)
def ramadan_and_eid(year: int) -> tuple[date, date]:
    """(first day of Ramadan, Eid al-Fitr) in the Gregorian `year`, by the Umm al-Qura calendar
    (local sightings may differ by a day)."""
    hijri_year = Gregorian(year, 6, 1).to_hijri().year
    eid = Hijri(hijri_year, 10, 1).to_gregorian()
    if eid.year != year:
        hijri_year += 1 if eid.year < year else -1
        eid = Hijri(hijri_year, 10, 1).to_gregorian()
    ramadan = Hijri(hijri_year, 9, 1).to_gregorian()
    return date(ramadan.year, ramadan.month, ramadan.day), date(eid.year, eid.month, eid.day)
