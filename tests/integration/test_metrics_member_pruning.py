"""Distinct-member rows (`kpi_members`) on the real PostgreSQL: pruned only once their bucket ends
more than the late grace behind the watermark of their own shop and source; migration 0007
converts the rows of a live 0006 table to the same keys the job computes, and its downgrade
rebuilds them from `raw_events`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import psycopg
import pytest
from prometheus_client import CollectorRegistry

from shopee.events.v1 import events_pb2
from shopee_db import downgrade, upgrade
from shopee_db.testing import temporary_database
from shopee_metrics.adapters.member_pruner import MemberPruner
from shopee_metrics.adapters.store import KpiStore
from shopee_metrics.domain.batch import Candidate, MemberRow, Position, candidate, member_rows
from tests.integration.databases import migrated_database, register_shops

pytestmark = pytest.mark.integration

GRACE = timedelta(minutes=10)
SHOPS = {"jkt": "Asia/Jakarta"}
START = datetime(2026, 11, 11, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta


def traffic(event_id: str, at: datetime, visitor: str, product: str = "p1") -> Candidate:
    event = events_pb2.Event(event_id=event_id, shop_id="jkt", time_zone="Asia/Jakarta")
    event.occurred_at.FromDatetime(at)
    event.traffic.kind = events_pb2.TRAFFIC_KIND_PRODUCT_VIEW
    event.traffic.visitor_id, event.traffic.session_id = visitor, f"s-{visitor}"
    event.traffic.product_id = product
    return candidate(event, Position("events.traffic", 0, 0))


def buyer_chat(event_id: str, at: datetime, conversation: str) -> Candidate:
    event = events_pb2.Event(event_id=event_id, shop_id="jkt", time_zone="Asia/Jakarta")
    event.occurred_at.FromDatetime(at)
    chat = event.chat
    chat.kind, chat.sender = events_pb2.CHAT_KIND_MESSAGE, events_pb2.CHAT_SENDER_BUYER
    chat.conversation_id, chat.message_id, chat.buyer_id = conversation, f"m-{event_id}", "b"
    return candidate(event, Position("events.chat", 0, 0))


def member_ends(dsn: str) -> set[tuple[str, datetime]]:
    """(source, bucket end) of every member row."""
    with psycopg.connect(dsn) as connection:
        return {
            (source, end)
            for source, end in connection.execute("SELECT source, bucket_end FROM kpi_members")
        }


def minute_visitors(dsn: str, minute: datetime) -> int:
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT numerator FROM kpi_minute WHERE shop_id = 'jkt' AND product_id = '' "
            "AND kpi = 'unique_visitors' AND bucket = %s",
            (minute,),
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def database(database_url: str) -> Iterator[str]:
    with migrated_database(database_url, SHOPS) as dsn:
        yield dsn


async def _apply_and_prune(
    dsn: str, batches: list[list[Candidate]], registry: CollectorRegistry
) -> list[int]:
    """Apply each batch, then prune (one row per statement, to go through the chunks); the rows
    each prune deleted."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        store = KpiStore(pool, GRACE)
        pruner = MemberPruner(pool, GRACE, registry, chunk=1, max_chunks=1_000)
        deleted = []
        for batch in batches:
            store.prepare(batch)
            await store.apply(batch)
            deleted.append(await pruner.prune())
        return deleted
    finally:
        await pool.close()


def test_rows_past_the_grace_behind_their_sources_watermark_are_pruned_and_no_others(
    database: str,
) -> None:
    first_minute_end = START + timedelta(minutes=1)
    registry = CollectorRegistry()
    deleted = asyncio.run(
        _apply_and_prune(
            database,
            [
                # Members in the 10:00 minute, hour and day, from traffic and from chat.
                [
                    traffic("t1", START + timedelta(seconds=30), "v1"),
                    buyer_chat("c1", START + timedelta(seconds=40), "conv-1"),
                ],
                # Traffic's watermark reaches 10:11: the 10:00 minute ended exactly the grace
                # behind it, not more. Nothing goes.
                [traffic("t2", START + timedelta(minutes=11), "v2")],
                # One second later it is more than the grace behind: traffic's 10:00 minute
                # rows go (shop level only: products have no minute rows), chat's stay, since
                # chat's own watermark has not moved.
                [traffic("t3", START + timedelta(minutes=11, seconds=1), "v3")],
            ],
            registry,
        )
    )
    assert deleted == [0, 0, 1]
    ends = member_ends(database)
    assert ("traffic", first_minute_end) not in ends
    assert ("chat", first_minute_end) in ends
    hour_end, day_end = START + timedelta(hours=1), START + timedelta(hours=14)
    assert {("traffic", hour_end), ("traffic", day_end), ("chat", hour_end)} <= ends
    assert registry.get_sample_value("metrics_members_pruned_total") == 1

    # A returning visitor in the pruned minute is late, so the missing row cannot count it
    # again; inside the grace a returning visitor is still found, and a new one counts.
    asyncio.run(
        _apply_and_prune(
            database,
            [
                [
                    traffic("t4", START + timedelta(seconds=50), "v1"),
                    traffic("t5", START + timedelta(minutes=11, seconds=20), "v2"),
                    traffic("t6", START + timedelta(minutes=11, seconds=30), "v4"),
                ]
            ],
            CollectorRegistry(),
        )
    )
    assert minute_visitors(database, START) == 1
    assert minute_visitors(database, START + timedelta(minutes=11)) == 3
    with psycopg.connect(database) as connection:
        late = connection.execute("SELECT event_id FROM late_events").fetchall()
    assert late == [("t4",)]


def _batch() -> list[Candidate]:
    return [
        traffic("t1", START + timedelta(seconds=5), "v1"),
        traffic("t2", START + timedelta(minutes=1, seconds=5), "v1", product="p2"),
        traffic("t3", START + timedelta(minutes=70), "v2"),
        buyer_chat("c1", START + timedelta(minutes=3), "conv-1"),
    ]


def _wide_rows(rows: list[MemberRow], names: dict[str, str]) -> set[tuple[object, ...]]:
    return {
        (str(r.granularity), r.shop_id, r.product_id, r.kpi, r.bucket, names[r.key]) for r in rows
    }


def test_migration_0007_converts_live_rows_to_the_jobs_keys_and_downgrade_rebuilds_them(
    database_url: str,
) -> None:
    batch = _batch()
    rows = [row for item in batch for row in member_rows(item)]
    names = {
        row.key: member.member
        for item in batch
        for member in item.parts.members
        for row in member_rows(item)
        if (row.product_id, row.kpi) == (member.product_id, member.kpi)
    }
    wide = _wide_rows(rows, names)
    with temporary_database(database_url) as dsn:
        upgrade(dsn, "0006")
        register_shops(dsn, SHOPS)
        with psycopg.connect(dsn) as connection:
            connection.cursor().executemany(
                "INSERT INTO kpi_members (granularity, shop_id, product_id, kpi, bucket, member) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                sorted(wide, key=str),
            )
        upgrade(dsn)
        with psycopg.connect(dsn) as connection:
            converted = {
                (key.hex, shop, source, end)
                for key, shop, source, end in connection.execute(
                    "SELECT key, shop_id, source, bucket_end FROM kpi_members"
                )
            }
        # The job's keys; a converted day ends no earlier than the real one (25 h at most).
        assert {key for key, *_ in converted} == {row.key for row in rows}
        by_key = {row.key: row for row in rows}
        for key, shop, source, end in converted:
            assert (shop, source) == (by_key[key].shop_id, by_key[key].source)
            assert end >= by_key[key].bucket_end

        # Counting goes on over the converted rows: the same events are members already.
        async def apply_again() -> int:
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
            try:
                store = KpiStore(pool, GRACE)
                store.prepare(batch)
                return (await store.apply(batch)).counted
            finally:
                await pool.close()

        assert asyncio.run(apply_again()) == len(batch)
        with psycopg.connect(dsn) as connection:
            count = connection.execute("SELECT count(*) FROM kpi_members").fetchone()
        assert count == (len({row.key for row in rows}),)

        downgrade(dsn, "0006")
        with psycopg.connect(dsn) as connection:
            rebuilt = set(
                connection.execute(
                    "SELECT granularity, shop_id, product_id, kpi, bucket, member FROM kpi_members"
                )
            )
        assert rebuilt == wide
