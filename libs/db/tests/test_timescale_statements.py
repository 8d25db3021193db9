"""The statements of the TimescaleDB path (they cannot run on this machine's PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from shopee_db import timescale
from shopee_db.timescale import TimescalePolicy


def _one(statements: list[str], pattern: str) -> str:
    matches = [s for s in statements if re.search(pattern, s)]
    assert len(matches) == 1, f"expected one statement matching {pattern!r}, got {matches}"
    return matches[0]


def test_extension_comes_first_and_hypertables_before_their_policies() -> None:
    statements = timescale.upgrade_statements(TimescalePolicy())

    def position(start: str) -> int:
        return statements.index(_one(statements, "^" + re.escape(start)))

    assert position("CREATE EXTENSION IF NOT EXISTS timescaledb") == 0
    for table in ("raw_events", "kpi_minute", "kpi_hour", "kpi_day"):
        created = position(f"SELECT create_hypertable('{table}'")
        assert created < position(f"ALTER TABLE {table} SET (timescaledb.compress")
        assert created < position(f"SELECT add_compression_policy('{table}'")
    for table in ("raw_events", "kpi_minute"):
        assert position(f"SELECT create_hypertable('{table}'") < position(
            f"SELECT add_retention_policy('{table}'"
        )


def test_no_view_or_aggregate_stands_in_for_a_table_the_stream_job_writes() -> None:
    # The job upserts exact hour and day rows itself (distinct counts cannot be summed from
    # minutes), so kpi_hour and kpi_day must stay tables.
    statements = "\n".join(timescale.upgrade_statements(TimescalePolicy()))
    assert "VIEW" not in statements
    assert "continuous" not in statements


def test_hypertables_use_the_time_columns_and_chunk_sizes() -> None:
    policy = TimescalePolicy(
        raw_events_chunk=timedelta(days=7), kpi_minute_chunk=timedelta(hours=12)
    )
    statements = timescale.hypertable_statements(policy)
    assert _one(statements, r"create_hypertable\('raw_events'") == (
        "SELECT create_hypertable('raw_events', 'occurred_at', "
        "chunk_time_interval => INTERVAL '7 days', if_not_exists => TRUE)"
    )
    assert "'bucket', chunk_time_interval => INTERVAL '12 hours'" in _one(
        statements, r"create_hypertable\('kpi_minute'"
    )


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("raw_events", {"shop_id", "event_id", "occurred_at"}),
        ("kpi_minute", {"shop_id", "product_id", "kpi", "bucket"}),
        ("kpi_hour", {"shop_id", "product_id", "kpi", "bucket"}),
        ("kpi_day", {"shop_id", "product_id", "kpi", "bucket"}),
    ],
)
def test_compression_segments_and_orders_by_every_primary_key_column(
    table: str, key: set[str]
) -> None:
    # A unique key column left out of segmentby/orderby cannot be checked on compressed chunks.
    alter = _one(timescale.hypertable_statements(TimescalePolicy()), rf"ALTER TABLE {table} SET")
    settings = dict(re.findall(r"timescaledb\.(compress_\w+) = '([^']*)'", alter))
    columns = {part.strip().split()[0] for value in settings.values() for part in value.split(",")}
    assert columns == key
    assert "timescaledb.compress," in alter


def test_retention_policies_follow_the_policy_and_can_be_switched_off() -> None:
    statements = timescale.hypertable_statements(
        TimescalePolicy(raw_events_retention=timedelta(days=30), kpi_minute_retention=None)
    )
    assert "SELECT add_retention_policy('raw_events', INTERVAL '30 days')" in statements
    assert not [s for s in statements if "add_retention_policy('kpi_minute'" in s]
    assert "SELECT add_compression_policy('kpi_minute', INTERVAL '7 days')" in statements


def test_rollup_tables_keep_everything_unless_a_retention_is_set() -> None:
    statements = timescale.hypertable_statements(TimescalePolicy(), timescale.ROLLUP_TABLES)
    assert [s.split("'")[1] for s in statements if "create_hypertable" in s] == [
        "kpi_hour",
        "kpi_day",
    ]
    assert "'bucket', chunk_time_interval => INTERVAL '90 days'" in _one(
        statements, r"create_hypertable\('kpi_day'"
    )
    assert not [s for s in statements if "add_retention_policy" in s]
    kept = timescale.hypertable_statements(
        TimescalePolicy(kpi_hour_retention=timedelta(days=730)), timescale.ROLLUP_TABLES
    )
    assert "SELECT add_retention_policy('kpi_hour', INTERVAL '730 days')" in kept


def test_ensure_partitions_is_a_noop_function_with_the_same_signature() -> None:
    statement = timescale.ensure_partitions_noop()
    assert "ensure_partitions(\n    p_table regclass, p_from timestamptz, p_to timestamptz\n)" in (
        statement
    )
    assert "SELECT 0" in statement
    assert statement in timescale.upgrade_statements(TimescalePolicy())


@pytest.mark.parametrize(
    ("span", "literal"),
    [
        (timedelta(days=400), "INTERVAL '400 days'"),
        (timedelta(hours=36), "INTERVAL '36 hours'"),
        (timedelta(minutes=90), "INTERVAL '90 minutes'"),
        (timedelta(seconds=61), "INTERVAL '61 seconds'"),
    ],
)
def test_interval_literals_use_the_largest_whole_unit(span: timedelta, literal: str) -> None:
    assert timescale.interval(span) == literal


@pytest.mark.parametrize(
    "span", [timedelta(0), timedelta(seconds=-5), timedelta(milliseconds=1500)]
)
def test_interval_rejects_non_positive_or_fractional_spans(span: timedelta) -> None:
    with pytest.raises(ValueError, match="positive whole number of seconds"):
        timescale.interval(span)
