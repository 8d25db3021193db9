"""KPI series written by PostgreSQL (shopee_gateway.repositories.series_json) against the
Python path they replaced: the rows read as float8, labelled with zoneinfo and written by the
response model must be the very same bytes, for every interval, per shop and across shops,
product series, ratios with nothing to divide by, NaN/infinite/tiny/huge parts, and labels
across DST changes in zones with whole-hour, half-hour and 45-minute offsets."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from zoneinfo import ZoneInfo

import asyncpg
import orjson
import psycopg
import pytest

from shopee_common.kpis import KPI_BY_NAME, Rollup
from shopee_db import upgrade
from shopee_db.testing import temporary_database
from shopee_gateway.api.kpi_models import Point, Series, SeriesResponse
from shopee_gateway.api.kpis import build_series
from shopee_gateway.kpi_query import Interval, KpiQuery, kpi_value
from shopee_gateway.repositories.kpis import TABLES, KpiRepository, UnknownTimeZoneError
from shopee_gateway.repositories.series_json import SESSION, json_number, points_json
from tests.integration.databases import register_shops

pytestmark = pytest.mark.integration

SHOPS = {
    "shop-jkt": "Asia/Jakarta",
    "shop-lhi": "Australia/Lord_Howe",  # DST moves the clock by 30 minutes
    "shop-lon": "Europe/London",
    "shop-nyc": "America/New_York",
}
KPIS = ["gmv", "conversion_rate", "unique_visitors"]  # a sum, a ratio, a distinct count
PRODUCT, PRODUCT_KPIS = "sku-1", ["add_to_cart_rate", "gmv"]
QUERY_ZONES = [
    "UTC",
    "Asia/Jakarta",
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Asia/Kathmandu",
]
FIRST_DAY, LAST_DAY = date(2026, 3, 1), date(2026, 4, 10)
# Minutes around the 2026 changes: New York (Mar 8), London (Mar 29), Lord Howe (Apr 5 local).
MINUTE_WINDOWS = [
    (datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 8, 9, tzinfo=UTC)),
    (datetime(2026, 3, 29, 0, tzinfo=UTC), datetime(2026, 3, 29, 2, tzinfo=UTC)),
    (datetime(2026, 4, 4, 14, tzinfo=UTC), datetime(2026, 4, 4, 16, tzinfo=UTC)),
]
# Parts whose JSON PostgreSQL's own number text would get wrong.
ODD_PARTS = [
    Decimal("NaN"),
    Decimal("Infinity"),
    Decimal("0.00001"),
    Decimal("0.000015"),
    Decimal("1234567890123456.7"),
    Decimal("12345678901234567"),
    Decimal("88465012400000000000"),
    Decimal("1E-200"),
    Decimal("0.3"),
]
# Ratios: nothing to divide by, quotients PostgreSQL's division refuses (overflow, underflow
# to zero), parts below 1, NaN and infinite parts.
ODD_RATIOS = [
    (Decimal(7), Decimal(0)),
    (Decimal("1E+300"), Decimal("1E-10")),
    (Decimal("1E-200"), Decimal("1E+200")),
    (Decimal(3), Decimal("0.25")),
    (Decimal("0.3"), Decimal(7)),
    (Decimal("NaN"), Decimal(5)),
    (Decimal("Infinity"), Decimal(3)),
    (Decimal(5), Decimal("NaN")),
]

Key = tuple[str, str, str, datetime]  # shop, product, kpi, bucket


def _parts(rng: random.Random, kpi: str) -> tuple[Decimal, Decimal | None]:
    ratio = KPI_BY_NAME[kpi].rollup is Rollup.RATIO
    if ratio and rng.random() < 0.05:
        return rng.choice(ODD_RATIOS)
    if rng.random() < 0.03:
        numerator = rng.choice(ODD_PARTS)
    elif rng.random() < 0.2:
        numerator = Decimal(rng.randint(0, 10**8)) / 100
    else:
        numerator = Decimal(rng.randint(0, 10 ** rng.randint(1, 12)))
    return numerator, Decimal(rng.randint(0, 40)) if ratio else None


def _buckets(zone: str) -> dict[str, list[datetime]]:
    """Each table's buckets of a shop: some minutes of the windows, every hour, local days."""
    rng = random.Random(zone)
    minutes = [
        start + timedelta(minutes=m)
        for start, end in MINUTE_WINDOWS
        for m in range(int((end - start) / timedelta(minutes=1)))
        if rng.random() < 0.6
    ]
    first = datetime.combine(FIRST_DAY, datetime.min.time(), UTC)
    hours = [first + timedelta(hours=h) for h in range((LAST_DAY - FIRST_DAY).days * 24)]
    days = [
        datetime.combine(FIRST_DAY + timedelta(days=d), datetime.min.time(), ZoneInfo(zone))
        for d in range((LAST_DAY - FIRST_DAY).days)
    ]
    return {"kpi_minute": minutes, "kpi_hour": hours, "kpi_day": days}


def _load(dsn: str) -> None:
    rng = random.Random(20261125)
    with psycopg.connect(dsn) as connection:
        for table in TABLES.values():
            local = {"kpi_minute": "", "kpi_hour": ", local_hour", "kpi_day": ", local_date"}
            with connection.cursor().copy(
                f"COPY {table} (shop_id, product_id, kpi, bucket, numerator, denominator, value"
                f"{local[table]}) FROM STDIN"
            ) as copy:
                for shop, zone in SHOPS.items():
                    series = [("", kpi) for kpi in KPIS]
                    if table != "kpi_minute":
                        series += [(PRODUCT, kpi) for kpi in PRODUCT_KPIS]
                    for product, kpi in series:
                        for bucket in _buckets(zone)[table]:
                            num, den = _parts(rng, kpi)
                            value = kpi_value(KPI_BY_NAME[kpi], num, den)
                            row: list[object] = [shop, product, kpi, bucket, num, den, value]
                            local_time = bucket.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
                            if table == "kpi_hour":
                                row.append(local_time)
                            elif table == "kpi_day":
                                row.append(local_time.date())
                            copy.write_row(row)


@pytest.fixture(scope="module")
def series_database(database_url: str) -> Iterator[str]:
    with temporary_database(database_url) as dsn:
        upgrade(dsn)
        register_shops(dsn, SHOPS)
        _load(dsn)
        yield dsn


@pytest.fixture
async def pool(series_database: str) -> AsyncIterator[asyncpg.Pool]:
    # As the gateway's pool (app.py): statements planned for their arguments.
    async with asyncpg.create_pool(
        series_database,
        min_size=1,
        max_size=2,
        server_settings={"plan_cache_mode": "force_custom_plan"},
    ) as created:
        yield created


async def _python_answer(pool: asyncpg.Pool, query: KpiQuery) -> bytes:
    """The replaced path: float8 rows ordered by shop, KPI and bucket (sums per bucket, or per
    local date, across shops), labelled with zoneinfo, written by the response model."""
    where = (
        f"FROM {TABLES[query.interval]} WHERE shop_id = ANY($1::text[]) "
        "AND kpi = ANY($2::text[]) AND product_id = $3 AND bucket >= $4 AND bucket < $5"
    )
    sums = "sum(numerator)::float8, sum(denominator)::float8"
    if query.group == "shop":
        sql = (
            f"SELECT shop_id, kpi, bucket, numerator::float8, denominator::float8 {where} "
            'ORDER BY shop_id COLLATE "C", kpi COLLATE "C", bucket'
        )
    elif query.interval is Interval.DAY:
        sql = (
            f"SELECT NULL, kpi, min(bucket), {sums} {where} "
            'GROUP BY kpi, local_date ORDER BY kpi COLLATE "C", local_date'
        )
    else:
        sql = (
            f"SELECT NULL, kpi, bucket, {sums} {where} "
            'GROUP BY kpi, bucket ORDER BY kpi COLLATE "C", bucket'
        )
    rows = await pool.fetch(sql, query.shops, query.kpis, query.product_id, query.start, query.end)
    zone = ZoneInfo(query.time_zone)
    series = []
    for (shop, name), group in groupby(rows, key=lambda row: (row[0], row[1])):
        kpi = KPI_BY_NAME[name]
        points = [
            Point(
                bucket=bucket.astimezone(zone).isoformat(),
                value=kpi_value(kpi, num, den),
                numerator=num,
                denominator=den,
            )
            for _, _, bucket, num, den in group
        ]
        series.append(
            Series(shop_id=shop, kpi=name, title=kpi.title, unit=kpi.unit.value, points=points)
        )
    response = SeriesResponse(
        interval=query.interval.value, time_zone=query.time_zone, series=series
    )
    return response.model_dump_json(by_alias=True).encode()


def _questions(zone: str) -> list[dict[str, object]]:
    shops = sorted(SHOPS)
    questions: list[dict[str, object]] = [
        {"interval": "minute", "from": start.isoformat(), "to": end.isoformat()}
        for start, end in MINUTE_WINDOWS
    ]
    period = {"from": FIRST_DAY.isoformat(), "to": LAST_DAY.isoformat()}
    questions += [{"interval": "hour", **period}, {"interval": "day", **period}]
    questions = [
        {"shops": shops, "kpis": KPIS, "time_zone": zone, "group": group, **question}
        for question in questions
        for group in ("shop", "total")
    ]
    return questions + [
        {
            "shops": shops,
            "kpis": PRODUCT_KPIS,
            "product_id": PRODUCT,
            "time_zone": zone,
            "group": group,
            "interval": interval,
            **period,
        }
        for interval in ("hour", "day")
        for group in ("shop", "total")
    ]


@pytest.mark.parametrize("zone", QUERY_ZONES)
async def test_answers_equal_the_python_path(pool: asyncpg.Pool, zone: str) -> None:
    repo = KpiRepository(pool)
    odd = False
    for question in _questions(zone):
        query = KpiQuery.model_validate(question)
        answer = build_series(query, await repo.series(query))
        assert answer == await _python_answer(pool, query), question
        points = [p for s in orjson.loads(answer)["series"] for p in s["points"]]
        assert points, question
        odd = odd or any(p["value"] is None for p in points)
    assert odd  # undefined ratios and NaN/infinite parts were among the answers


async def test_no_rows_is_no_series(pool: asyncpg.Pool) -> None:
    query = KpiQuery.model_validate(
        {"shops": ["shop-jkt"], "kpis": KPIS, "from": "2025-01-01", "to": "2025-01-03"}
    )
    answer = build_series(query, await KpiRepository(pool).series(query))
    assert answer == await _python_answer(pool, query)
    assert orjson.loads(answer)["series"] == []


def _doubles(rng: random.Random, count: int) -> list[float]:
    """Doubles of every magnitude, whole numbers past 2**53, and neighbours of the notations'
    edges (1e-5, 1e-4, 1e15, 1e16)."""
    values = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-30, 30) for _ in range(count)]
    values += [float(rng.randint(-(10**18), 10**18)) for _ in range(count)]
    values += [rng.randint(0, 10**6) / rng.randint(1, 10**7) for _ in range(count)]
    for edge in (1e-5, 1e-4, 1e15, 1e16):
        below = above = edge
        for _ in range(50):
            below, above = math.nextafter(below, 0), math.nextafter(above, math.inf)
            values += [below, above, -below]
    return [*values, 0.0, -0.0, 5e-324, 1.7976931348623157e308, float("nan"), float("inf")]


async def test_numbers_are_written_as_orjson_writes_them(pool: asyncpg.Pool) -> None:
    values = _doubles(random.Random(7), 4000)
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(SESSION, "UTC")
        texts = await connection.fetchval(
            f"SELECT array_agg({json_number('x')} ORDER BY i) "
            "FROM unnest($1::float8[]) WITH ORDINALITY AS numbers(x, i)",
            values,
        )
    assert points_json(",".join(texts)) == orjson.dumps(values)[1:-1]


async def test_a_zone_the_database_does_not_know(pool: asyncpg.Pool) -> None:
    query = KpiQuery.model_validate(
        {"shops": ["shop-jkt"], "kpis": KPIS, "from": "2026-03-02", "to": "2026-03-03"}
    )
    with pytest.raises(UnknownTimeZoneError):
        await KpiRepository(pool).series(query.model_copy(update={"time_zone": "Mars/Olympus"}))
