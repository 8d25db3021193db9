"""Applying a batch to PostgreSQL in one transaction: event ids, raw events, KPI rows, members,
late events and watermarks commit together or not at all (see docs/metrics.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import asyncpg

from shopee_metrics.adapters.raw_json import payload_json
from shopee_metrics.domain.batch import (
    BucketKey,
    Candidate,
    MemberRow,
    RowKey,
    increments,
    member_rows,
    plan,
    unique_in_batch,
)
from shopee_metrics.domain.buckets import Granularity
from shopee_metrics.domain.contributions import RATIO_KPIS

# Worth retrying: the database is restarting or unreachable, or lost a race. Anything else is a
# bug or a schema mismatch: the job exits without acknowledging the batch (processor.py), so
# nothing is lost and the crash is visible.
TRANSIENT = (
    asyncpg.PostgresConnectionError,
    # Shutdown, crash recovery, a cancelled statement (CannotConnectNowError is one of these).
    asyncpg.exceptions.OperatorInterventionError,
    # Too many connections, out of memory or disk: outages too; exiting would not mend them.
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    ConnectionError,
    TimeoutError,
)

INSERT_EVENT_IDS = """
INSERT INTO event_ids (shop_id, event_id, occurred_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
ON CONFLICT DO NOTHING
RETURNING shop_id, event_id
"""

LOCK_WATERMARKS = """
SELECT shop_id, source, watermark FROM stream_watermarks
WHERE shop_id = ANY($1::text[]) ORDER BY shop_id, source FOR UPDATE
"""

SAVE_WATERMARKS = """
INSERT INTO stream_watermarks (shop_id, source, watermark, updated_at)
SELECT s, k, w, now() FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(s, k, w)
ON CONFLICT (shop_id, source) DO UPDATE SET watermark = excluded.watermark, updated_at = now()
"""

# A member is new to its bucket when its row was inserted: the keys that come back. Which bucket
# each key belongs to is known here, so the database stores only the 16-byte key and what
# pruning needs. A member is sent as its key and its bucket's position in the bucket arrays, which
# carry the shop, source and end once per bucket (~14,000 distinct members of a 5,000-event batch
# fall in ~1,500 buckets): encoding them for every member was most of the insert's client time.
INSERT_MEMBERS = """
INSERT INTO kpi_members (key, shop_id, source, bucket_end)
SELECT m.key, b.shop_id, b.source, b.bucket_end
FROM unnest($1::uuid[], $2::int[]) AS m(key, bucket)
JOIN unnest($3::text[], $4::text[], $5::timestamptz[]) WITH ORDINALITY
    AS b(shop_id, source, bucket_end, bucket) USING (bucket)
ON CONFLICT DO NOTHING
RETURNING key
"""

INSERT_LATE = """
INSERT INTO late_events (shop_id, event_id, topic, kafka_partition, kafka_offset, occurred_at,
                         received_at, lateness_seconds, reason)
SELECT s, e, t, p, o, oc, now(), l, r
FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::timestamptz[],
            $7::float8[], $8::text[]) AS x(s, e, t, p, o, oc, l, r)
ON CONFLICT DO NOTHING
"""

_VALUE = """CASE WHEN {den} IS NULL THEN {num}::float8
                 WHEN {den} = 0 THEN NULL
                 ELSE ({num} / {den})::float8 END"""


def _upsert(table: str, label_column: str | None, sums_type: str) -> str:
    label_insert = f", {label_column}" if label_column else ""
    label_type = "timestamp" if label_column == "local_hour" else "date"
    label_select = ", l" if label_column else ""
    label_unnest = f", $7::{label_type}[]" if label_column else ""
    label_alias = ", l" if label_column else ""
    total_num = "k.numerator + excluded.numerator"
    total_den = "k.denominator + excluded.denominator"
    # Snapshots carry shop-level rows only: product rows are not sent back.
    return f"""
WITH changed AS (
INSERT INTO {table} AS k (shop_id, product_id, kpi, bucket, numerator, denominator, value{label_insert})
SELECT s, p, kpi, b, n, d, {_VALUE.format(num="n", den="d")}{label_select}
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::{sums_type},
            $6::{sums_type}{label_unnest}) AS t(s, p, kpi, b, n, d{label_alias})
ON CONFLICT (shop_id, product_id, kpi, bucket) DO UPDATE SET
    numerator = {total_num},
    denominator = {total_den},
    value = {_VALUE.format(num=f"({total_num})", den=f"({total_den})")},
    updated_at = now()
RETURNING shop_id, product_id, kpi, bucket, numerator::float8, denominator::float8, value
)
SELECT * FROM changed WHERE product_id = ''
"""


# Each granularity's table and local label column.
_TABLES = {
    Granularity.MINUTE: ("kpi_minute", None),
    Granularity.HOUR: ("kpi_hour", "local_hour"),
    Granularity.DAY: ("kpi_day", "local_date"),
}
# The sums go as bigint and become numeric in SQL: asyncpg encodes a Python int as numeric by way
# of a Decimal, eight times the cost. A batch with a sum beyond bigint takes WIDE_UPSERTS.
UPSERTS = {level: _upsert(*table, "bigint[]::numeric[]") for level, table in _TABLES.items()}
WIDE_UPSERTS = {level: _upsert(*table, "numeric[]") for level, table in _TABLES.items()}
_BIGINT = range(-(2**63), 2**63)

RAW_EVENT_COLUMNS = (
    "shop_id",
    "event_id",
    "occurred_at",
    "time_zone",
    "kind",
    "payload",
    "topic",
    "kafka_partition",
    "kafka_offset",
)


class KpiRow(NamedTuple):
    """A KPI row's absolute value after the batch (for snapshots). A named tuple: a batch returns
    thousands, and a frozen dataclass took three times as long to make each."""

    granularity: Granularity
    shop_id: str
    product_id: str
    kpi: str
    bucket: datetime
    numerator: float
    denominator: float | None
    value: float | None


@dataclass
class AppliedBatch:
    counted: int = 0
    duplicates: int = 0
    late: int = 0
    rows: list[KpiRow] = field(default_factory=list)
    watermarks: dict[tuple[str, str], datetime] = field(default_factory=dict)
    time_zones: dict[str, str] = field(default_factory=dict)


class KpiStore:
    def __init__(
        self, pool: asyncpg.Pool, late_grace: timedelta, store_raw_events: bool = True
    ) -> None:
        self._pool = pool
        self._grace = late_grace
        self._store_raw = store_raw_events

    def prepare(self, candidates: list[Candidate]) -> None:
        """The per-event work that needs no database (member keys, the raw event's JSON), done
        ahead."""
        for item in candidates:
            item.members = member_rows(item)
        if self._store_raw:
            for item in candidates:
                item.payload_json = _payload_json(item)

    async def apply(self, candidates: list[Candidate]) -> AppliedBatch:
        """Count the batch's new events exactly once; all or nothing."""
        unique = unique_in_batch(candidates)
        result = AppliedBatch(duplicates=len(candidates) - len(unique))
        if not unique:
            return result
        async with self._pool.acquire() as connection, connection.transaction():
            new_keys = {
                (r[0], r[1])
                for r in await connection.fetch(
                    INSERT_EVENT_IDS,
                    [c.event.shop_id for c in unique],
                    [c.event.event_id for c in unique],
                    [c.occurred_at for c in unique],
                )
            }
            new_events = [c for c in unique if c.key in new_keys]
            result.duplicates += len(unique) - len(new_events)
            if not new_events:
                return result
            shops = sorted({c.event.shop_id for c in new_events})
            watermarks = {
                (r[0], r[1]): r[2] for r in await connection.fetch(LOCK_WATERMARKS, shops)
            }
            batch = plan(new_events, watermarks, self._grace, now=datetime.now(UTC))
            new_members = await self._insert_members(connection, batch.members)
            totals = increments(batch, new_members)
            upserts = UPSERTS if fits_bigint(totals) else WIDE_UPSERTS
            for level in (Granularity.MINUTE, Granularity.HOUR, Granularity.DAY):
                result.rows.extend(
                    await self._upsert(connection, upserts[level], level, totals, batch.local_label)
                )
            if self._store_raw:
                await self._insert_raw(connection, new_events)
            if batch.late:
                await connection.execute(
                    INSERT_LATE,
                    [late.candidate.event.shop_id for late in batch.late],
                    [late.candidate.event.event_id for late in batch.late],
                    [late.candidate.position.topic for late in batch.late],
                    [late.candidate.position.partition for late in batch.late],
                    [late.candidate.position.offset for late in batch.late],
                    [late.candidate.occurred_at for late in batch.late],
                    [late.lateness_seconds for late in batch.late],
                    [
                        f"older than the {self._grace} grace behind the newest event of its shop and source"
                        for _ in batch.late
                    ],
                )
            changed = {
                shop: mark
                for shop, mark in batch.watermarks.items()
                if watermarks.get(shop) != mark
            }
            if changed:
                await connection.execute(
                    SAVE_WATERMARKS,
                    [k[0] for k in changed],
                    [k[1] for k in changed],
                    list(changed.values()),
                )
        result.counted = len(batch.counted)
        result.late = len(batch.late)
        result.watermarks = batch.watermarks
        result.time_zones = {c.event.shop_id: c.event.time_zone for c in batch.counted}
        return result

    async def _insert_members(
        self, connection: Any, members: list[MemberRow]
    ) -> dict[BucketKey, int]:
        """Record the members; how many were new in each bucket."""
        if not members:
            return {}
        by_key = {member.key: member for member in members}
        # Bucket -> its 1-based position in the bucket arrays (WITH ORDINALITY counts from 1). A
        # bucket's members share its shop, source (by KPI) and end (the shop has one time zone).
        positions: dict[BucketKey, int] = {}
        firsts: list[MemberRow] = []
        member_positions = []
        for member in by_key.values():
            bucket = member[:5]
            position = positions.get(bucket)
            if position is None:
                position = positions[bucket] = len(firsts) + 1
                firsts.append(member)
            member_positions.append(position)
        rows = await connection.fetch(
            INSERT_MEMBERS,
            list(by_key),
            member_positions,
            [m.shop_id for m in firsts],
            [m.source for m in firsts],
            [m.bucket_end for m in firsts],
        )
        inserted = {row[0].hex for row in rows}
        # Counted in the order the members were sent, which the join need not keep: the rows
        # written, and the snapshots made of them, keep the order they always had.
        new: dict[BucketKey, int] = defaultdict(int)
        for key, member in by_key.items():
            if key in inserted:
                new[member[:5]] += 1
        return new

    async def _upsert(
        self,
        connection: Any,
        statement: str,
        level: Granularity,
        totals: dict[RowKey, list[int]],
        labels: dict[tuple[Granularity, str, datetime], Any],
    ) -> list[KpiRow]:
        keys = [key for key in totals if key[0] is level]
        if not keys:
            return []
        arguments: list[list[Any]] = [
            [k[1] for k in keys],
            [k[2] for k in keys],
            [k[3] for k in keys],
            [k[4] for k in keys],
            [totals[k][0] for k in keys],
            [totals[k][1] if k[3] in RATIO_KPIS else None for k in keys],
        ]
        if level is not Granularity.MINUTE:
            arguments.append([labels[(level, k[1], k[4])] for k in keys])
        rows = await connection.fetch(statement, *arguments)
        return [KpiRow(level, *row) for row in rows]

    async def _insert_raw(self, connection: Any, events: list[Candidate]) -> None:
        records = [
            (
                item.event.shop_id,
                item.event.event_id,
                item.occurred_at,
                item.event.time_zone,
                item.event.WhichOneof("payload") or "",
                item.payload_json or _payload_json(item),
                item.position.topic,
                item.position.partition,
                item.position.offset,
            )
            for item in events
        ]
        await connection.copy_records_to_table(
            "raw_events", records=records, columns=RAW_EVENT_COLUMNS
        )


def fits_bigint(totals: dict[RowKey, list[int]]) -> bool:
    """Whether every numerator and denominator sum of the batch fits a bigint."""
    return (
        min(map(min, totals.values()), default=0) in _BIGINT
        and max(map(max, totals.values()), default=0) in _BIGINT
    )


def _payload_json(item: Candidate) -> str:
    return payload_json(getattr(item.event, item.event.WhichOneof("payload") or ""))


def rows_by_shop(rows: list[KpiRow]) -> dict[str, list[KpiRow]]:
    grouped: dict[str, list[KpiRow]] = defaultdict(list)
    for row in rows:
        grouped[row.shop_id].append(row)
    return grouped
