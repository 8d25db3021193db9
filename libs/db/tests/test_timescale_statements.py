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
    for table in ("raw_events", "kpi_minute"):
        created = position(f"SELECT create_hypertable('{table}'")
        assert created < position(f"ALTER TABLE {table} SET (timescaledb.compress")
        assert created < position(f"SELECT add_compression_policy('{table}'")
        assert created < position(f"SELECT add_retention_policy('{table}'")
    assert position("CREATE MATERIALIZED VIEW kpi_hour_utc") < position("CREATE VIEW kpi_hour ")


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


def test_hourly_rollup_is_a_real_time_continuous_aggregate_of_the_additive_parts() -> None:
    create, refresh = timescale.continuous_aggregate_statements(TimescalePolicy())
    assert create.startswith("CREATE MATERIALIZED VIEW kpi_hour_utc")
    assert "timescaledb.continuous, timescaledb.materialized_only = false" in create
    assert create.endswith("WITH NO DATA")
    # Ratios roll up as sum(numerator) / sum(denominator), never as an average of ratios.
    assert "sum(numerator) AS numerator, sum(denominator) AS denominator" in create
    assert "avg(" not in create.lower()
    assert "GROUP BY shop_id, product_id, kpi, time_bucket(INTERVAL '1 hour', bucket)" in create
    assert refresh == (
        "SELECT add_continuous_aggregate_policy('kpi_hour_utc', "
        "start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hours', "
        "schedule_interval => INTERVAL '5 minutes')"
    )


def test_hourly_retention_is_optional() -> None:
    policy = TimescalePolicy(hourly_retention=timedelta(days=730))
    assert timescale.continuous_aggregate_statements(policy)[-1] == (
        "SELECT add_retention_policy('kpi_hour_utc', INTERVAL '730 days')"
    )
    assert len(timescale.continuous_aggregate_statements(TimescalePolicy())) == 2


def test_day_view_groups_hours_in_the_shop_time_zone() -> None:
    hour_view, day_view = timescale.rollup_view_statements()
    assert hour_view.startswith("CREATE VIEW kpi_hour AS")
    assert day_view.startswith("CREATE VIEW kpi_day AS")
    assert "COALESCE(s.time_zone, 'UTC')" in day_view
    assert "(h.bucket AT TIME ZONE COALESCE(s.time_zone, 'UTC'))::date AS local_date" in day_view


def test_ensure_partitions_is_a_noop_function_with_the_same_signature() -> None:
    statement = timescale.ensure_partitions_noop()
    assert "ensure_partitions(\n    p_table regclass, p_from timestamptz, p_to timestamptz\n)" in (
        statement
    )
    assert "SELECT 0" in statement
    assert statement in timescale.upgrade_statements(TimescalePolicy())


def test_downgrade_drops_views_before_the_aggregate_they_read() -> None:
    assert timescale.downgrade_statements() == [
        "DROP VIEW IF EXISTS kpi_day",
        "DROP VIEW IF EXISTS kpi_hour",
        "DROP MATERIALIZED VIEW IF EXISTS kpi_hour_utc",
    ]


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


def test_minute_retention_must_outlast_the_refresh_window() -> None:
    with pytest.raises(ValueError, match="refresh_start_offset"):
        TimescalePolicy(
            kpi_minute_retention=timedelta(days=2), refresh_start_offset=timedelta(days=3)
        )
