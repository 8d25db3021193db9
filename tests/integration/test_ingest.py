"""Ingest against the real Kafka, PostgreSQL and Redis: what is acknowledged is on the topics,
what is rejected is answered precisely and never published."""

from __future__ import annotations

import gzip
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from shopee.events.v1 import events_pb2
from shopee_common.api_keys import issue_api_key
from shopee_common.events import event_from_json
from shopee_common.topics import EVENT_TOPICS
from shopee_db import upgrade
from shopee_db.testing import temporary_database
from tests.integration.kafka_reader import read_topics
from tests.integration.service_process import TEST_API_KEY, ServiceProcess, run_ingest

pytestmark = pytest.mark.integration

BASE_TIME = datetime(2026, 11, 11, 3, 0, tzinfo=UTC)


def order_event(index: int, shop: str = "shop-a", **order: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "shop_id": shop,
        "occurred_at": (BASE_TIME + timedelta(seconds=index)).isoformat().replace("+00:00", "Z"),
        "time_zone": "Asia/Jakarta",
        "order": {
            "order_id": f"o-{index}",
            "status": "ORDER_STATUS_PAID",
            "items": [{"product_id": "p-1", "quantity": 2, "unit_price_minor": 150_000}],
            "currency": "IDR",
            **order,
        },
    }


def traffic_event(index: int, shop: str = "shop-b") -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "shop_id": shop,
        "occurred_at": (BASE_TIME + timedelta(seconds=index)).isoformat(),
        "time_zone": "Asia/Kuala_Lumpur",
        "traffic": {
            "kind": "TRAFFIC_KIND_PRODUCT_VIEW",
            "session_id": f"s-{index % 97}",
            "visitor_id": f"v-{index % 31}",
            "product_id": "p-2",
            "source": "TRAFFIC_SOURCE_SEARCH",
        },
    }


@pytest.fixture
def ingest(topic_prefix: str) -> Iterator[ServiceProcess]:
    with run_ingest(topic_prefix) as running:
        yield running


def post(
    ingest: ServiceProcess,
    body: bytes,
    content_type: str = "application/json",
    key: str | None = "default",
    encoding: str | None = None,
    **params: str,
) -> httpx.Response:
    headers = {"content-type": content_type}
    if encoding is not None:
        headers["content-encoding"] = encoding
    if key is not None:
        headers["x-api-key"] = TEST_API_KEY if key == "default" else key
    return httpx.post(
        f"{ingest.url}/v1/events", content=body, headers=headers, params=params, timeout=60
    )


def read_metrics(ingest: ServiceProcess) -> str:
    return httpx.get(f"{ingest.url}/metrics").text


def event_topics(prefix: str) -> list[str]:
    return [prefix + spec.name for spec in EVENT_TOPICS]


async def test_ten_thousand_events_all_come_back(
    ingest: ServiceProcess, topic_prefix: str, kafka_bootstrap: str
) -> None:
    sent: set[str] = set()
    for batch_number in range(10):
        records = [
            order_event(i) if i % 2 else traffic_event(i)
            for i in range(batch_number * 1000, (batch_number + 1) * 1000)
        ]
        sent.update(r["event_id"] for r in records)
        if batch_number % 3 == 0:
            response = post(ingest, orjson.dumps(records))
        elif batch_number % 3 == 1:
            response = post(
                ingest, b"\n".join(orjson.dumps(r) for r in records), "application/x-ndjson"
            )
        else:
            batch = events_pb2.EventBatch(events=[event_from_json(r) for r in records])
            response = post(ingest, batch.SerializeToString(), "application/x-protobuf")
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == 1000
    consumed = await read_topics(kafka_bootstrap, event_topics(topic_prefix), expected=len(sent))
    received = []
    for record in consumed:
        event = events_pb2.Event.FromString(record.value)
        assert record.key == event.shop_id.encode()
        assert dict(record.headers)["content-type"] == b"application/x-protobuf"
        expected_topic = topic_prefix + (
            "events.orders" if event.HasField("order") else "events.traffic"
        )
        assert record.topic == expected_topic
        received.append(event.event_id)
    assert len(received) == len(sent)
    assert set(received) == sent


BAD_REQUESTS = [
    pytest.param(b'[{"event_id": "x",', "application/json", 400, None, id="malformed-json"),
    pytest.param(
        orjson.dumps([order_event(1, surprise=1)]),
        "application/json",
        422,
        "order.surprise",
        id="unknown-field",
    ),
    pytest.param(
        orjson.dumps(
            [order_event(1, items=[{"product_id": "p", "quantity": "two", "unit_price_minor": 5}])]
        ),
        "application/json",
        422,
        "order.items[0].quantity",
        id="wrong-type",
    ),
    pytest.param(
        orjson.dumps(
            [order_event(1, items=[{"product_id": "p", "quantity": 1, "unit_price_minor": -100}])]
        ),
        "application/json",
        422,
        "order.items[0].unit_price_minor",
        id="negative-price",
    ),
    pytest.param(
        orjson.dumps([{**order_event(1), "occurred_at": "yesterday at noon"}]),
        "application/json",
        422,
        "occurred_at",
        id="bad-timestamp",
    ),
    pytest.param(b"\x08\x96\x01\xff\xff", "application/x-protobuf", 400, None, id="bad-protobuf"),
    pytest.param(b"<xml/>", "text/xml", 415, None, id="unsupported-media-type"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "field"), BAD_REQUESTS)
async def test_bad_input_gets_its_documented_error_and_nothing_is_published(
    ingest: ServiceProcess,
    topic_prefix: str,
    kafka_bootstrap: str,
    body: bytes,
    content_type: str,
    status: int,
    field: str | None,
) -> None:
    response = post(ingest, body, content_type)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert problem["detail"]
    if field is not None:
        assert {"record": 0, "field": field} in [
            {"record": e["record"], "field": e["field"]} for e in problem["errors"]
        ]
    assert await read_topics(kafka_bootstrap, event_topics(topic_prefix)) == []


async def test_a_gzipped_body_is_published(
    ingest: ServiceProcess, topic_prefix: str, kafka_bootstrap: str
) -> None:
    records = [order_event(i) for i in range(500)]
    ndjson = b"\n".join(orjson.dumps(r) for r in records)
    response = post(ingest, gzip.compress(ndjson), "application/x-ndjson", encoding="gzip")
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(records)
    consumed = await read_topics(kafka_bootstrap, event_topics(topic_prefix), expected=500)
    assert {events_pb2.Event.FromString(r.value).event_id for r in consumed} == {
        r["event_id"] for r in records
    }


@pytest.mark.parametrize(
    ("body", "encoding", "status", "detail"),
    [
        (orjson.dumps([order_event(1)]), "gzip", 400, "not valid gzip"),
        (gzip.compress(orjson.dumps([order_event(1)])), "br", 415, "send gzip"),
        # 20 kB of gzip that inflates past the 8 MiB body limit.
        (gzip.compress(b" " * 9_000_000), "gzip", 413, "inflates to more than"),
    ],
    ids=["not-gzip", "brotli", "inflates-too-large"],
)
async def test_bad_encoding_gets_its_documented_error_and_nothing_is_published(
    ingest: ServiceProcess,
    topic_prefix: str,
    kafka_bootstrap: str,
    body: bytes,
    encoding: str,
    status: int,
    detail: str,
) -> None:
    response = post(ingest, body, encoding=encoding)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in response.json()["detail"]
    assert await read_topics(kafka_bootstrap, event_topics(topic_prefix)) == []


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("sk_wrong_key", 401)])
async def test_missing_or_wrong_api_key_is_refused(
    ingest: ServiceProcess, topic_prefix: str, kafka_bootstrap: str, key: str | None, status: int
) -> None:
    response = post(ingest, orjson.dumps([order_event(1)]), key=key)
    assert response.status_code == status
    assert "API key" in response.json()["detail"]
    assert await read_topics(kafka_bootstrap, event_topics(topic_prefix)) == []


async def test_oversize_body_is_refused_before_reading(
    topic_prefix: str, kafka_bootstrap: str
) -> None:
    with run_ingest(
        topic_prefix, SHOPEE_INGEST_MAX_BODY_BYTES="20000", SHOPEE_INGEST_MAX_IMPORT_BYTES="20000"
    ) as ingest:
        body = orjson.dumps([order_event(i) for i in range(200)])
        assert len(body) > 20_000
        response = post(ingest, body)
        assert response.status_code == 413
        assert "20000" in response.json()["detail"]
    assert await read_topics(kafka_bootstrap, event_topics(topic_prefix)) == []


async def test_too_many_records_is_refused(topic_prefix: str, kafka_bootstrap: str) -> None:
    with run_ingest(topic_prefix, SHOPEE_INGEST_MAX_RECORDS="5") as ingest:
        response = post(ingest, orjson.dumps([order_event(i) for i in range(6)]))
        assert response.status_code == 413
    assert await read_topics(kafka_bootstrap, event_topics(topic_prefix)) == []


def mixed_batch() -> list[dict[str, Any]]:
    good = [order_event(i) for i in range(4)]
    bad = order_event(99, items=[{"product_id": "p", "quantity": 1, "unit_price_minor": -1}])
    return [good[0], good[1], bad, good[2], good[3]]


async def test_mixed_batch_is_all_or_nothing_by_default(
    ingest: ServiceProcess, topic_prefix: str, kafka_bootstrap: str
) -> None:
    response = post(ingest, orjson.dumps(mixed_batch()))
    assert response.status_code == 422
    assert {e["record"] for e in response.json()["errors"]} == {2}
    assert "nothing was published" in response.json()["detail"]
    assert await read_topics(kafka_bootstrap, event_topics(topic_prefix)) == []


async def test_mixed_batch_with_partial_publishes_the_good_records(
    ingest: ServiceProcess, topic_prefix: str, kafka_bootstrap: str
) -> None:
    batch = mixed_batch()
    response = post(ingest, orjson.dumps(batch), partial="true")
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 4
    assert [(r["record"], r["field"]) for r in body["rejected"]] == [
        (2, "order.items[0].unit_price_minor")
    ]
    consumed = await read_topics(kafka_bootstrap, event_topics(topic_prefix))
    published = {events_pb2.Event.FromString(r.value).event_id for r in consumed}
    assert published == {e["event_id"] for i, e in enumerate(batch) if i != 2}


def test_health_readiness_and_metrics(ingest: ServiceProcess) -> None:
    assert httpx.get(f"{ingest.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{ingest.url}/readyz").json()
    assert ready["ready"] is True
    assert set(ready["checks"]) == {"kafka", "postgres", "redis"}
    assert post(ingest, orjson.dumps([order_event(1)])).status_code == 200
    metrics = httpx.get(f"{ingest.url}/metrics").text
    assert "ingest_events_published_total" in metrics
    assert "http_request_duration_seconds_bucket" in metrics
    spec = httpx.get(f"{ingest.url}/openapi.json").json()
    assert "/v1/events" in spec["paths"]
    assert "/v1/imports" in spec["paths"]


ORGANISATION_SHOPS = {
    "org-a": {"shop-a": "Asia/Jakarta", "shop-a-kl": "Asia/Kuala_Lumpur"},
    "org-b": {"shop-b": "Asia/Jakarta"},
}


@pytest.fixture(scope="module")
def tenancy_database(database_url: str) -> Iterator[tuple[str, str, str]]:
    """A migrated database with the organisations and shops (and zones) of ORGANISATION_SHOPS,
    and a key of org-a; yields (dsn, plain key, revoked key)."""
    with temporary_database(database_url) as dsn:
        upgrade(dsn)
        with psycopg.connect(dsn) as connection:
            key, revoked = issue_api_key(), issue_api_key()
            for slug, shops in ORGANISATION_SHOPS.items():
                row = connection.execute(
                    "INSERT INTO organisations (slug, name) VALUES (%s, %s) RETURNING id",
                    (slug, slug),
                ).fetchone()
                assert row is not None
                for shop, zone in shops.items():
                    connection.execute(
                        "INSERT INTO shops (id, organisation_id, name, market, currency, time_zone) "
                        "VALUES (%s, %s, %s, 'ID', 'IDR', %s)",
                        (shop, row[0], shop, zone),
                    )
                if slug == "org-a":
                    for issued, revoked_at in ((key, None), (revoked, "2026-01-01")):
                        connection.execute(
                            "INSERT INTO api_keys (organisation_id, name, key_prefix, key_hash, revoked_at) "
                            "VALUES (%s, 'producer', %s, %s, %s)",
                            (row[0], issued.prefix, issued.key_hash, revoked_at),
                        )
        yield dsn, key.plain, revoked.plain


async def test_organisation_key_publishes_only_for_its_shops(
    topic_prefix: str, kafka_bootstrap: str, tenancy_database: tuple[str, str, str]
) -> None:
    dsn, key, revoked = tenancy_database
    with run_ingest(topic_prefix, SHOPEE_DATABASE_URL=dsn) as ingest:
        own = order_event(1, shop="shop-a")
        assert post(ingest, orjson.dumps([own]), key=key).status_code == 200
        response = post(
            ingest,
            orjson.dumps([order_event(2, shop="shop-a"), order_event(3, shop="shop-b")]),
            key=key,
        )
        assert response.status_code == 403
        assert [(e["record"], e["field"]) for e in response.json()["errors"]] == [(1, "shop_id")]
        assert (
            post(ingest, orjson.dumps([order_event(4, shop="shop-a")]), key=revoked).status_code
            == 401
        )
    consumed = await read_topics(kafka_bootstrap, event_topics(topic_prefix))
    assert [events_pb2.Event.FromString(r.value).event_id for r in consumed] == [own["event_id"]]


def wrong_zone_batch() -> list[dict[str, Any]]:
    """Events of org-a's two shops, each in its registered zone but record 2 (UTC)."""
    return [
        order_event(0, shop="shop-a"),
        traffic_event(1, shop="shop-a-kl"),
        {**order_event(2, shop="shop-a"), "time_zone": "UTC"},
        order_event(3, shop="shop-a"),
    ]


async def test_organisation_key_event_outside_its_shops_zone_is_an_invalid_record(
    topic_prefix: str, kafka_bootstrap: str, tenancy_database: tuple[str, str, str]
) -> None:
    dsn, key, _ = tenancy_database
    batch = wrong_zone_batch()
    operator_event = {**order_event(4, shop="shop-a"), "time_zone": "UTC"}
    with run_ingest(topic_prefix, SHOPEE_DATABASE_URL=dsn) as ingest:
        refused = post(ingest, orjson.dumps(wrong_zone_batch()), key=key)
        partial = post(ingest, orjson.dumps(batch), key=key, partial="true")
        # A static operator key knows no registered zones: today's behaviour.
        operator = post(ingest, orjson.dumps([operator_event]))
        metrics = read_metrics(ingest)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [
        {
            "record": 2,
            "field": "time_zone",
            "message": "'UTC' is not the zone shop 'shop-a' is registered in ('Asia/Jakarta')",
        }
    ]
    assert partial.status_code == 200, partial.text
    assert partial.json()["accepted"] == 3
    assert [(r["record"], r["field"]) for r in partial.json()["rejected"]] == [(2, "time_zone")]
    assert operator.status_code == 200, operator.text
    assert 'ingest_records_rejected_total{entry="events"} 2.0' in metrics
    consumed = await read_topics(kafka_bootstrap, event_topics(topic_prefix))
    published = sorted(events_pb2.Event.FromString(r.value).event_id for r in consumed)
    expected = [e["event_id"] for i, e in enumerate(batch) if i != 2] + [operator_event["event_id"]]
    assert published == sorted(expected)


TRAFFIC_EXPORT = b"Date,Visitors,Page Views,Product Views\n2026-11-10,1200,5400,3000\n"


def start_import(ingest: ServiceProcess, key: str, **fields: str) -> httpx.Response:
    return httpx.post(
        f"{ingest.url}/v1/imports",
        headers={"x-api-key": key},
        data={"currency": "IDR", **fields},
        files={"file": ("traffic.csv", TRAFFIC_EXPORT)},
        timeout=60,
    )


def finished_import(status_url: str, key: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        progress: dict[str, Any] = httpx.get(status_url, headers={"x-api-key": key}).json()
        if progress["status"] in ("completed", "failed"):
            return progress
        time.sleep(0.1)
    raise AssertionError(f"import did not finish: {progress}")


async def test_import_is_read_in_the_shops_registered_zone(
    topic_prefix: str, kafka_bootstrap: str, tenancy_database: tuple[str, str, str]
) -> None:
    dsn, key, _ = tenancy_database
    with run_ingest(topic_prefix, SHOPEE_DATABASE_URL=dsn) as ingest:
        wrong_zone = start_import(ingest, key, shop_id="shop-a-kl", time_zone="Asia/Jakarta")
        operator_without_zone = start_import(ingest, TEST_API_KEY, shop_id="shop-a-kl")
        defaulted = start_import(ingest, key, shop_id="shop-a-kl")
        assert defaulted.status_code == 202, defaulted.text
        progress = finished_import(defaulted.json()["status_url"], key)
    assert wrong_zone.status_code == 400, wrong_zone.text
    assert wrong_zone.json()["errors"] == [
        {
            "field": "time_zone",
            "message": "'Asia/Jakarta' is not the zone shop 'shop-a-kl' is registered in "
            "('Asia/Kuala_Lumpur')",
        }
    ]
    assert operator_without_zone.status_code == 422, operator_without_zone.text
    assert operator_without_zone.json()["errors"] == [
        {"field": "time_zone", "message": "Field required"}
    ]
    assert progress["status"] == "completed", progress
    assert progress["events_published"] == 1
    consumed = await read_topics(kafka_bootstrap, event_topics(topic_prefix))
    (event,) = [events_pb2.Event.FromString(r.value) for r in consumed]
    assert (event.shop_id, event.time_zone) == ("shop-a-kl", "Asia/Kuala_Lumpur")
    # The day starts at midnight in Kuala Lumpur (UTC+8).
    assert event.occurred_at.ToDatetime(UTC) == datetime(2026, 11, 9, 16, 0, tzinfo=UTC)
