"""The plain-PostgreSQL path: monthly partitions, ensure_partitions, and event dedup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from shopee_db import MigrationOptions, ensure_partitions, upgrade
from shopee_db.engine import sqlalchemy_url
from shopee_db.testing import temporary_database

pytestmark = pytest.mark.integration

Connection = psycopg.Connection[tuple[Any, ...]]

MONTHS_BACK, MONTHS_AHEAD = 2, 1


def _month(year: int, month: int, shift: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + shift
    return index // 12, index % 12 + 1


def _partitions(connection: Connection, table: str) -> set[str]:
    rows = connection.execute(
        "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass",
        (table,),
    ).fetchall()
    return {str(name) for (name,) in rows}


def _insert_event(connection: Connection, event_id: str, occurred_at: datetime) -> None:
    connection.execute(
        "INSERT INTO raw_events (shop_id, event_id, occurred_at, time_zone, kind, payload, "
        "topic, kafka_partition, kafka_offset) "
        "VALUES ('shop-1', %s, %s, 'Asia/Jakarta', 'order', %s, 'events.orders', 0, 1)",
        (event_id, occurred_at, Jsonb({"orderId": event_id})),
    )


def _partition_of_event(connection: Connection, event_id: str) -> str:
    row = connection.execute(
        "SELECT tableoid::regclass::text FROM raw_events WHERE event_id = %s", (event_id,)
    ).fetchone()
    assert row is not None
    return str(row[0])


@pytest.fixture(scope="module")
def migrated(database_url: str) -> Iterator[str]:
    with temporary_database(database_url) as dsn:
        options = MigrationOptions(
            storage="postgres",
            partition_months_back=MONTHS_BACK,
            partition_months_ahead=MONTHS_AHEAD,
        )
        upgrade(dsn, options=options)
        yield dsn


def test_months_around_the_migration_exist_for_both_tables(migrated: str) -> None:
    now = datetime.now(UTC)
    months = [_month(now.year, now.month, shift) for shift in range(-MONTHS_BACK, MONTHS_AHEAD + 1)]
    with psycopg.connect(migrated) as connection:
        for table in ("raw_events", "kpi_minute"):
            expected = {f"{table}_p{year}{month:02d}" for year, month in months}
            assert _partitions(connection, table) == expected | {f"{table}_default"}


def test_rows_land_in_the_partition_of_their_month(migrated: str) -> None:
    now = datetime.now(UTC)
    year, month = _month(now.year, now.month, -1)
    # The first instant of the month in UTC, which is still the previous month in Jakarta.
    start_of_month = datetime(year, month, 1, tzinfo=UTC)
    with psycopg.connect(migrated) as connection:
        _insert_event(connection, "evt-month-start", start_of_month)
        connection.execute(
            "INSERT INTO kpi_minute (shop_id, kpi, bucket, value, numerator) "
            "VALUES ('shop-1', 'gmv', %s, 1500, 1500)",
            (start_of_month,),
        )
        kpi_partition = connection.execute(
            "SELECT tableoid::regclass::text FROM kpi_minute WHERE shop_id = 'shop-1'"
        ).fetchone()
        assert _partition_of_event(connection, "evt-month-start") == (
            f"raw_events_p{year}{month:02d}"
        )
    assert kpi_partition == (f"kpi_minute_p{year}{month:02d}",)


def test_ensure_partitions_creates_missing_months_once(migrated: str) -> None:
    engine = create_engine(sqlalchemy_url(migrated), poolclass=NullPool)
    start, end = datetime(2020, 11, 15, tzinfo=UTC), datetime(2021, 2, 1, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            assert ensure_partitions(connection, "raw_events", start, end) == 3
        with engine.begin() as connection:
            assert ensure_partitions(connection, "raw_events", start, end) == 0
            assert ensure_partitions(connection, "raw_events", start, start) == 0
    finally:
        engine.dispose()
    with psycopg.connect(migrated) as connection:
        created = {p for p in _partitions(connection, "raw_events") if "_p202" in p}
    assert {"raw_events_p202011", "raw_events_p202012", "raw_events_p202101"} <= created
    assert "raw_events_p202102" not in created


def test_rows_outside_every_month_wait_in_default_and_move_when_their_month_is_made(
    migrated: str,
) -> None:
    with psycopg.connect(migrated) as connection:
        _insert_event(connection, "evt-2001", datetime(2001, 5, 10, 8, tzinfo=UTC))
        _insert_event(connection, "evt-2001-later", datetime(2001, 7, 1, tzinfo=UTC))
        assert _partition_of_event(connection, "evt-2001") == "raw_events_default"
        connection.commit()
        created = connection.execute(
            "SELECT ensure_partitions('raw_events', '2001-05-01T00:00:00Z', '2001-06-01T00:00:00Z')"
        ).fetchone()
        connection.commit()
        assert created == (1,)
        assert _partition_of_event(connection, "evt-2001") == "raw_events_p200105"
        assert _partition_of_event(connection, "evt-2001-later") == "raw_events_default"
        # The moved partition is a full member: its key and indexes came with the attach.
        index_count = connection.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'raw_events_p200105'"
        ).fetchone()
    assert index_count == (2,)


def test_ensure_partitions_refuses_tables_that_are_not_partitioned(migrated: str) -> None:
    with psycopg.connect(migrated) as connection, pytest.raises(psycopg.errors.RaiseException):
        connection.execute("SELECT ensure_partitions('event_ids', now(), now())")


def test_event_ids_count_an_event_once(migrated: str) -> None:
    insert = (
        "INSERT INTO event_ids (shop_id, event_id, occurred_at) VALUES ('shop-1', %s, now()) "
        "ON CONFLICT DO NOTHING RETURNING event_id"
    )
    with psycopg.connect(migrated) as connection:
        assert connection.execute(insert, ("evt-dup",)).fetchall() == [("evt-dup",)]
        assert connection.execute(insert, ("evt-dup",)).fetchall() == []


def test_kpi_value_is_null_only_for_an_undefined_ratio(migrated: str) -> None:
    insert = (
        "INSERT INTO kpi_minute (shop_id, kpi, bucket, value, numerator, denominator) "
        "VALUES ('shop-2', %s, now(), NULL, 0, %s)"
    )
    with psycopg.connect(migrated) as connection:
        connection.execute(insert, ("conversion_rate", 0))
        with pytest.raises(psycopg.errors.CheckViolation):
            connection.execute(insert, ("gmv", None))
