"""Buckets: UTC minutes, and hours and days that start in the shop's own time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo


class Granularity(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


GRANULARITIES = (Granularity.MINUTE, Granularity.HOUR, Granularity.DAY)
# Every zone offset in use is a multiple of 15 minutes, so local time is constant within a
# quarter hour: the cache key.
_QUARTER = 900


@dataclass(frozen=True, slots=True)
class Buckets:
    """The three buckets an instant falls in, for one shop's zone."""

    minute: datetime  # UTC start of the minute
    hour: datetime  # UTC instant at which the local hour started
    local_hour: datetime  # naive local start of that hour
    day: datetime  # UTC instant of the local midnight
    local_date: date
    day_end: datetime  # UTC instant of the next local midnight (a day can be 23 or 25 hours)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=65_536)
def _local_quarter(
    time_zone: str, quarter: int
) -> tuple[datetime, datetime, datetime, date, datetime]:
    """(hour start UTC, local hour naive, local midnight UTC, local date, next local midnight UTC)
    for a UTC quarter hour."""
    zone = _zone(time_zone)
    local = datetime.fromtimestamp(quarter * _QUARTER, zone)
    local_hour = local.replace(minute=0, second=0, microsecond=0)
    local_midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    # Re-attach the zone so a midnight in another DST offset resolves correctly.
    day = local_midnight.replace(tzinfo=None).replace(tzinfo=zone).astimezone(UTC)
    return (
        local_hour.astimezone(UTC),
        local_hour.replace(tzinfo=None),
        day,
        local.date(),
        bucket_end(day, Granularity.DAY, time_zone),
    )


def buckets_for(epoch_seconds: int, time_zone: str) -> Buckets:
    """The minute, local hour and local day buckets of an instant (one shared object per zone and
    minute: events of the same minute get the same one)."""
    return _minute_buckets(time_zone, epoch_seconds // 60)


@lru_cache(maxsize=32_768)
def _minute_buckets(time_zone: str, minute: int) -> Buckets:
    start = minute * 60
    hour, local_hour, day, local_date, day_end = _local_quarter(time_zone, start // _QUARTER)
    return Buckets(datetime.fromtimestamp(start, UTC), hour, local_hour, day, local_date, day_end)


def bucket_end(start: datetime, granularity: Granularity, time_zone: str) -> datetime:
    """The UTC end of a bucket (a local day can be 23 or 25 hours long)."""
    if granularity is Granularity.MINUTE:
        return start + timedelta(minutes=1)
    if granularity is Granularity.HOUR:
        return start + timedelta(hours=1)
    zone = _zone(time_zone)
    local_next = (start.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)).replace(
        tzinfo=zone
    )
    return local_next.astimezone(UTC)
