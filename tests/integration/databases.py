"""Throwaway, migrated databases with registered shops, and events written into them as the stream
job writes them, for tests and benchmarks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import orjson
import psycopg
from google.protobuf import json_format

from shopee.events.v1 import events_pb2
from shopee_db import upgrade
from shopee_db.testing import temporary_database


def register_shops(dsn: str, shops: dict[str, str], organisation: str = "tests") -> None:
    """One organisation owning `shops` (shop id -> IANA time zone): the stream job dead-letters
    events of shops it does not know."""
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "INSERT INTO organisations (slug, name) VALUES (%s, %s) RETURNING id",
            (organisation, organisation),
        ).fetchone()
        assert row is not None
        for shop, zone in sorted(shops.items()):
            connection.execute(
                "INSERT INTO shops (id, organisation_id, name, market, currency, time_zone) "
                "VALUES (%s, %s, %s, 'ID', 'IDR', %s)",
                (shop, row[0], shop, zone),
            )


def shops_of(events: list[events_pb2.Event]) -> dict[str, str]:
    return {event.shop_id: event.time_zone for event in events}


@contextmanager
def migrated_database(server_dsn: str, shops: dict[str, str]) -> Iterator[str]:
    """A new database on the server, migrated to head, with `shops` registered; dropped after."""
    with temporary_database(server_dsn) as dsn:
        upgrade(dsn)
        register_shops(dsn, shops)
        yield dsn


RawEvent = tuple[str, datetime, str, dict[str, Any]]  # event_id, occurred_at, kind, payload


async def store_raw_events(
    pool: asyncpg.Pool, shop_id: str, time_zone: str, events: Iterable[RawEvent]
) -> None:
    """Rows of raw_events as the stream job writes them (its triggers fire as for the job's)."""
    for event_id, occurred_at, kind, payload in events:
        await pool.execute(
            "INSERT INTO raw_events (shop_id, event_id, occurred_at, time_zone, kind, payload, "
            "topic, kafka_partition, kafka_offset) "
            "VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'events', 0, 1)",
            shop_id,
            event_id,
            occurred_at,
            time_zone,
            kind,
            json.dumps(payload),
        )


async def drop_months_of(pool: asyncpg.Pool, event_ids: list[str]) -> None:
    """Retention on the plain PostgreSQL path: the monthly partitions holding the events dropped."""
    partitions = await pool.fetch(
        "SELECT DISTINCT tableoid::regclass::text AS partition FROM raw_events "
        "WHERE event_id = ANY($1::text[])",
        event_ids,
    )
    for row in partitions:
        await pool.execute(f"DROP TABLE {row['partition']}")


def copy_raw_events(cursor: psycopg.Cursor[Any], events: Iterable[events_pb2.Event]) -> None:
    """The events into raw_events, as the stream job writes them (its triggers fire: catalogue
    events also reach product_catalog)."""
    with cursor.copy(
        "COPY raw_events (shop_id, event_id, occurred_at, time_zone, kind, payload, topic, "
        "kafka_partition, kafka_offset) FROM STDIN"
    ) as copy:
        for offset, event in enumerate(events):
            kind = event.WhichOneof("payload") or ""
            payload = json_format.MessageToDict(
                getattr(event, kind), preserving_proto_field_name=True
            )
            copy.write_row(
                (
                    event.shop_id,
                    event.event_id,
                    event.occurred_at.ToDatetime(tzinfo=ZoneInfo("UTC")),
                    event.time_zone,
                    kind,
                    orjson.dumps(payload).decode(),
                    "tests.world",
                    0,
                    offset,
                )
            )
