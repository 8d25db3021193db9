"""Distinct-member rows: their narrow keys, buckets, ends and sources."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from shopee.events.v1 import events_pb2
from shopee_common.kpis import KPI_BY_NAME, Rollup
from shopee_generator.world import GeneratorConfig, generate_history
from shopee_metrics.domain.batch import Position, candidate, member_rows, plan
from shopee_metrics.domain.buckets import Granularity
from shopee_metrics.domain.contributions import DISTINCT_SOURCES
from shopee_metrics.domain.members import member_key

BUCKET = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


def test_key_is_a_uuid_of_every_field_and_unambiguous() -> None:
    key = member_key("hour", "s", "p", "unique_visitors", BUCKET, "v1")
    assert len(key) == 32
    # The bucket start's epoch minute first, so inserts of neighbouring buckets stay together.
    assert key[:8] == f"{int(BUCKET.timestamp()) // 60:08x}"
    assert int(key[8:], 16) >= 0
    assert key == member_key("hour", "s", "p", "unique_visitors", BUCKET, "v1")
    variants = {
        member_key("day", "s", "p", "unique_visitors", BUCKET, "v1"),
        member_key("hour", "t", "p", "unique_visitors", BUCKET, "v1"),
        member_key("hour", "s", "", "unique_visitors", BUCKET, "v1"),
        member_key("hour", "s", "p", "chat_conversations", BUCKET, "v1"),
        member_key("hour", "s", "p", "unique_visitors", BUCKET + timedelta(hours=1), "v1"),
        member_key("hour", "s", "p", "unique_visitors", BUCKET, "v2"),
        # Moving a character across a field boundary changes the key.
        member_key("hour", "s", "pu", "nique_visitors", BUCKET, "v1"),
    }
    assert key not in variants
    assert len(variants) == 7


def test_every_distinct_kpi_has_one_source() -> None:
    distinct = {name for name, kpi in KPI_BY_NAME.items() if kpi.rollup is Rollup.DISTINCT}
    assert set(DISTINCT_SOURCES) == distinct


def test_members_of_generated_events_come_from_their_kpis_source() -> None:
    config = GeneratorConfig(start=date(2026, 9, 1), days=5, shops=2, scale=1.0, seed=5)
    kinds: set[str] = set()
    for event in itertools.islice(generate_history(config), 20_000):
        kind = event.WhichOneof("payload") or ""
        for row in member_rows(candidate(event, Position(kind, 0, 0))):
            assert row.source == kind
            kinds.add(kind)
    assert kinds == {"traffic", "chat"}


def test_a_product_view_has_five_rows_with_their_bucket_ends() -> None:
    event = events_pb2.Event(event_id="e", shop_id="s", time_zone="Asia/Jakarta")
    event.occurred_at.FromDatetime(BUCKET + timedelta(minutes=5, seconds=7))
    event.traffic.kind = events_pb2.TRAFFIC_KIND_PRODUCT_VIEW
    event.traffic.visitor_id, event.traffic.product_id = "v1", "p"
    item = candidate(event, Position("events.traffic", 0, 0))
    rows = member_rows(item)
    minute = BUCKET + timedelta(minutes=5)
    day = datetime(2026, 11, 10, 17, tzinfo=UTC)
    assert [(r.granularity, r.product_id, r.bucket, r.bucket_end) for r in rows] == [
        (Granularity.MINUTE, "", minute, minute + timedelta(minutes=1)),
        (Granularity.HOUR, "", BUCKET, BUCKET + timedelta(hours=1)),
        (Granularity.DAY, "", day, day + timedelta(days=1)),
        (Granularity.HOUR, "p", BUCKET, BUCKET + timedelta(hours=1)),
        (Granularity.DAY, "p", day, day + timedelta(days=1)),
    ]
    assert {r.source for r in rows} == {"traffic"}
    assert rows[0].key == member_key("minute", "s", "", "unique_visitors", minute, "v1")
    # `plan` lists the rows of counted events only, hashed ahead or not.
    item.members = rows
    unhashed = candidate(event, Position("events.traffic", 0, 1))
    batch = plan([item], {("s", "traffic"): BUCKET + timedelta(hours=1)}, timedelta(minutes=10))
    assert batch.members == []
    assert len(batch.late) == 1
    assert plan([item], {}, timedelta(minutes=10)).members == list(rows)
    assert plan([unhashed], {}, timedelta(minutes=10)).members == list(rows)
