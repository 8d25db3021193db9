"""PostgreSQL for anomaly detection: closed hourly shop KPIs, planned campaigns, watermarks,
the detector's state, anomalies and data-incomplete signals.

Reads are kept small: the watermarks table once per run, and per shop only the hours not judged
yet (plus, once after a start, the weeks its baseline needs) and the PLANNED campaign events
counted since the last run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from shopee_metrics.domain.anomalies import (
    BASE_KPIS,
    AnomalyReport,
    Incomplete,
    PlannedCampaign,
    SourceMark,
)
from shopee_metrics.domain.anomalies.checkout_runs import CHECKOUT_KPIS, CheckoutMinute
from shopee_metrics.domain.anomalies.detector import MissingData
from shopee_metrics.domain.anomalies.products import PRODUCT_KPIS
from shopee_metrics.domain.contributions import SHOP

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

WATERMARKS = "SELECT shop_id, source, watermark, updated_at, now() FROM stream_watermarks"

SHOPS = "SELECT id, time_zone, currency, market FROM shops"

FIRST_BUCKET = """
SELECT min(bucket) FROM kpi_hour WHERE shop_id = $1 AND product_id = $2 AND kpi = ANY($3::text[])
"""

HOUR_ROWS = """
SELECT bucket, kpi, numerator::float8 FROM kpi_hour
WHERE shop_id = $1 AND product_id = $2 AND kpi = ANY($3::text[]) AND bucket >= $4 AND bucket < $5
"""

CHECKOUT_MINUTE_ROWS = """
SELECT bucket, kpi, numerator::float8 FROM kpi_minute
WHERE shop_id = $1 AND product_id = $2 AND kpi = ANY($3::text[]) AND bucket >= $4 AND bucket < $5
ORDER BY bucket
"""

PRODUCT_ROWS = """
SELECT bucket, product_id, kpi, numerator::float8 FROM kpi_hour
WHERE shop_id = $1 AND product_id <> $2 AND kpi = ANY($3::text[]) AND bucket >= $4 AND bucket < $5
"""

# campaign_events keeps raw_events' campaign payloads (proto3 JSON, proto field names, store.py)
# beyond raw_events' retention.
PLANNED_CAMPAIGNS = """
SELECT payload FROM campaign_events
WHERE shop_id = $1 AND occurred_at >= $2 AND occurred_at < $3
  AND payload->>'action' = 'CAMPAIGN_ACTION_PLANNED'
"""

# product_catalog keeps each product's latest catalogue event (a trigger on raw_events).
PRODUCT_NAMES = """
SELECT product_id, payload->>'name' FROM product_catalog
WHERE shop_id = $1 AND product_id = ANY($2::text[])
"""

LOAD_STATE = "SELECT judged_until, state FROM anomaly_detector_state WHERE shop_id = $1"

SAVE_STATE = """
INSERT INTO anomaly_detector_state (shop_id, judged_until, state, updated_at)
VALUES ($1, $2, $3::jsonb, now())
ON CONFLICT (shop_id) DO UPDATE
SET judged_until = excluded.judged_until, state = excluded.state, updated_at = now()
"""

LOAD_CHECKPOINT = """
SELECT judged_until, code_version, detector FROM anomaly_detector_checkpoints WHERE shop_id = $1
"""

SAVE_CHECKPOINT = """
INSERT INTO anomaly_detector_checkpoints (shop_id, judged_until, code_version, detector, saved_at)
VALUES ($1, $2, $3, $4, now())
ON CONFLICT (shop_id) DO UPDATE
SET judged_until = excluded.judged_until, code_version = excluded.code_version,
    detector = excluded.detector, saved_at = now()
"""

UPSERT_ANOMALY = """
INSERT INTO anomalies (id, shop_id, product_id, kpis, bucket_start, bucket_end, observed,
                       expected, expected_low, expected_high, score, severity, detector,
                       explanation)
VALUES ($1, $2, $3, $4::text[], $5, $6, $7::jsonb, $8::jsonb, $9::jsonb, $10::jsonb, $11, $12,
        $13, $14)
ON CONFLICT (id) DO UPDATE SET
    kpis = excluded.kpis, bucket_start = excluded.bucket_start, bucket_end = excluded.bucket_end,
    observed = excluded.observed, expected = excluded.expected,
    expected_low = excluded.expected_low, expected_high = excluded.expected_high,
    score = excluded.score, severity = excluded.severity, explanation = excluded.explanation,
    updated_at = now()
"""

OPEN_INCOMPLETE = "SELECT shop_id, since FROM data_incomplete WHERE resolved_at IS NULL"

RECORD_INCOMPLETE = """
INSERT INTO data_incomplete (shop_id, since, lag_seconds, reason)
VALUES ($1, $2, $3, $4)
ON CONFLICT (shop_id) WHERE resolved_at IS NULL DO UPDATE
SET lag_seconds = excluded.lag_seconds, reason = excluded.reason, updated_at = now()
"""

INCOMPLETE_PERIODS = """
SELECT since, resolved_at FROM data_incomplete
WHERE shop_id = $1 AND since < $3 AND (resolved_at IS NULL OR resolved_at > $2)
"""

# A stretch of missing data found in closed hours: closed as it is recorded. Judging the same
# hours again after a crash finds it again, and records it once.
RECORD_MISSING = """
INSERT INTO data_incomplete (shop_id, since, lag_seconds, reason, resolved_at)
SELECT $1, $2, $3, $4, $5
WHERE NOT EXISTS (
    SELECT 1 FROM data_incomplete WHERE shop_id = $1 AND since = $2 AND resolved_at = $5
)
"""

RESOLVE_INCOMPLETE = """
UPDATE data_incomplete SET resolved_at = greatest(now(), since), updated_at = now()
WHERE shop_id = $1 AND resolved_at IS NULL
RETURNING since, resolved_at
"""


@dataclass(frozen=True, slots=True)
class ShopInfo:
    shop_id: str
    time_zone: str
    currency: str
    market: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A shop's stored detector (detector_checkpoints.py), as of the end of the hours judged."""

    judged_until: datetime
    code_version: str
    detector: bytes  # compressed


class AnomalyStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def watermarks(self) -> tuple[datetime, dict[str, list[SourceMark]]]:
        """The database's clock (the one `updated_at` was written with) and every shop's
        watermarks by source."""
        rows = await self._pool.fetch(WATERMARKS)
        marks: dict[str, list[SourceMark]] = {}
        for shop, source, watermark, updated_at, _ in rows:
            marks.setdefault(shop, []).append(SourceMark(source, watermark, updated_at))
        now = rows[0][4] if rows else await self._pool.fetchval("SELECT now()")
        return now, marks

    async def shops(self) -> list[ShopInfo]:
        return [ShopInfo(*row) for row in await self._pool.fetch(SHOPS)]

    async def first_bucket(self, shop_id: str) -> datetime | None:
        first: datetime | None = await self._pool.fetchval(
            FIRST_BUCKET, shop_id, SHOP, list(BASE_KPIS)
        )
        return first

    async def hour_numerators(
        self, shop_id: str, start: datetime, end: datetime
    ) -> dict[datetime, dict[str, float]]:
        """Shop-level numerators of the base KPIs by hour bucket, for buckets in [start, end)."""
        rows = await self._pool.fetch(HOUR_ROWS, shop_id, SHOP, list(BASE_KPIS), start, end)
        numerators: dict[datetime, dict[str, float]] = {}
        for bucket, kpi, numerator in rows:
            numerators.setdefault(bucket, {})[kpi] = numerator
        return numerators

    async def checkout_minutes(
        self, shop_id: str, start: datetime, end: datetime
    ) -> dict[datetime, tuple[CheckoutMinute, ...]]:
        """The shop's minutes with checkouts started or orders created, by hour bucket, for
        minutes in [start, end)."""
        rows = await self._pool.fetch(
            CHECKOUT_MINUTE_ROWS, shop_id, SHOP, list(CHECKOUT_KPIS), start, end
        )
        minutes: dict[datetime, list[float]] = {}
        for bucket, kpi, numerator in rows:
            minutes.setdefault(bucket, [0.0, 0.0])[CHECKOUT_KPIS.index(kpi)] = numerator
        by_hour: dict[datetime, list[CheckoutMinute]] = {}
        for bucket, (checkouts, orders) in minutes.items():
            # Hour buckets run an hour apart from `start` (one itself), also in zones whose
            # hours start at :30 or :45 UTC.
            hours, into = divmod(bucket - start, HOUR)
            by_hour.setdefault(start + hours * HOUR, []).append(
                CheckoutMinute(into // MINUTE, checkouts, orders)
            )
        return {hour: tuple(items) for hour, items in by_hour.items()}

    async def product_counts(
        self, shop_id: str, start: datetime, end: datetime
    ) -> dict[datetime, dict[str, tuple[float, float, float]]]:
        """(product views, add-to-carts, paid orders) per product and hour bucket in [start,
        end)."""
        rows = await self._pool.fetch(PRODUCT_ROWS, shop_id, SHOP, list(PRODUCT_KPIS), start, end)
        counts: dict[datetime, dict[str, list[float]]] = {}
        for bucket, product, kpi, numerator in rows:
            values = counts.setdefault(bucket, {}).setdefault(product, [0.0, 0.0, 0.0])
            values[PRODUCT_KPIS.index(kpi)] = numerator
        return {
            bucket: {product: (v[0], v[1], v[2]) for product, v in products.items()}
            for bucket, products in counts.items()
        }

    async def product_names(self, shop_id: str, product_ids: Sequence[str]) -> dict[str, str]:
        """Each product's name in its latest catalogue event, for those the catalogue names."""
        rows = await self._pool.fetch(PRODUCT_NAMES, shop_id, list(product_ids))
        return {product: name for product, name in rows if name}

    async def planned_campaigns(
        self, shop_id: str, start: datetime, end: datetime
    ) -> list[PlannedCampaign]:
        """Campaigns announced by PLANNED events that occurred in [start, end)."""
        campaigns = []
        for (payload,) in await self._pool.fetch(PLANNED_CAMPAIGNS, shop_id, start, end):
            campaign = _planned(orjson.loads(payload) if isinstance(payload, str) else payload)
            if campaign is not None:
                campaigns.append(campaign)
        return campaigns

    async def load_state(self, shop_id: str) -> tuple[datetime, dict[str, Any]] | None:
        row = await self._pool.fetchrow(LOAD_STATE, shop_id)
        if row is None:
            return None
        state = row[1]
        return row[0], orjson.loads(state) if isinstance(state, str) else dict(state)

    async def save(
        self,
        shop_id: str,
        judged_until: datetime,
        state: dict[str, Any],
        reports: list[AnomalyReport],
    ) -> None:
        """The run's anomalies and the shop's progress, together."""
        async with self._pool.acquire() as connection, connection.transaction():
            if reports:
                await connection.executemany(UPSERT_ANOMALY, [_anomaly_row(r) for r in reports])
            await connection.execute(
                SAVE_STATE, shop_id, judged_until, orjson.dumps(state).decode()
            )

    async def load_checkpoint(self, shop_id: str) -> Checkpoint | None:
        row = await self._pool.fetchrow(LOAD_CHECKPOINT, shop_id)
        return None if row is None else Checkpoint(row[0], row[1], bytes(row[2]))

    async def save_checkpoint(self, shop_id: str, checkpoint: Checkpoint) -> None:
        await self._pool.execute(
            SAVE_CHECKPOINT,
            shop_id,
            checkpoint.judged_until,
            checkpoint.code_version,
            checkpoint.detector,
        )

    async def open_incomplete(self) -> dict[str, datetime]:
        """Shops with an unresolved data-incomplete signal, and since when."""
        return {row[0]: row[1] for row in await self._pool.fetch(OPEN_INCOMPLETE)}

    async def record_incomplete(self, shop_id: str, incomplete: Incomplete) -> None:
        """Open the shop's signal, or refresh the open one's lag."""
        await self._pool.execute(
            RECORD_INCOMPLETE,
            shop_id,
            incomplete.since,
            incomplete.lag_seconds,
            incomplete.reason,
        )

    async def incomplete_periods(
        self, shop_id: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """The shop's data-incomplete periods overlapping [start, end) (open ones up to `end`):
        for a live shop event time follows the wall clock, so they are the hours whose events
        came late or never."""
        rows = await self._pool.fetch(INCOMPLETE_PERIODS, shop_id, start, end)
        return [(since, resolved or end) for since, resolved in rows]

    async def record_missing(self, shop_id: str, missing: MissingData) -> None:
        """A stretch of closed hours whose events are missing, as a closed data-incomplete
        period (its end is when events were back, in event time)."""
        await self._pool.execute(
            RECORD_MISSING,
            shop_id,
            missing.start,
            (missing.end - missing.start).total_seconds(),
            missing.reason,
            missing.end,
        )

    async def resolve_incomplete(self, shop_id: str) -> tuple[datetime, datetime] | None:
        """Close the open signal; (since, resolved at) if there was one."""
        row = await self._pool.fetchrow(RESOLVE_INCOMPLETE, shop_id)
        return None if row is None else (row[0], row[1])


def _planned(payload: dict[str, Any]) -> PlannedCampaign | None:
    try:
        starts = datetime.fromisoformat(payload["starts_at"])
        ends = datetime.fromisoformat(payload["ends_at"])
    except (KeyError, ValueError):
        return None
    return PlannedCampaign(
        str(payload.get("campaign_id", "")), str(payload.get("name", "")), starts, ends
    )


def _finite(values: dict[str, float]) -> str:
    return orjson.dumps({k: v for k, v in values.items() if math.isfinite(v)}).decode()


def _anomaly_row(report: AnomalyReport) -> tuple[Any, ...]:
    observations = report.observations
    return (
        report.anomaly_id,
        report.shop_id,
        report.product_id,
        list(report.kpis),
        report.bucket_start,
        report.bucket_end,
        _finite({o.kpi: o.observed for o in observations}),
        _finite({o.kpi: o.expected for o in observations}),
        _finite({o.kpi: o.expected_low for o in observations}),
        _finite({o.kpi: o.expected_high for o in observations}),
        report.score,
        report.severity.value,
        report.detector,
        report.explanation,
    )
