"""Migrations against the real PostgreSQL: up, down, up again; the check command; and the
TimescaleDB path's SQL, exercised as far as a server without the extension allows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import psycopg
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

from shopee_db import downgrade, head_revision, upgrade
from shopee_db.cli import main
from shopee_db.testing import temporary_database
from shopee_db.timescale import TimescalePolicy, upgrade_statements
from shopee_metrics.adapters.store import UPSERTS
from shopee_metrics.domain.buckets import Granularity

pytestmark = pytest.mark.integration

TABLES = {
    "alembic_version", "platform_meta", "organisations", "users", "roles", "permissions",
    "role_permissions", "organisation_memberships", "shops", "api_keys", "raw_events",
    "event_ids", "kpi_minute", "kpi_hour", "kpi_day", "late_events", "anomalies",
    "data_incomplete", "stream_offsets", "dead_letters", "report_templates", "scheduled_reports",
    "report_history", "alert_rules", "alert_history", "notification_settings", "model_registry",
    "saved_views", "kpi_members", "stream_watermarks", "anomaly_detector_state",
    "forecast_training_jobs", "anomaly_detector_checkpoints", "campaign_events",
    "product_catalog", "forecast_training_shops",
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
    assert meta == {"storage_path": "postgres"}
    assert version == (head_revision(),)


def test_check_reports_head_and_no_timescaledb(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--database-url", migrated, "check"]) == 0
    out = capsys.readouterr().out
    assert f"revision: {head_revision()} (head {head_revision()})" in out
    assert "storage path: postgres" in out
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


def _insert_raw_event(
    dsn: str, event_id: str, kind: str, occurred_at: datetime, payload: dict[str, str]
) -> None:
    with psycopg.connect(dsn) as connection:
        connection.execute(
            "INSERT INTO raw_events (shop_id, event_id, occurred_at, time_zone, kind, payload, "
            "topic, kafka_partition, kafka_offset) VALUES ('shop-1', %s, %s, 'Asia/Jakarta', %s, "
            "%s, 'events', 0, 1)",
            (event_id, occurred_at, kind, Jsonb(payload)),
        )


def _campaign(event_id: str, action: str = "PLANNED") -> dict[str, str]:
    return {"campaign_id": event_id, "action": f"CAMPAIGN_ACTION_{action}"}


def _campaign_event_ids(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as connection:
        rows = connection.execute("SELECT event_id FROM campaign_events ORDER BY event_id")
        return [event_id for (event_id,) in rows.fetchall()]


def test_campaign_events_outlive_the_raw_events_retention(database_url: str) -> None:
    later = datetime.now(UTC) - timedelta(days=1)
    old = later - timedelta(days=200)
    with temporary_database(database_url) as dsn:
        upgrade(dsn, "0009")
        _insert_raw_event(dsn, "c-before", "campaign", old, _campaign("c-before"))
        _insert_raw_event(dsn, "s-before", "campaign", old, _campaign("s-before", "SPEND"))
        upgrade(dsn)
        # The migration copies the schedules already there; the trigger every later one (planned
        # or started), and nothing else (ads spend, ends, other events).
        _insert_raw_event(dsn, "c-after", "campaign", later, _campaign("c-after", "STARTED"))
        _insert_raw_event(dsn, "e-after", "campaign", later, _campaign("e-after", "ENDED"))
        _insert_raw_event(dsn, "o-after", "order", later, {})
        assert _campaign_event_ids(dsn) == ["c-after", "c-before"]
        with psycopg.connect(dsn) as connection:
            # What retention does on this path: the old event's month dropped.
            [(partition,)] = connection.execute(
                "SELECT tableoid::regclass::text FROM raw_events WHERE event_id = 'c-before'"
            ).fetchall()
            connection.execute(f"DROP TABLE {partition}")
            assert connection.execute("SELECT count(*) FROM raw_events").fetchone() == (3,)
        assert _campaign_event_ids(dsn) == ["c-after", "c-before"]


def _kept_catalog(dsn: str) -> dict[str, tuple[str, str]]:
    """product_id -> (event_id, stock) of product_catalog."""
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            "SELECT product_id, event_id, payload->>'stock' FROM product_catalog"
        ).fetchall()
    return {product: (event_id, stock) for product, event_id, stock in rows}


def test_product_catalog_keeps_each_products_latest_state_after_the_raw_events_retention(
    database_url: str,
) -> None:
    later = datetime.now(UTC) - timedelta(days=1)
    old = later - timedelta(days=200)
    hour = timedelta(hours=1)
    with temporary_database(database_url) as dsn:
        upgrade(dsn, "0010")
        _insert_raw_event(
            dsn, "p1-first", "catalog", old - hour, {"product_id": "P1", "stock": "3"}
        )
        _insert_raw_event(dsn, "p1-latest", "catalog", old, {"product_id": "P1", "stock": "5"})
        _insert_raw_event(dsn, "p2-old", "catalog", old, {"product_id": "P2", "stock": "9"})
        _insert_raw_event(dsn, "view-old", "traffic", old, {"product_id": "P4"})
        _insert_raw_event(dsn, "no-product-old", "catalog", old, {"stock": "4"})
        upgrade(dsn, "0011")
        # The migration keeps the latest event of each product already there, of catalog events
        # naming one only.
        assert _kept_catalog(dsn) == {"P1": ("p1-latest", "5"), "P2": ("p2-old", "9")}
        # The trigger: a later event replaces the kept one, an earlier one arriving after it does
        # not, and events at the same time are ordered by event id, whatever their arrival order.
        _insert_raw_event(dsn, "p2-new", "catalog", later, {"product_id": "P2", "stock": "7"})
        _insert_raw_event(
            dsn, "p2-late", "catalog", later - hour, {"product_id": "P2", "stock": "8"}
        )
        _insert_raw_event(dsn, "p3-b", "catalog", later, {"product_id": "P3", "stock": "2"})
        _insert_raw_event(dsn, "p3-a", "catalog", later, {"product_id": "P3", "stock": "1"})
        # Other kinds of events, and a catalog event naming no product, are not kept.
        _insert_raw_event(dsn, "view", "traffic", later, {"product_id": "P4"})
        _insert_raw_event(dsn, "no-product", "catalog", later, {"stock": "4"})
        with psycopg.connect(dsn) as connection:
            # What retention does on this path: the old events' months dropped.
            partitions = connection.execute(
                "SELECT DISTINCT tableoid::regclass::text FROM raw_events WHERE occurred_at <= %s",
                (old,),
            ).fetchall()
            for (partition,) in partitions:
                connection.execute(f"DROP TABLE {partition}")
            assert connection.execute("SELECT count(*) FROM raw_events").fetchone() == (6,)
        assert _kept_catalog(dsn) == {
            "P1": ("p1-latest", "5"),
            "P2": ("p2-new", "7"),
            "P3": ("p3-b", "2"),
        }


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


# The TimescaleDB path's schema as revision 0002 used to leave it: the rollups as views over a
# continuous aggregate of kpi_minute (here a plain materialized view), which the job could not write.
_OLD_TIMESCALE_ROLLUPS = [
    "DROP TABLE kpi_day",
    "DROP TABLE kpi_hour",
    "CREATE MATERIALIZED VIEW kpi_hour_utc AS SELECT shop_id, product_id, kpi, "
    "date_trunc('hour', bucket) AS bucket, sum(numerator) AS numerator, "
    "sum(denominator) AS denominator, max(updated_at) AS updated_at FROM kpi_minute "
    "GROUP BY 1, 2, 3, 4",
    "CREATE VIEW kpi_hour AS SELECT shop_id, product_id, kpi, bucket, "
    "bucket AT TIME ZONE 'UTC' AS local_hour, numerator::float8 AS value, numerator, "
    "denominator, updated_at FROM kpi_hour_utc",
    "CREATE VIEW kpi_day AS SELECT shop_id, product_id, kpi, bucket, "
    "(bucket AT TIME ZONE 'UTC')::date AS local_date, numerator::float8 AS value, numerator, "
    "denominator, updated_at FROM kpi_hour_utc",
    "INSERT INTO platform_meta (key, value) VALUES ('rollups', 'continuous_aggregates')",
]


def test_upgrade_turns_the_old_timescale_rollup_views_into_tables_the_job_writes(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with temporary_database(database_url) as dsn:
        upgrade(dsn, "0007")
        with psycopg.connect(dsn) as connection:
            for statement in _OLD_TIMESCALE_ROLLUPS:
                connection.execute(statement)
        # This server has no TimescaleDB; the hypertable statements are checked for syntax above.
        monkeypatch.setattr("shopee_db.timescale.hypertable_statements", lambda *_: [])
        upgrade(dsn)
        with psycopg.connect(dsn) as connection:
            kinds: dict[str, str] = dict(
                connection.execute(
                    "SELECT relname, relkind FROM pg_class "
                    "WHERE relname IN ('kpi_hour', 'kpi_day', 'kpi_hour_utc')"
                ).fetchall()
            )
            meta = connection.execute("SELECT key FROM platform_meta").fetchall()
        rows = asyncio.run(_write_hour_and_day_rows_as_the_job_does(dsn))
    assert kinds == {"kpi_hour": "r", "kpi_day": "r"}
    assert meta == [("storage_path",)]
    assert rows == [("kpi_day", 7.0), ("kpi_hour", 7.0)]


async def _write_hour_and_day_rows_as_the_job_does(dsn: str) -> list[tuple[str, float]]:
    connection = await asyncpg.connect(dsn)
    try:
        hour = datetime(2026, 3, 1, 17, tzinfo=UTC)
        for level, label in (
            (Granularity.HOUR, datetime(2026, 3, 2, 0)),
            (Granularity.DAY, date(2026, 3, 2)),
        ):
            await connection.fetch(
                UPSERTS[level], ["s"], [""], ["gmv"], [hour], [Decimal(7)], [None], [label]
            )
        rows = await connection.fetch(
            "SELECT 'kpi_day', value FROM kpi_day UNION ALL SELECT 'kpi_hour', value FROM kpi_hour "
            "ORDER BY 1"
        )
    finally:
        await connection.close()
    return [(name, value) for name, value in rows]
