"""A series ends on the last day its source is counted to: while the stream job works through a
backlog of traffic, the days after its watermark have no rows, and they are not days without
visitors (domain/completeness.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shopee_forecast.adapters.store import Shop
from shopee_forecast.domain.completeness import SOURCE_QUIET, SourceMark, last_counted_day
from shopee_forecast.domain.series import SeriesKey, Target
from shopee_forecast.training import Trainer, TrainingOptions

SHOP = Shop("s1", "Asia/Jakarta", "ID")
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
YESTERDAY = date(2026, 12, 6)  # in Jakarta (UTC+7) it is 10:00 on 7 December


def test_a_source_still_being_counted_ends_the_day_before_its_watermark() -> None:
    # 18:30 UTC on 1 June is 01:30 on 2 June in Jakarta: 2 June may still be filling.
    mark = SourceMark(datetime(2026, 6, 1, 18, 30, tzinfo=UTC), NOW - timedelta(seconds=5))
    assert last_counted_day(mark, YESTERDAY, SHOP.time_zone, NOW) == date(2026, 6, 1)


def test_a_live_source_ends_on_the_last_complete_day() -> None:
    mark = SourceMark(NOW - timedelta(minutes=1), NOW - timedelta(seconds=5))
    assert last_counted_day(mark, YESTERDAY, SHOP.time_zone, NOW) == YESTERDAY


def test_a_quiet_source_has_nothing_more_coming_so_its_empty_days_are_zeros() -> None:
    quiet_since = NOW - SOURCE_QUIET
    mark = SourceMark(quiet_since - timedelta(days=3), quiet_since)
    assert last_counted_day(mark, YESTERDAY, SHOP.time_zone, NOW) == YESTERDAY


def test_a_source_never_counted_has_no_day() -> None:
    assert last_counted_day(None, YESTERDAY, SHOP.time_zone, NOW) is None


FIRST = date(2026, 1, 1)
TRAFFIC_COUNTED_TO = date(2026, 3, 31)


class _Store:
    """Orders counted to yesterday; traffic to 31 March (the job is catching up on it)."""

    def __init__(self, traffic: bool = True) -> None:
        self.traffic = traffic

    async def history_bounds(
        self, shop: Shop, source: str | None = None
    ) -> tuple[date, date] | None:
        if source == "traffic":
            return (FIRST, TRAFFIC_COUNTED_TO) if self.traffic else None
        return FIRST, YESTERDAY

    async def daily_values(
        self, shop_id: str, product_id: str, kpi: str
    ) -> list[tuple[date, float]]:
        last = TRAFFIC_COUNTED_TO if kpi == Target.VISITORS.value else YESTERDAY
        return [(FIRST + timedelta(days=i), 5.0) for i in range((last - FIRST).days + 1)]

    async def campaigns(self, shop_id: str) -> list[Any]:
        return []


def _trainer(store: _Store) -> Trainer:
    executor: Any = ThreadPoolExecutor(1)
    return Trainer(store, None, executor, TrainingOptions())  # type: ignore[arg-type]


async def test_each_series_ends_where_its_own_source_is_counted_to() -> None:
    keys = [SeriesKey(SHOP.shop_id, Target.GMV), SeriesKey(SHOP.shop_id, Target.VISITORS)]
    gmv, visitors = await _trainer(_Store()).series_tasks(SHOP, keys)
    assert gmv.history.frame["ds"].iloc[-1].date() == YESTERDAY
    assert visitors.history.frame["ds"].iloc[-1].date() == TRAFFIC_COUNTED_TO
    assert (visitors.history.frame["y"] == 5.0).all(), "no uncounted day reads as 0 visitors"


async def test_a_shop_without_counted_traffic_has_no_visitor_history() -> None:
    [visitors] = await _trainer(_Store(traffic=False)).series_tasks(
        SHOP, [SeriesKey(SHOP.shop_id, Target.VISITORS)]
    )
    assert visitors.history.frame.empty
