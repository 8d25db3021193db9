"""Fifty kinds of poison message interleaved with good events: every poison message lands in
`events.dlq` with its reason and source, every good event is counted, the job never stalls."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import psycopg
import pytest
from google.protobuf import json_format

from shopee.events.v1 import events_pb2
from shopee_common.events import FieldError, event_from_json, payload_topic
from shopee_common.kafka import make_producer
from shopee_metrics.adapters.dead_letters import DeadLetter, DeadLetterTable
from tests.integration.databases import migrated_database
from tests.integration.kafka_reader import read_topics
from tests.integration.service_process import run_metrics

pytestmark = pytest.mark.integration

SHOP = "poison-shop"
JSON = [("content-type", b"application/json")]
PROTOBUF = [("content-type", b"application/x-protobuf")]


def good_order(index: int) -> dict[str, Any]:
    return {
        "event_id": f"good-{index}",
        "shop_id": SHOP,
        "occurred_at": f"2026-11-20T{index // 3600 % 24:02d}:{index // 60 % 60:02d}:{index % 60:02d}Z",
        "time_zone": "Asia/Jakarta",
        "order": {
            "order_id": f"o-{index}",
            "status": "ORDER_STATUS_PAID",
            "currency": "IDR",
            "items": [
                {
                    "product_id": "p-1",
                    "quantity": 1,
                    "unit_price_minor": 100_000,
                    "discount_minor": 0,
                }
            ],
        },
    }


def good_view(index: int) -> dict[str, Any]:
    return {
        "event_id": f"good-view-{index}",
        "shop_id": SHOP,
        "occurred_at": "2026-11-20T05:00:00Z",
        "time_zone": "Asia/Jakarta",
        "traffic": {
            "kind": "TRAFFIC_KIND_PRODUCT_VIEW",
            "visitor_id": f"v{index}",
            "session_id": "s",
            "product_id": "p",
        },
    }


def mutated(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `base` with the dotted `path` set to `value` (`value` ... deletes it)."""
    event = copy.deepcopy(base)
    *parents, leaf = path.split(".")
    target = event
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is ...:
        del target[leaf]
    elif isinstance(target, list):
        target[int(leaf)] = value
    else:
        target[leaf] = value
    return event


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()


def _proto(data: dict[str, Any]) -> bytes:
    return event_from_json(data).SerializeToString()


def poison_messages() -> list[tuple[str, str, bytes, list[tuple[str, bytes]]]]:
    """(name, base topic, value, headers) of fifty different kinds of poison."""
    order = good_order(0)
    view = good_view(0)
    campaign = {
        "event_id": "c", "shop_id": SHOP, "occurred_at": "2026-11-20T01:00:00Z", "time_zone": "Asia/Jakarta",
        "campaign": {"campaign_id": "c1", "kind": "CAMPAIGN_KIND_ADS", "action": "CAMPAIGN_ACTION_SPEND",
                     "spend_minor": 100},
    }  # fmt: skip
    review = {
        "event_id": "r", "shop_id": SHOP, "occurred_at": "2026-11-20T01:00:00Z", "time_zone": "Asia/Jakarta",
        "review": {"review_id": "r1", "product_id": "p-1", "rating": 5},
    }  # fmt: skip
    chat = {
        "event_id": "h", "shop_id": SHOP, "occurred_at": "2026-11-20T01:00:00Z", "time_zone": "Asia/Jakarta",
        "chat": {"kind": "CHAT_KIND_CSAT", "conversation_id": "k", "csat_score": 4},
    }  # fmt: skip
    catalog = {
        "event_id": "k", "shop_id": SHOP, "occurred_at": "2026-11-20T01:00:00Z", "time_zone": "Asia/Jakarta",
        "catalog": {"product_id": "p-1", "price_minor": 100, "stock": 5},
    }  # fmt: skip
    summary = {
        "event_id": "s", "shop_id": SHOP, "occurred_at": "2026-11-19T17:00:00Z", "time_zone": "Asia/Jakarta",
        "traffic_summary": {"period": "SUMMARY_PERIOD_DAY", "visitors": 10, "page_views": 20},
    }  # fmt: skip
    valid_proto = _proto(order)
    beyond_9999 = event_from_json(order)
    beyond_9999.occurred_at.seconds = 10**15
    items: list[tuple[str, str, Any]] = [
        ("random bytes", "events.orders", b"\xff\xfe\xfd\x00\x01garbage"),
        ("truncated protobuf", "events.orders", valid_proto[: len(valid_proto) // 2]),
        ("broken json", "events.orders", b'{"event_id": "x", '),
        ("json array", "events.traffic", b"[1, 2, 3]"),
        ("empty value", "events.traffic", b""),
        ("json not utf-8", "events.orders", b'{"event_id": "\xff\xfe"}'),
        ("json null", "events.chats", b"null"),
        ("json string", "events.chats", b'"an event"'),
        ("json nested 100,000 deep", "events.orders",
         b'{"event_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("json integer of 5,000 digits", "events.orders",
         b'{"order": {"shipping_fee_minor": ' + b"9" * 5_000 + b"}}"),
        ("time beyond the year 9999", "events.orders", beyond_9999.SerializeToString()),
        ("NUL in an id", "events.orders", mutated(order, "order.order_id", "A\x001")),
        ("absurd daily visitors", "events.traffic",
         mutated(mutated(summary, "traffic_summary.visitors", 18 * 10**18),
                 "traffic_summary.page_views", 18 * 10**18)),
        ("unknown top-level field", "events.orders", mutated(order, "surprise", 1)),
        ("unknown nested field", "events.orders", mutated(order, "order.colour", "red")),
        ("quantity as words", "events.orders", mutated(order, "order.items.0.quantity", "two")),
        ("rating as words", "events.reviews", mutated(review, "review.rating", "five")),
        ("unknown enum", "events.orders", mutated(order, "order.status", "ORDER_STATUS_LOST")),
        ("unparseable time", "events.orders", mutated(order, "occurred_at", "yesterday noon")),
        ("time without offset", "events.orders", mutated(order, "occurred_at", "2026-11-20T01:00:00")),
        ("items not a list", "events.orders", mutated(order, "order.items", {"product_id": "p"})),
        ("order not an object", "events.orders", mutated(order, "order", "paid")),
        ("time as a number", "events.orders", mutated(order, "occurred_at", 1763600000)),
        ("no event id", "events.orders", mutated(order, "event_id", ...)),
        ("no shop id", "events.orders", mutated(order, "shop_id", ...)),
        ("no time", "events.orders", mutated(order, "occurred_at", ...)),
        ("no time zone", "events.orders", mutated(order, "time_zone", ...)),
        ("unknown time zone", "events.orders", mutated(order, "time_zone", "Mars/Olympus_Mons")),
        ("another zone than the shop's", "events.orders", mutated(order, "time_zone", "UTC")),
        ("no payload", "events.orders", mutated(order, "order", ...)),
        ("negative price", "events.orders", mutated(order, "order.items.0.unit_price_minor", -100)),
        ("negative discount", "events.orders", mutated(order, "order.items.0.discount_minor", -1)),
        ("discount above price", "events.orders", mutated(order, "order.items.0.discount_minor", 200_000)),
        ("zero quantity", "events.orders", mutated(order, "order.items.0.quantity", 0)),
        ("absurd quantity", "events.orders", mutated(order, "order.items.0.quantity", 10**6)),
        ("absurd amount", "events.orders", mutated(order, "order.shipping_fee_minor", 10**17)),
        ("rating zero", "events.reviews", mutated(review, "review.rating", 0)),
        ("rating six", "events.reviews", mutated(review, "review.rating", 6)),
        ("csat nine", "events.chats", mutated(chat, "chat.csat_score", 9)),
        ("time in 2010", "events.orders", mutated(order, "occurred_at", "2010-01-01T00:00:00Z")),
        ("time in 2100", "events.orders", mutated(order, "occurred_at", "2100-01-01T00:00:00Z")),
        ("status missing", "events.orders", mutated(order, "order.status", ...)),
        ("created without items", "events.orders",
         mutated(mutated(order, "order.status", "ORDER_STATUS_CREATED"), "order.items", [])),
        ("no visitor", "events.traffic", mutated(view, "traffic.visitor_id", ...)),
        ("product view without product", "events.traffic", mutated(view, "traffic.product_id", ...)),
        ("negative spend", "events.campaigns", mutated(campaign, "campaign.spend_minor", -5)),
        ("discount 150%", "events.campaigns", mutated(campaign, "campaign.discount_percent", 150)),
        ("campaign ends before it starts", "events.campaigns",
         mutated(mutated(campaign, "campaign.starts_at", "2026-11-20T05:00:00Z"),
                 "campaign.ends_at", "2026-11-20T04:00:00Z")),
        ("negative stock", "events.catalog", mutated(catalog, "catalog.stock", -3)),
        ("lowercase currency", "events.orders", mutated(order, "order.currency", "idr")),
        ("event id of 200 characters", "events.orders", mutated(order, "event_id", "e" * 200)),
        ("first response of 40 days", "events.chats",
         mutated(mutated(chat, "chat.kind", "CHAT_KIND_MESSAGE"), "chat.first_response_seconds", 40 * 86400)),
        ("review without product", "events.reviews", mutated(review, "review.product_id", ...)),
        ("unknown shop", "events.orders", mutated(order, "shop_id", "nobody-knows-this-shop")),
        ("not-a-number discount", "events.campaigns", mutated(campaign, "campaign.discount_percent", "NaN")),
        ("summary without period", "events.traffic", mutated(summary, "traffic_summary.period", ...)),
        # Confluent's frame: zero byte, schema id, message path (zigzag: one index, 1 = EventBatch).
        ("schema registry frame of another message", "events.orders",
         b"\x00\x00\x00\x00\x07\x02\x02" + events_pb2.EventBatch(events=[event_from_json(order)]).SerializeToString()),
        ("schema registry frame without payload", "events.orders", b"\x00\x00\x00\x00\x07"),
    ]  # fmt: skip
    messages = []
    for index, (name, topic, value) in enumerate(items):
        if isinstance(value, dict):
            if "event_id" in value and "event id" not in name:
                value = {**value, "event_id": f"poison-{index}"}
            # Every other structured poison goes as protobuf where protobuf can carry it.
            if index % 2 == 0 and name in PROTOBUF_CAPABLE:
                messages.append((name, topic, _proto_unchecked(value), PROTOBUF))
            else:
                messages.append((name, topic, _json(value), JSON))
        else:
            messages.append((name, topic, value, JSON if name.startswith("json") else []))
    return messages


# Poison whose bad values survive protobuf encoding (the rest only exist in JSON).
PROTOBUF_CAPABLE = {
    "negative price", "zero quantity", "rating zero", "rating six", "csat nine", "time in 2010",
    "unknown time zone", "another zone than the shop's", "no time zone", "unknown shop",
    "negative stock", "lowercase currency", "NUL in an id", "absurd daily visitors",
}  # fmt: skip


def _proto_unchecked(data: dict[str, Any]) -> bytes:
    """Encode without validating, so the bad values reach the wire."""
    event = events_pb2.Event()
    json_format.ParseDict(data, event)
    return event.SerializeToString()


# Issue 3 asks for 50 kinds; the shop's-zone check, the crashes an audit found and the Schema
# Registry frames came later.
KINDS = 58


@pytest.fixture
def database(database_url: str) -> Iterator[str]:
    with migrated_database(database_url, {SHOP: "Asia/Jakarta"}) as dsn:
        yield dsn


async def test_every_poison_message_is_dead_lettered_and_every_good_event_counted(
    database: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    poison = poison_messages()
    assert len({name for name, *_ in poison}) == KINDS
    good = [good_order(i) for i in range(500)] + [good_view(i) for i in range(500)]
    producer = make_producer(kafka_bootstrap, client_id="poison-test")
    await producer.start()
    sent_poison = {}
    try:
        for index, event in enumerate(good):
            value = _proto(event) if index % 2 else _json(event)
            topic = topic_prefix + payload_topic(event_from_json(event))
            await producer.send_and_wait(
                topic, value, key=SHOP.encode(), headers=PROTOBUF if index % 2 else JSON
            )
            if index % 20 == 0 and poison:
                name, base, value, headers = poison.pop()
                meta = await producer.send_and_wait(
                    topic_prefix + base, value, key=SHOP.encode(), headers=headers
                )
                sent_poison[(meta.topic, meta.partition, meta.offset)] = (name, value)
        for name, base, value, headers in poison:
            meta = await producer.send_and_wait(
                topic_prefix + base, value, key=SHOP.encode(), headers=headers
            )
            sent_poison[(meta.topic, meta.partition, meta.offset)] = (name, value)
    finally:
        await producer.stop()
    assert len(sent_poison) == KINDS

    with run_metrics(topic_prefix, database):
        wait_until_counted(database, len(good), seconds=120)
        dead = await read_topics(
            kafka_bootstrap, [topic_prefix + "events.dlq"], expected=KINDS, timeout_seconds=60
        )

    assert counted(database) == len(good)
    assert paid_orders(database) == 500
    found = {}
    for record in dead:
        dlq = {key: raw.decode() for key, raw in record.headers}
        source = (
            dlq["dlq.source.topic"],
            int(dlq["dlq.source.partition"]),
            int(dlq["dlq.source.offset"]),
        )
        assert dlq["dlq.reason"], dlq
        json.loads(dlq["dlq.errors"])
        found[source] = (dlq["dlq.reason"], record.value)
    missing = {sent_poison[k][0] for k in set(sent_poison) - set(found)}
    assert not missing, f"not dead-lettered: {missing}"
    assert len(dead) == KINDS
    for source, (name, value) in sent_poison.items():
        assert found[source][1] == value, name
    reasons = {sent_poison[s][0]: found[s][0] for s in sent_poison}
    assert reasons["unknown shop"] == "unknown shop"
    assert reasons["another zone than the shop's"] == "invalid value: time_zone"
    assert reasons["time beyond the year 9999"] == "invalid value: occurred_at"
    assert reasons["NUL in an id"] == "invalid value: order.order_id"
    assert reasons["json nested 100,000 deep"] == "undecodable: invalid JSON"
    assert reasons["random bytes"].startswith("undecodable")
    assert reasons["negative price"] == "invalid value: order.items[0].unit_price_minor"
    assert reasons["schema registry frame of another message"] == (
        "undecodable: Schema Registry frame"
    )
    # Each is mirrored in `dead_letters`, where the gateway reads a shop's: the event's shop and
    # id when it could be read, else the record's key.
    mirrored = dead_letter_rows(database)
    assert {source: row[0] for source, row in mirrored.items()} == {
        source: found[source][0] for source in found
    }
    by_name = {sent_poison[source][0]: row for source, row in mirrored.items()}
    assert by_name["unknown shop"][1] == "nobody-knows-this-shop"
    assert by_name["unknown shop"][2].startswith("poison-")
    assert by_name["random bytes"][1:3] == (SHOP, "")
    for source, (_, value) in sent_poison.items():
        assert mirrored[source][3] == value


def dead_letter_rows(dsn: str) -> dict[tuple[str, int, int], tuple[str, str, str, bytes]]:
    """(source topic, partition, offset) -> (reason, shop id, event id, payload) of each row."""
    with psycopg.connect(dsn) as connection:
        return {
            (topic, partition, offset): (reason, shop, event, bytes(payload))
            for topic, partition, offset, reason, shop, event, payload in connection.execute(
                "SELECT source_topic, source_partition, source_offset, reason, shop_id, "
                "event_id, payload FROM dead_letters"
            )
        }


def wait_until_counted(dsn: str, expected: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and counted(dsn) < expected:
        time.sleep(0.5)


def counted(dsn: str) -> int:
    with psycopg.connect(dsn) as connection:
        row = connection.execute("SELECT count(*) FROM event_ids").fetchone()
        assert row is not None
        return int(row[0])


def paid_orders(dsn: str) -> int:
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT coalesce(sum(numerator), 0) FROM kpi_day WHERE kpi = 'paid_orders' AND product_id = ''"
        ).fetchone()
        assert row is not None
        return int(row[0])


async def test_a_dead_letter_sent_again_by_a_replay_is_one_row(database: str) -> None:
    """A worker killed between sending a batch's dead letters and committing its offsets sends
    them again, at new places in the DLQ: the mirror keeps one row per refused source record."""
    letter = DeadLetter(
        value=b"garbage",
        key=SHOP.encode(),
        headers=[],
        reason="undecodable",
        errors=[FieldError("(record)", "not a readable event")],
        source_topic="events.orders",
        source_partition=3,
        source_offset=41,
        shop_id=SHOP,
    )
    pool = await asyncpg.create_pool(database, min_size=1, max_size=1)
    try:
        table = DeadLetterTable(pool, keep=timedelta(days=30))
        now = datetime.now(UTC)
        for dlq_offset in (7, 8):
            place = SimpleNamespace(topic="events.dlq", partition=0, offset=dlq_offset)
            await table.record([letter], [place], now)
        # Older than the topic keeps records: pruned as the next ones arrive.
        stale = replace(letter, source_offset=40)
        await table.record(
            [stale],
            [SimpleNamespace(topic="events.dlq", partition=0, offset=1)],
            now - timedelta(days=31),
        )
        await table.record(
            [letter], [SimpleNamespace(topic="events.dlq", partition=0, offset=9)], now
        )
        rows = await pool.fetch("SELECT source_offset, dlq_offset FROM dead_letters")
    finally:
        await pool.close()
    assert [tuple(r) for r in rows] == [(41, 7)]


async def test_a_dead_letter_with_nul_characters_is_mirrored(database: str) -> None:
    """PostgreSQL text and jsonb hold no NUL; a refused record may carry one anywhere."""
    letter = DeadLetter(
        value=b"\x00",
        key=b"k\x00",
        headers=[("x-trace\x00", b"a\x00b"), ("content-type", b"application/json\x00")],
        reason="schema violation",
        errors=[FieldError("order.order_id", "got 'A\x001'")],
        source_topic="events.orders",
        source_partition=0,
        source_offset=1,
        shop_id="k\x00",
        event_id="e\x00",
        content_type="application/json\x00",
    )
    pool = await asyncpg.create_pool(database, min_size=1, max_size=1)
    try:
        place = SimpleNamespace(topic="events.dlq", partition=0, offset=1)
        await DeadLetterTable(pool, keep=timedelta(days=30)).record(
            [letter], [place], datetime.now(UTC)
        )
        row = await pool.fetchrow(
            "SELECT shop_id, event_id, errors, headers, payload FROM dead_letters"
        )
    finally:
        await pool.close()
    assert row is not None
    assert (row["shop_id"], row["event_id"], bytes(row["payload"])) == (
        "k\ufffd",
        "e\ufffd",
        b"\x00",
    )
    assert "A\ufffd1" in row["errors"]
    assert "a\ufffdb" in row["headers"]
