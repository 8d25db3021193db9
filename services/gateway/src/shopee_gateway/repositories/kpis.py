"""KPI reads: series, period totals, top products, and the row stream behind exports.

Every statement filters `shop_id = ANY($1)` with shop ids the route has already checked
against the caller's principal. Table names come from a fixed map, never from input.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

import asyncpg

from shopee_gateway.kpi_query import Interval, KpiQuery, Period

TABLES = {Interval.MINUTE: "kpi_minute", Interval.HOUR: "kpi_hour", Interval.DAY: "kpi_day"}


class SeriesRow(NamedTuple):
    """One bucket of a series (a tuple: a large answer makes tens of thousands)."""

    shop_id: str | None
    kpi: str
    bucket: datetime
    # float8 from the server: answers carry floats, and decoding Decimals was a third of the read.
    numerator: float
    denominator: float | None


@dataclass(frozen=True, slots=True)
class TotalRow:
    shop_id: str
    kpi: str
    numerator: Decimal
    denominator: Decimal | None


@dataclass(frozen=True, slots=True)
class ProductRow:
    shop_id: str
    product_id: str
    numerator: Decimal
    denominator: Decimal | None


def _series_sql(query: KpiQuery) -> str:
    table = TABLES[query.interval]
    where = (
        f"FROM {table} WHERE shop_id = ANY($1::text[]) AND kpi = ANY($2::text[]) "
        "AND product_id = $3 AND bucket >= $4 AND bucket < $5"
    )
    if query.group == "shop":
        # Unordered: `series` orders the rows (see there).
        return f"SELECT shop_id, kpi, bucket, numerator::float8, denominator::float8 {where}"
    sums = "sum(numerator)::float8 AS numerator, sum(denominator)::float8 AS denominator"
    # Days start at each shop's own midnight, so shops in different zones meet on local_date.
    if query.interval is Interval.DAY:
        return (
            f"SELECT NULL AS shop_id, kpi, min(bucket) AS bucket, {sums} {where} "
            "GROUP BY kpi, local_date ORDER BY kpi, local_date"
        )
    return (
        f"SELECT NULL AS shop_id, kpi, bucket, {sums} {where} "
        "GROUP BY kpi, bucket ORDER BY kpi, bucket"
    )


def bucket_bounds(period: Period) -> tuple[datetime, datetime]:
    """A UTC range holding the bucket of every local day of `period` in any zone: a redundant
    filter that lets the (shop_id, kpi, bucket) index narrow a local_date question. A day's
    bucket is its local midnight, within 14 h before and 12 h after the same date's UTC midnight.
    """
    start = datetime.combine(period.start, time(), UTC) - timedelta(days=1)
    end = datetime.combine(period.end, time(), UTC) + timedelta(days=1)
    return start, end


def _series_args(query: KpiQuery) -> tuple[object, ...]:
    return (query.shops, query.kpis, query.product_id, query.start, query.end)


EXPORT_COLUMNS = ("shop_id", "product_id", "kpi", "bucket", "value", "numerator", "denominator")


class KpiRepository:
    """Reads the kpi_minute / kpi_hour / kpi_day tables the stream job keeps."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def series(self, query: KpiQuery) -> list[SeriesRow]:
        """The buckets of `query`, per shop or summed across the shops, ordered by shop, kpi,
        bucket."""
        rows = await self._pool.fetch(_series_sql(query), *_series_args(query))
        if query.group == "total":
            return [SeriesRow(*r) for r in rows]
        # Ordered here rather than by PostgreSQL, whose sort of the text keys was half the read
        # of a large answer: grouped per series, whose rows arrive nearly in bucket order.
        series: dict[tuple[str, str], list[SeriesRow]] = {}
        for record in rows:
            series.setdefault((record[0], record[1]), []).append(SeriesRow(*record))
        ordered = []
        for key in sorted(series):
            ordered.extend(sorted(series[key], key=attrgetter("bucket")))
        return ordered

    async def totals(self, shops: list[str], kpis: list[str], period: Period) -> list[TotalRow]:
        """Each shop's summed numerator and denominator over the local days of `period`."""
        rows = await self._pool.fetch(
            "SELECT shop_id, kpi, sum(numerator), sum(denominator) FROM kpi_day "
            "WHERE shop_id = ANY($1::text[]) AND kpi = ANY($2::text[]) AND product_id = '' "
            "AND local_date BETWEEN $3 AND $4 GROUP BY shop_id, kpi",
            shops,
            kpis,
            period.start,
            period.end,
        )
        return [TotalRow(*r) for r in rows]

    async def top_products(
        self, shops: list[str], kpi: str, ratio: bool, period: Period, limit: int
    ) -> list[ProductRow]:
        """The products with the highest `kpi` over `period` (ratios: recomputed per product)."""
        order = (
            "sum(numerator) / nullif(sum(denominator), 0) DESC NULLS LAST"
            if ratio
            else "sum(numerator) DESC"
        )
        # Without the bucket bounds the planner read every day of every product of the KPI
        # (the local_date index leads with product_id, which `<> ''` cannot narrow).
        rows = await self._pool.fetch(
            "SELECT shop_id, product_id, sum(numerator), sum(denominator) FROM kpi_day "
            "WHERE shop_id = ANY($1::text[]) AND kpi = $2 AND product_id <> '' "
            "AND local_date BETWEEN $3 AND $4 AND bucket >= $6 AND bucket < $7 "
            f"GROUP BY shop_id, product_id ORDER BY {order}, shop_id, product_id LIMIT $5",
            shops,
            kpi,
            period.start,
            period.end,
            limit,
            *bucket_bounds(period),
        )
        return [ProductRow(*r) for r in rows]

    async def export_rows(
        self, query: KpiQuery, with_products: bool, batch_rows: int = 5_000
    ) -> AsyncIterator[list[asyncpg.Record]]:
        """Every row of `query` (and its product rows if asked), in batches, from a server-side
        cursor: memory stays at one batch however many rows there are."""
        product_filter = "" if with_products else "AND product_id = $5 "
        # The primary key's order, so rows stream from the index without a sort.
        sql = (
            f"SELECT {', '.join(EXPORT_COLUMNS)} FROM {TABLES[query.interval]} "
            "WHERE shop_id = ANY($1::text[]) AND kpi = ANY($2::text[]) "
            f"{product_filter}AND bucket >= $3 AND bucket < $4 "
            "ORDER BY shop_id, product_id, kpi, bucket"
        )
        args: list[object] = [query.shops, query.kpis, query.start, query.end]
        if not with_products:
            args.append(query.product_id)
        async with self._pool.acquire() as connection, connection.transaction(readonly=True):
            cursor = await connection.cursor(sql, *args)
            while batch := await cursor.fetch(batch_rows):
                yield batch
