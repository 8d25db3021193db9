"""KPI reads: series, period totals, top products, and the row stream behind exports.

Every statement filters `shop_id = ANY($1)` with shop ids the route has already checked
against the caller's principal. Table names come from a fixed map, never from input.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from shopee_gateway.kpi_query import Interval, KpiQuery, Period

TABLES = {Interval.MINUTE: "kpi_minute", Interval.HOUR: "kpi_hour", Interval.DAY: "kpi_day"}


@dataclass(frozen=True, slots=True)
class SeriesRow:
    shop_id: str | None
    kpi: str
    bucket: datetime
    numerator: Decimal
    denominator: Decimal | None


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
        return (
            f"SELECT shop_id, kpi, bucket, numerator, denominator {where} "
            "ORDER BY shop_id, kpi, bucket"
        )
    # Days start at each shop's own midnight, so shops in different zones meet on local_date.
    if query.interval is Interval.DAY:
        return (
            "SELECT NULL AS shop_id, kpi, min(bucket) AS bucket, sum(numerator) AS numerator, "
            f"sum(denominator) AS denominator {where} GROUP BY kpi, local_date "
            "ORDER BY kpi, local_date"
        )
    return (
        "SELECT NULL AS shop_id, kpi, bucket, sum(numerator) AS numerator, "
        f"sum(denominator) AS denominator {where} GROUP BY kpi, bucket ORDER BY kpi, bucket"
    )


def _series_args(query: KpiQuery) -> tuple[object, ...]:
    return (query.shops, query.kpis, query.product_id, query.start, query.end)


EXPORT_COLUMNS = ("shop_id", "product_id", "kpi", "bucket", "value", "numerator", "denominator")


class KpiRepository:
    """Reads the kpi_minute / kpi_hour / kpi_day tables the stream job keeps."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def series(self, query: KpiQuery) -> list[SeriesRow]:
        """The buckets of `query`, per shop or summed across the shops."""
        rows = await self._pool.fetch(_series_sql(query), *_series_args(query))
        return [SeriesRow(*r) for r in rows]

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
        rows = await self._pool.fetch(
            "SELECT shop_id, product_id, sum(numerator), sum(denominator) FROM kpi_day "
            "WHERE shop_id = ANY($1::text[]) AND kpi = $2 AND product_id <> '' "
            "AND local_date BETWEEN $3 AND $4 GROUP BY shop_id, product_id "
            f"ORDER BY {order}, shop_id, product_id LIMIT $5",
            shops,
            kpi,
            period.start,
            period.end,
            limit,
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
