"""Migrations against the real PostgreSQL: up, down, up again; the check command; and the
TimescaleDB path's SQL, exercised as far as a server without the extension allows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from psycopg import errors

from shopee_db import downgrade, head_revision, upgrade
from shopee_db.cli import main
from shopee_db.testing import temporary_database
from shopee_db.timescale import (
    TimescalePolicy,
    hourly_aggregate_query,
    rollup_view_statements,
    upgrade_statements,
)

pytestmark = pytest.mark.integration

TABLES = {
    "alembic_version", "platform_meta", "organisations", "users", "roles", "permissions",
    "role_permissions", "organisation_memberships", "shops", "api_keys", "raw_events",
    "event_ids", "kpi_minute", "kpi_hour", "kpi_day", "late_events", "anomalies",
    "data_incomplete", "stream_offsets", "dead_letters", "report_templates", "scheduled_reports",
    "report_history", "alert_rules", "alert_history", "notification_settings", "model_registry",
    "saved_views", "kpi_members", "stream_watermarks", "anomaly_detector_state",
    "forecast_training_jobs",
}  # fmt: skip


def _top_level_tables(dsn: str) -> set[str]:
    """Tables that are not partitions of another table."""
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p') AND NOT relispartition"
        ).fetchall()
    return {name for (name,) in rows}


@pytest.fixture(scope="module")
def migrated(database_url: str) -> Iterator[str]:
    with temporary_database(database_url) as dsn:
        upgrade(dsn)
        yield dsn


def test_upgrade_creates_every_table_and_records_the_plain_path(migrated: str) -> None:
    assert _top_level_tables(migrated) == TABLES
    with psycopg.connect(migrated) as connection:
        meta: dict[str, str] = dict(
            connection.execute("SELECT key, value FROM platform_meta").fetchall()
        )
        version = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert meta == {"storage_path": "postgres", "rollups": "stream_job"}
    assert version == (head_revision(),)


def test_check_reports_head_and_no_timescaledb(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--database-url", migrated, "check"]) == 0
    out = capsys.readouterr().out
    assert f"revision: {head_revision()} (head {head_revision()})" in out
    assert "storage path: postgres; rollups: stream_job" in out
    assert "TimescaleDB used: no" in out
    assert main(["--database-url", migrated, "current"]) == 0
    assert capsys.readouterr().out.strip() == f"{head_revision()} (head)"


def test_downgrade_step_by_step_to_base_then_upgrade_again(database_url: str) -> None:
    with temporary_database(database_url) as dsn:
        upgrade(dsn)
        for revision in ("0004", "0003", "0002", "0001", "base"):
            downgrade(dsn, revision)
        assert _top_level_tables(dsn) == {"alembic_version"}
        with psycopg.connect(dsn) as connection:
            functions = connection.execute(
                "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
            ).fetchall()
        assert functions == []
        upgrade(dsn)
        assert _top_level_tables(dsn) == TABLES
        assert main(["--database-url", dsn, "check"]) == 0


def test_check_fails_before_the_database_is_migrated(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with temporary_database(database_url) as dsn:
        assert main(["--database-url", dsn, "check"]) == 1
    assert "storage path: not chosen yet" in capsys.readouterr().out


def test_timescale_statements_are_valid_postgresql_syntax(migrated: str) -> None:
    """Each statement reaches the planner (which then misses TimescaleDB), never a parse error."""
    failures: dict[str, str] = {}
    with psycopg.connect(migrated) as connection:
        for statement in upgrade_statements(TimescalePolicy()):
            try:
                with connection.transaction(force_rollback=True):
                    connection.execute(statement)
            except psycopg.Error as error:
                failures[statement] = error.sqlstate or ""
    assert failures, "expected the server to lack TimescaleDB"
    syntax_errors = [s for s, state in failures.items() if state == errors.SyntaxError.sqlstate]
    assert syntax_errors == []


def test_timescale_views_roll_hours_into_each_shops_local_day(migrated: str) -> None:
    """The kpi_hour/kpi_day views of the TimescaleDB path, over a stand-in for the continuous
    aggregate (a plain view with time_bucket as date_bin), on real minute rows."""
    with psycopg.connect(migrated) as connection, connection.transaction(force_rollback=True):
        connection.execute("CREATE SCHEMA timescale_sim")
        connection.execute("SET LOCAL search_path = timescale_sim, public")
        connection.execute(
            "CREATE FUNCTION timescale_sim.time_bucket(width interval, ts timestamptz) "
            "RETURNS timestamptz LANGUAGE sql IMMUTABLE "
            "AS $$ SELECT date_bin(width, ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') $$"
        )
        connection.execute(f"CREATE VIEW timescale_sim.kpi_hour_utc AS {hourly_aggregate_query()}")
        for statement in rollup_view_statements():
            connection.execute(statement)
        organisation = connection.execute(
            "INSERT INTO organisations (slug, name) VALUES ('sim', 'Sim') RETURNING id"
        ).fetchone()
        assert organisation is not None
        connection.execute(
            "INSERT INTO shops (id, organisation_id, name, market, currency, time_zone) "
            "VALUES ('jkt', %s, 'Jakarta', 'ID', 'IDR', 'Asia/Jakarta')",
            (organisation[0],),
        )
        minutes = [
            # 16:59 and 17:00 UTC fall on different Jakarta days (23:59 and 00:00 local, UTC+7).
            ("jkt", "conversion_rate", datetime(2025, 3, 1, 16, 59, tzinfo=UTC), 2, 10),
            ("jkt", "conversion_rate", datetime(2025, 3, 1, 16, 30, tzinfo=UTC), 1, 30),
            ("jkt", "conversion_rate", datetime(2025, 3, 1, 17, 0, tzinfo=UTC), 5, 5),
            ("jkt", "gmv", datetime(2025, 3, 1, 16, 59, tzinfo=UTC), 700, None),
            ("jkt", "gmv", datetime(2025, 3, 1, 17, 0, tzinfo=UTC), 300, None),
            # An unregistered shop is read in UTC.
            ("unknown", "gmv", datetime(2025, 3, 1, 23, 0, tzinfo=UTC), 50, None),
        ]
        for shop, kpi, bucket, numerator, denominator in minutes:
            connection.execute(
                "INSERT INTO kpi_minute (shop_id, kpi, bucket, value, numerator, denominator) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (shop, kpi, bucket, numerator / (denominator or 1), numerator, denominator),
            )
        days = connection.execute(
            "SELECT shop_id, kpi, local_date::text, bucket, value, numerator, denominator "
            "FROM timescale_sim.kpi_day ORDER BY shop_id, kpi, local_date"
        ).fetchall()
        hours = connection.execute(
            "SELECT local_hour::text, value FROM timescale_sim.kpi_hour "
            "WHERE shop_id = 'jkt' AND kpi = 'conversion_rate' ORDER BY bucket"
        ).fetchall()
    assert days == [
        # The ratio of sums (3 / 40), not the mean of the minute ratios.
        ("jkt", "conversion_rate", "2025-03-01", datetime(2025, 2, 28, 17, tzinfo=UTC), 0.075,
         Decimal(3), Decimal(40)),
        ("jkt", "conversion_rate", "2025-03-02", datetime(2025, 3, 1, 17, tzinfo=UTC), 1.0,
         Decimal(5), Decimal(5)),
        ("jkt", "gmv", "2025-03-01", datetime(2025, 2, 28, 17, tzinfo=UTC), 700.0, Decimal(700),
         None),
        ("jkt", "gmv", "2025-03-02", datetime(2025, 3, 1, 17, tzinfo=UTC), 300.0, Decimal(300),
         None),
        ("unknown", "gmv", "2025-03-01", datetime(2025, 3, 1, tzinfo=UTC), 50.0, Decimal(50),
         None),
    ]  # fmt: skip
    assert hours == [("2025-03-01 23:00:00", 0.075), ("2025-03-02 00:00:00", 1.0)]
