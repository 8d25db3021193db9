"""KPI questions: validation, canonical keys, periods and ratio rollups."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shopee_common.kpis import KPI_BY_NAME
from shopee_gateway.kpi_query import ExportQuery, KpiQuery, Period, change, kpi_value


def query(**overrides: object) -> KpiQuery:
    values = {"shops": ["b", "a"], "kpis": ["gmv"], "from": "2026-03-01", "to": "2026-03-02"}
    return KpiQuery.model_validate({**values, **overrides})


def test_naive_times_are_read_in_the_time_zone_and_shops_sorted() -> None:
    q = query(time_zone="Asia/Jakarta")
    assert q.start == datetime(2026, 2, 28, 17, tzinfo=UTC)
    assert q.shops == ["a", "b"]
    assert q.cache_key() == query(shops=["a", "b", "a"], time_zone="Asia/Jakarta").cache_key()
    assert q.cache_key() != query(time_zone="UTC").cache_key()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kpis": ["gmv", "nope"]}, "unknown KPIs"),
        ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"to": "2026-02-01"}, "after `from`"),
        ({"interval": "minute", "to": "2026-06-01"}, "points"),
        ({"product_id": "p1", "kpis": ["aov"]}, "not kept per product"),
        ({"product_id": "p1", "interval": "minute"}, "per hour and per day"),
        ({"from": "1900-01-01"}, "within"),
    ],
)
def test_invalid_questions_say_why(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        query(**overrides)


def test_exports_have_no_size_cap() -> None:
    values = {"shops": ["a"], "kpis": ["gmv"], "from": "2020-01-01", "to": "2026-01-01"}
    assert ExportQuery.model_validate({**values, "interval": "minute"}).products is False


def test_previous_period_has_the_same_length() -> None:
    period = Period(start=date(2026, 3, 1), end=date(2026, 3, 7))
    assert period.days == 7
    assert (period.previous().start, period.previous().end) == (
        date(2026, 2, 22),
        date(2026, 2, 28),
    )
    with pytest.raises(ValidationError):
        Period(start=date(2026, 3, 2), end=date(2026, 3, 1))


def test_ratios_are_recomputed_from_parts_not_averaged() -> None:
    aov = KPI_BY_NAME["aov"]
    # Two days: 100/1 and 300/3 average to 100 either way; 100/1 and 900/9 too; but 10/1 and 90/9:
    assert kpi_value(aov, Decimal(10 + 900), Decimal(1 + 9)) == 91.0
    assert kpi_value(aov, Decimal(5), Decimal(0)) is None
    assert kpi_value(KPI_BY_NAME["gmv"], Decimal(7), None) == 7.0
    assert change(12.0, 10.0) == (2.0, 0.2)
    assert change(3.0, 0.0) == (3.0, None)
    assert change(None, 1.0) == (None, None)
