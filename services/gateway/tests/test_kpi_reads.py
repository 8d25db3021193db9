"""KPI reads: the series answer is written with orjson from plain dicts and must be the very
bytes the response model would write (sums, ratios, undefined ones, totals across shops); the
bucket bounds of a local-date question must hold every local day's bucket in any zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shopee_common.kpis import KPI_BY_NAME
from shopee_gateway.api.kpi_models import Point, Series, SeriesResponse
from shopee_gateway.api.kpis import build_series
from shopee_gateway.kpi_query import KpiQuery, Period, kpi_value
from shopee_gateway.repositories.kpis import SeriesRow, bucket_bounds

START = datetime(2026, 3, 1, 17, tzinfo=UTC)


def _rows(shops: list[str | None]) -> list[SeriesRow]:
    rows = []
    for shop in shops:
        for kpi in ("conversion_rate", "gmv"):  # ordered by shop, kpi, bucket
            for hour in range(3):
                denominator = float(hour * 7) if kpi == "conversion_rate" else None
                rows.append(
                    SeriesRow(shop, kpi, START + timedelta(hours=hour), 1234.5 * hour, denominator)
                )
    return rows


def _model_json(query: KpiQuery, rows: list[SeriesRow]) -> bytes:
    """What SeriesResponse itself writes for the rows."""
    series: dict[tuple[str | None, str], list[Point]] = {}
    for row in rows:
        kpi = KPI_BY_NAME[row.kpi]
        series.setdefault((row.shop_id, row.kpi), []).append(
            Point(
                bucket=row.bucket.astimezone(ZoneInfo(query.time_zone)).isoformat(),
                value=kpi_value(kpi, row.numerator, row.denominator),
                numerator=row.numerator,
                denominator=row.denominator,
            )
        )
    return (
        SeriesResponse(
            interval=query.interval.value,
            time_zone=query.time_zone,
            series=[
                Series(
                    shop_id=shop,
                    kpi=name,
                    title=KPI_BY_NAME[name].title,
                    unit=KPI_BY_NAME[name].unit.value,
                    points=points,
                )
                for (shop, name), points in series.items()
            ],
        )
        .model_dump_json(by_alias=True)
        .encode()
    )


def test_series_bytes_equal_the_response_model() -> None:
    query = KpiQuery.model_validate(
        {
            "shops": ["shop-a", "shop-b"],
            "kpis": ["gmv", "conversion_rate"],
            "from": "2026-03-02",
            "to": "2026-03-03",
            "time_zone": "Asia/Jakarta",
        }
    )
    rows = _rows(["shop-a", "shop-b"])
    answer = build_series(query, rows)
    assert answer == _model_json(query, rows)
    assert b'"value":null' in answer  # the ratio with nothing to divide by
    assert b'"bucket":"2026-03-02T00:00:00+07:00"' in answer


def test_total_series_bytes_equal_the_response_model() -> None:
    query = KpiQuery.model_validate(
        {
            "shops": ["shop-a", "shop-b"],
            "kpis": ["gmv", "conversion_rate"],
            "from": "2026-03-02",
            "to": "2026-03-03",
            "group": "total",
        }
    )
    rows = _rows([None])
    assert build_series(query, rows) == _model_json(query, rows)
    assert b'"shop_id":null' in build_series(query, rows)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12", "Asia/Jakarta", "UTC"])
def test_bucket_bounds_hold_every_local_midnight(zone: str) -> None:
    period = Period(start=date(2026, 3, 1), end=date(2026, 3, 31))
    low, high = bucket_bounds(period)
    for day in (period.start, period.end):
        midnight = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))
        assert low <= midnight < high
    assert high - low == timedelta(days=32)
