"""Local days in a shop's time zone, as UTC epoch milliseconds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA zone by name (cached)."""
    return ZoneInfo(name)


def local_midnight_ms(day: date, time_zone: str) -> int:
    """UTC epoch milliseconds of 00:00 on `day` in `time_zone`."""
    return int(datetime(day.year, day.month, day.day, tzinfo=zone(time_zone)).timestamp() * 1000)


def local_date(epoch_ms: int, time_zone: str) -> date:
    """The local calendar date, in `time_zone`, of an instant."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=zone(time_zone)).date()


def to_utc(epoch_ms: int) -> datetime:
    """An epoch-milliseconds instant as an aware UTC datetime."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=epoch_ms)
