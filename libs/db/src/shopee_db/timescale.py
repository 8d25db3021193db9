"""The statements the TimescaleDB storage path runs (revision 0002), generated as plain SQL.

The tables are created by the migration exactly as on plain PostgreSQL, minus the partitioning;
these statements turn the time-series ones (raw events and the minute, hour and day KPIs) into
hypertables and add compression and retention policies.

Why no continuous aggregate for the hour and day rollups: it could not be exact. A continuous
aggregate sums the minute rows, but distinct counts (unique visitors, chat conversations, and the
ratios built on them) do not add up from minutes; per-product rows exist per hour and day only;
and it buckets in one constant time zone while every shop has its own. So on both paths the stream
job keeps `kpi_hour` and `kpi_day` itself, in the transaction that counts the events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

_UNITS = (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))


@dataclass(frozen=True)
class TimescalePolicy:
    """Chunk sizes and the compression and retention windows of the hypertables."""

    raw_events_chunk: timedelta = timedelta(days=7)
    kpi_minute_chunk: timedelta = timedelta(days=1)
    kpi_hour_chunk: timedelta = timedelta(days=7)
    kpi_day_chunk: timedelta = timedelta(days=90)
    compress_after: timedelta = timedelta(days=7)
    raw_events_retention: timedelta | None = timedelta(days=400)
    kpi_minute_retention: timedelta | None = timedelta(days=90)
    kpi_hour_retention: timedelta | None = None
    kpi_day_retention: timedelta | None = None


def interval(span: timedelta) -> str:
    """A timedelta as a PostgreSQL interval literal in its largest whole unit, e.g. '7 days'."""
    seconds = span.total_seconds()
    if seconds <= 0 or seconds != int(seconds):
        raise ValueError(f"intervals must be a positive whole number of seconds, got {span}")
    whole = int(seconds)
    unit, size = next((unit, size) for unit, size in _UNITS if whole % size == 0)
    return f"INTERVAL '{whole // size} {unit}'"


def extension_statements() -> list[str]:
    """Install the extension in this database (it must be in shared_preload_libraries)."""
    return ["CREATE EXTENSION IF NOT EXISTS timescaledb"]


@dataclass(frozen=True)
class _Hypertable:
    table: str
    time_column: str
    # Every primary-key column is a segment-by or order-by column, so uniqueness (and the job's
    # ON CONFLICT upserts of late rows) still holds on compressed chunks.
    segment_by: str
    order_by: str


_RAW_EVENTS = _Hypertable("raw_events", "occurred_at", "shop_id", "occurred_at DESC, event_id")
KPI_TABLES = ("kpi_minute", "kpi_hour", "kpi_day")
ROLLUP_TABLES = ("kpi_hour", "kpi_day")


def _hypertable(table: str) -> _Hypertable:
    if table == _RAW_EVENTS.table:
        return _RAW_EVENTS
    return _Hypertable(table, "bucket", "shop_id, kpi", "product_id, bucket DESC")


def _chunk_and_retention(table: str, policy: TimescalePolicy) -> tuple[timedelta, timedelta | None]:
    return {
        "raw_events": (policy.raw_events_chunk, policy.raw_events_retention),
        "kpi_minute": (policy.kpi_minute_chunk, policy.kpi_minute_retention),
        "kpi_hour": (policy.kpi_hour_chunk, policy.kpi_hour_retention),
        "kpi_day": (policy.kpi_day_chunk, policy.kpi_day_retention),
    }[table]


def hypertable_statements(
    policy: TimescalePolicy, tables: tuple[str, ...] = ("raw_events", *KPI_TABLES)
) -> list[str]:
    """Each table a hypertable on its time column, compressed after `compress_after`, dropped
    after its retention (if it has one)."""
    statements = []
    for table in tables:
        hypertable = _hypertable(table)
        chunk, retention = _chunk_and_retention(table, policy)
        statements += [
            f"SELECT create_hypertable('{table}', '{hypertable.time_column}', "
            f"chunk_time_interval => {interval(chunk)}, if_not_exists => TRUE)",
            f"ALTER TABLE {table} SET (timescaledb.compress, "
            f"timescaledb.compress_segmentby = '{hypertable.segment_by}', "
            f"timescaledb.compress_orderby = '{hypertable.order_by}')",
            f"SELECT add_compression_policy('{table}', {interval(policy.compress_after)})",
        ]
        if retention is not None:
            statements.append(f"SELECT add_retention_policy('{table}', {interval(retention)})")
    return statements


def ensure_partitions_noop() -> str:
    """`ensure_partitions` for this path: chunks appear by themselves, so there is nothing to do."""
    return """CREATE OR REPLACE FUNCTION ensure_partitions(
    p_table regclass, p_from timestamptz, p_to timestamptz
) RETURNS integer
LANGUAGE sql STABLE AS $$ SELECT 0 $$"""


def upgrade_statements(policy: TimescalePolicy) -> list[str]:
    """Everything the TimescaleDB path runs once the shared tables exist, in order."""
    return [*extension_statements(), *hypertable_statements(policy), ensure_partitions_noop()]
