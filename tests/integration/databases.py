"""Throwaway, migrated databases with registered shops, for tests and benchmarks of the stream job."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

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
