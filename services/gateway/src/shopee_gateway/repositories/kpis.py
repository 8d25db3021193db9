"""KPI reads: series, period totals, top products, and the row stream behind exports.

Every statement filters `shop_id = ANY($1)` with shop ids the route has already checked
against the caller's principal. Table names come from a fixed map, never from input.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

import asyncpg

from shopee_common.kpis import KPI_BY_NAME, Rollup
from shopee_gateway.kpi_query import Interval, KpiQuery, Period
from shopee_gateway.repositories.series_json import SESSION, points_json, series_sql

TABLES = {Interval.MINUTE: "kpi_minute", Interval.HOUR: "kpi_hour", Interval.DAY: "kpi_day"}


class SeriesText(NamedTuple):
    """One series of an answer: its shop (None across the shops), KPI, and the JSON of its
    points (the elements of the `points` array, comma-separated)."""

    shop_id: str | None
    kpi: str
    points: bytes


class UnknownTimeZoneError(Exception):
    """PostgreSQL does not know the query's time zone (its zone data is older than Python's)."""


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


def bucket_bounds(period: Period) -> tuple[datetime, datetime]:
    """A UTC range holding the bucket of every local day of `period` in any zone: a redundant
    filter that lets the (shop_id, kpi, bucket) index narrow a local_date question. A day's
    bucket is its local midnight, within 14 h before and 12 h after the same date's UTC midnight.
    """
    start = datetime.combine(period.start, time(), UTC) - timedelta(days=1)
    end = datetime.combine(period.end, time(), UTC) + timedelta(days=1)
    return start, end


EXPORT_COLUMNS = ("shop_id", "product_id", "kpi", "bucket", "value", "numerator", "denominator")


# A source whose watermark moved this recently is being counted; one that has not is quiet (a
# small shop's night without orders), and holds nothing back.
COUNTING_MINUTES = 10


class KpiRepository:
    """Reads the kpi_minute / kpi_hour / kpi_day tables the stream job keeps."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def series(self, query: KpiQuery) -> list[SeriesText]:
        """The series of `query`, per shop or summed across the shops, ordered by shop and KPI,
        their points written by PostgreSQL (see `series_json`)."""
        ratios = [k for k in query.kpis if KPI_BY_NAME[k].rollup is Rollup.RATIO]
        async with self._pool.acquire() as connection, connection.transaction(readonly=True):
            try:
                await connection.execute(SESSION, query.time_zone)
            except asyncpg.InvalidParameterValueError as exc:
                raise UnknownTimeZoneError(query.time_zone) from exc
            rows = await connection.fetch(
                series_sql(query, TABLES[query.interval]),
                query.shops,
                query.kpis,
                query.product_id,
                query.start,
                query.end,
                ratios,
            )
        return [SeriesText(shop, kpi, points_json(text)) for shop, kpi, text in rows]

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

    async def counted_until(self, shops: list[str]) -> dict[str, datetime]:
        """Per shop, the time its KPIs are counted up to: the earliest newest-event time
        (watermark) among its sources the stream job is counting now (moved in the last
        COUNTING_MINUTES: a source catching up on a history sits far behind the others), else,
        when every source is quiet, its newest event. A shop with nothing counted is left out."""
        rows = await self._pool.fetch(
            "SELECT shop_id, coalesce("
            "  min(watermark) FILTER (WHERE updated_at > now() - make_interval(mins => $2)),"
            "  max(watermark)) "
            "FROM stream_watermarks WHERE shop_id = ANY($1::text[]) GROUP BY shop_id",
            shops,
            COUNTING_MINUTES,
        )
        return {shop: until for shop, until in rows}

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
