"""The statements the TimescaleDB storage path runs (revision 0002), generated as plain SQL.

The tables themselves are created by the migration exactly as on plain PostgreSQL, minus the
partitioning; these statements then turn the time-series ones into hypertables, add compression
and retention policies, and build the hourly rollup as a continuous aggregate with `kpi_hour` and
`kpi_day` views on top (same columns as the tables of the plain path).

Why a continuous aggregate for hours only: a continuous aggregate can bucket in one constant time
zone, but every shop has its own. Hour buckets in UTC are local hour buckets for every whole-hour
offset (all Shopee markets), so the hourly aggregate is exact; the day of each shop is then grouped
from the hourly rows in the shop's own zone by the `kpi_day` view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

HOURLY_AGGREGATE = "kpi_hour_utc"
_UNITS = (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))


@dataclass(frozen=True)
class TimescalePolicy:
    """Chunk sizes and the compression, retention and refresh windows of the hypertables."""

    raw_events_chunk: timedelta = timedelta(days=7)
    kpi_minute_chunk: timedelta = timedelta(days=1)
    compress_after: timedelta = timedelta(days=7)
    raw_events_retention: timedelta | None = timedelta(days=400)
    kpi_minute_retention: timedelta | None = timedelta(days=90)
    hourly_retention: timedelta | None = None
    # The refresh window must reach back further than the stream job's late-event grace.
    refresh_start_offset: timedelta = timedelta(days=3)
    refresh_end_offset: timedelta = timedelta(hours=1)
    refresh_schedule: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        if (
            self.kpi_minute_retention is not None
            and self.kpi_minute_retention <= self.refresh_start_offset
        ):
            # Refreshing a window whose minute rows were dropped would empty the hourly rollup.
            raise ValueError("kpi_minute_retention must be longer than refresh_start_offset")


def interval(span: timedelta) -> str:
    """A timedelta as a PostgreSQL interval literal in its largest whole unit, e.g. '7 days'."""
    seconds = span.total_seconds()
    if seconds <= 0 or seconds != int(seconds):
        raise ValueError(f"intervals must be a positive whole number of seconds, got {span}")
    whole = int(seconds)
    unit, size = next((unit, size) for unit, size in _UNITS if whole % size == 0)
    return f"INTERVAL '{whole // size} {unit}'"


def _ratio(numerator: str, denominator: str) -> str:
    """A KPI's value from its additive parts: a sum when there is no denominator, else the ratio."""
    return (
        f"CASE WHEN {denominator} IS NULL THEN {numerator}::double precision "
        f"ELSE ({numerator} / NULLIF({denominator}, 0))::double precision END"
    )


def extension_statements() -> list[str]:
    """Install the extension in this database (it must be in shared_preload_libraries)."""
    return ["CREATE EXTENSION IF NOT EXISTS timescaledb"]


def hypertable_statements(policy: TimescalePolicy) -> list[str]:
    """Hypertables for raw events and minute KPIs, with compression and retention policies."""
    statements = [
        "SELECT create_hypertable('raw_events', 'occurred_at', "
        f"chunk_time_interval => {interval(policy.raw_events_chunk)}, if_not_exists => TRUE)",
        "SELECT create_hypertable('kpi_minute', 'bucket', "
        f"chunk_time_interval => {interval(policy.kpi_minute_chunk)}, if_not_exists => TRUE)",
        "ALTER TABLE raw_events SET (timescaledb.compress, "
        "timescaledb.compress_segmentby = 'shop_id', "
        "timescaledb.compress_orderby = 'occurred_at DESC, event_id')",
        "ALTER TABLE kpi_minute SET (timescaledb.compress, "
        "timescaledb.compress_segmentby = 'shop_id, kpi', "
        "timescaledb.compress_orderby = 'product_id, bucket DESC')",
        f"SELECT add_compression_policy('raw_events', {interval(policy.compress_after)})",
        f"SELECT add_compression_policy('kpi_minute', {interval(policy.compress_after)})",
    ]
    for table, retention in (
        ("raw_events", policy.raw_events_retention),
        ("kpi_minute", policy.kpi_minute_retention),
    ):
        if retention is not None:
            statements.append(f"SELECT add_retention_policy('{table}', {interval(retention)})")
    return statements


def hourly_aggregate_query() -> str:
    """The SELECT behind the hourly continuous aggregate: sums of the additive parts only."""
    hour = "time_bucket(INTERVAL '1 hour', bucket)"
    return f"""SELECT shop_id, product_id, kpi, {hour} AS bucket,
       sum(numerator) AS numerator, sum(denominator) AS denominator,
       max(updated_at) AS updated_at
FROM kpi_minute
GROUP BY shop_id, product_id, kpi, {hour}"""


def continuous_aggregate_statements(policy: TimescalePolicy) -> list[str]:
    """The hourly continuous aggregate (real-time: unmaterialised hours read from kpi_minute)."""
    statements = [
        f"""CREATE MATERIALIZED VIEW {HOURLY_AGGREGATE}
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
{hourly_aggregate_query()}
WITH NO DATA""",
        f"SELECT add_continuous_aggregate_policy('{HOURLY_AGGREGATE}', "
        f"start_offset => {interval(policy.refresh_start_offset)}, "
        f"end_offset => {interval(policy.refresh_end_offset)}, "
        f"schedule_interval => {interval(policy.refresh_schedule)})",
    ]
    if policy.hourly_retention is not None:
        statements.append(
            f"SELECT add_retention_policy('{HOURLY_AGGREGATE}', {interval(policy.hourly_retention)})"
        )
    return statements


def rollup_view_statements() -> list[str]:
    """`kpi_hour` and `kpi_day` as views over the hourly aggregate, in each shop's time zone."""
    # Shops not registered yet are read in UTC until they are.
    zone = "COALESCE(s.time_zone, 'UTC')"
    local_date = f"(h.bucket AT TIME ZONE {zone})::date"
    return [
        f"""CREATE VIEW kpi_hour AS
SELECT h.shop_id, h.product_id, h.kpi, h.bucket,
       h.bucket AT TIME ZONE {zone} AS local_hour,
       {_ratio("h.numerator", "h.denominator")} AS value,
       h.numerator, h.denominator, h.updated_at
FROM {HOURLY_AGGREGATE} h
LEFT JOIN shops s ON s.id = h.shop_id""",
        f"""CREATE VIEW kpi_day AS
SELECT h.shop_id, h.product_id, h.kpi,
       {local_date}::timestamp AT TIME ZONE {zone} AS bucket,
       {local_date} AS local_date,
       {_ratio("sum(h.numerator)", "sum(h.denominator)")} AS value,
       sum(h.numerator) AS numerator, sum(h.denominator) AS denominator,
       max(h.updated_at) AS updated_at
FROM {HOURLY_AGGREGATE} h
LEFT JOIN shops s ON s.id = h.shop_id
GROUP BY h.shop_id, h.product_id, h.kpi, {zone}, {local_date}""",
    ]


def ensure_partitions_noop() -> str:
    """`ensure_partitions` for this path: chunks appear by themselves, so there is nothing to do."""
    return """CREATE OR REPLACE FUNCTION ensure_partitions(
    p_table regclass, p_from timestamptz, p_to timestamptz
) RETURNS integer
LANGUAGE sql STABLE AS $$ SELECT 0 $$"""


def upgrade_statements(policy: TimescalePolicy) -> list[str]:
    """Everything the TimescaleDB path runs once the shared tables exist, in order."""
    return [
        *extension_statements(),
        *hypertable_statements(policy),
        *continuous_aggregate_statements(policy),
        *rollup_view_statements(),
        ensure_partitions_noop(),
    ]


def downgrade_statements() -> list[str]:
    """Drop what `upgrade_statements` made that dropping the tables would not."""
    return [
        "DROP VIEW IF EXISTS kpi_day",
        "DROP VIEW IF EXISTS kpi_hour",
        f"DROP MATERIALIZED VIEW IF EXISTS {HOURLY_AGGREGATE}",
    ]
