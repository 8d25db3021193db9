"""KPI reads: the series answer splices the points' JSON PostgreSQL wrote (with the numbers it
marks rewritten by orjson) into the very bytes the response model would write; a zone the
database does not know is a 422; the bucket bounds of a local-date question hold every local
day's bucket in any zone. (tests/integration/test_gateway_series_json.py holds whole answers
written by the real PostgreSQL equal to the model's.)"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from shopee_common.kpis import KPI_BY_NAME, Rollup
from shopee_gateway.api.kpi_models import Point, Series, SeriesResponse
from shopee_gateway.api.kpis import build_series, series_answer
from shopee_gateway.errors import ProblemError
from shopee_gateway.kpi_query import KpiQuery, Period, kpi_value
from shopee_gateway.repositories.kpis import SeriesText, UnknownTimeZoneError, bucket_bounds
from shopee_gateway.repositories.series_json import points_json

START = datetime(2026, 3, 1, 17, tzinfo=UTC)
# (numerator, denominator): ordinary parts, a ratio with nothing to divide by, and parts whose
# text PostgreSQL's notation would get wrong (NaN, infinity, tiny, huge, past 2**53).
PARTS = [
    (1234.5, 7.0),
    (0.0, 0.0),
    (math.nan, 3.0),
    (math.inf, 2.0),
    (1.5e-05, 1.0),
    (1.2345678901234568e16, 0.25),
    (8.84650124e19, 1e-300),
]


def _marked(value: float) -> str:
    """A number as the SQL writes it when PostgreSQL's text would differ: marked, exact."""
    return f"#{value!r}#".replace("nan", "NaN").replace("inf", "Infinity")


def _points_text(query: KpiQuery, kpi: str) -> str:
    """The points of one series as `series_sql` writes them for PARTS: every number marked
    (the fewest digits that read back, as PostgreSQL writes them), ratios as parts."""
    zone = ZoneInfo(query.time_zone)
    ratio = KPI_BY_NAME[kpi].rollup is Rollup.RATIO
    points = []
    for hour, (numerator, denominator) in enumerate(PARTS):
        label = (START + timedelta(hours=hour)).astimezone(zone).isoformat()
        if not ratio:
            value, shown_denominator = _marked(numerator), "null"
        else:
            shown_denominator = _marked(denominator)
            value = "null" if denominator == 0 else f"#{numerator!r}/{denominator!r}#"
            value = value.replace("nan", "NaN").replace("inf", "Infinity")
        points.append(
            f'{{"bucket":"{label}","value":{value},"numerator":{_marked(numerator)},'
            f'"denominator":{shown_denominator}}}'
        )
    return ",".join(points)


def _model_json(query: KpiQuery, shops: list[str | None]) -> bytes:
    """What SeriesResponse itself writes for PARTS in each of the shops' series."""
    zone = ZoneInfo(query.time_zone)
    series = []
    for shop in shops:
        for name in sorted(query.kpis):
            kpi = KPI_BY_NAME[name]
            ratio = kpi.rollup is Rollup.RATIO
            points = [
                Point(
                    bucket=(START + timedelta(hours=hour)).astimezone(zone).isoformat(),
                    value=kpi_value(kpi, numerator, denominator if ratio else None),
                    numerator=numerator,
                    denominator=denominator if ratio else None,
                )
                for hour, (numerator, denominator) in enumerate(PARTS)
            ]
            series.append(
                Series(shop_id=shop, kpi=name, title=kpi.title, unit=kpi.unit.value, points=points)
            )
    response = SeriesResponse(
        interval=query.interval.value, time_zone=query.time_zone, series=series
    )
    return response.model_dump_json(by_alias=True).encode()


def _query(group: str) -> KpiQuery:
    return KpiQuery.model_validate(
        {
            "shops": ["shop-a", "shop-b"],
            "kpis": ["gmv", "conversion_rate"],
            "from": "2026-03-02",
            "to": "2026-03-03",
            "time_zone": "Asia/Jakarta",
            "group": group,
        }
    )


def _series(query: KpiQuery, shops: list[str | None]) -> list[SeriesText]:
    return [
        SeriesText(shop, kpi, points_json(_points_text(query, kpi)))
        for shop in shops
        for kpi in sorted(query.kpis)
    ]


@pytest.mark.parametrize(
    ("group", "shops"), [("shop", ["shop-a", "shop-b"]), ("total", [None])], ids=str
)
def test_series_bytes_equal_the_response_model(group: str, shops: list[str | None]) -> None:
    query = _query(group)
    answer = build_series(query, _series(query, shops))
    assert answer == _model_json(query, shops)
    assert orjson.loads(answer)["series"][0]["points"][1]["bucket"] == "2026-03-02T01:00:00+07:00"


def test_marked_numbers_are_written_by_orjson() -> None:
    text = "#1e-05#,#-Infinity#,#NaN#,#8.846501240000001e+19#,#3.0/0.25#,#1e+300/1e-10#,0.5"
    expected = [1e-05, None, None, 8.846501240000001e19, 12.0, None, 0.5]
    assert points_json(text) == orjson.dumps(expected)[1:-1]
    assert points_json("1.0,2.5") == b"1.0,2.5"


class _NoZoneRepository:
    async def series(self, query: KpiQuery) -> list[SeriesText]:
        raise UnknownTimeZoneError(query.time_zone)


async def test_a_zone_the_database_does_not_know_is_422() -> None:
    with pytest.raises(ProblemError) as raised:
        await series_answer(_NoZoneRepository(), _query("shop"))  # type: ignore[arg-type]
    assert raised.value.status == 422
    assert raised.value.extra["errors"][0]["field"] == "query.time_zone"


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12", "Asia/Jakarta", "UTC"])
def test_bucket_bounds_hold_every_local_midnight(zone: str) -> None:
    period = Period(start=date(2026, 3, 1), end=date(2026, 3, 31))
    low, high = bucket_bounds(period)
    for day in (period.start, period.end):
        midnight = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))
        assert low <= midnight < high
    assert high - low == timedelta(days=32)
