"""Which days of a series are counted: a day without a KPI row is a day without events only once
the stream job has read its source past that day (pure).

The job keeps, per shop and source (order, traffic, ...), the newest event time it has counted
(the watermark) and the wall time that moved last (`stream_watermarks`). While the job works
through a source's backlog (a new shop's history, a catch-up after an outage), the days after
its watermark have no rows yet, and read as zeros they would teach a model that the shop's
traffic or sales just stopped. A source that has been quiet for a day has nothing more coming:
a small shop with no order for two days has had two days of zero sales.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

# Longer than a day, so that a source fed once a day (a Seller Centre export imported each
# morning) still bounds the series between its imports.
SOURCE_QUIET = timedelta(days=1, hours=6)


@dataclass(frozen=True, slots=True)
class SourceMark:
    """One row of `stream_watermarks`."""

    watermark: datetime
    updated_at: datetime


def last_counted_day(
    mark: SourceMark | None, last_day: date, time_zone: str, now: datetime
) -> date | None:
    """The last day, at most `last_day`, whose events of the source the job has all counted;
    None when it has counted none (the shop has no such events, or they are not read yet).

    A source still moving (its watermark changed within SOURCE_QUIET) is counted up to the day
    before its watermark's shop-local day; that day itself may still be filling."""
    if mark is None:
        return None
    if now - mark.updated_at >= SOURCE_QUIET:
        return last_day
    return min(last_day, mark.watermark.astimezone(ZoneInfo(time_zone)).date() - timedelta(days=1))
