"""Kafka message values: protobuf or proto3 JSON, whatever the producer wrote in content-type."""

from __future__ import annotations

import json

import pytest

from shopee_common.events import InvalidEvent, event_from_bytes, event_from_json

ORDER = {
    "event_id": "o-1",
    "shop_id": "glowlab-id",
    "occurred_at": "2026-11-20T03:00:00Z",
    "time_zone": "Asia/Jakarta",
    "order": {
        "order_id": "A1",
        "buyer_id": "b1",
        "status": "ORDER_STATUS_PAID",
        "currency": "IDR",
        "items": [{"product_id": "p1", "quantity": 1, "unit_price_minor": 15000}],
    },
}
AS_JSON = json.dumps(ORDER).encode()
AS_PROTOBUF = event_from_json(ORDER).SerializeToString()


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.shopee.event+json",
        None,
        "",
        "text/plain",
    ],
)
def test_json_is_read_whatever_the_spelling_of_its_type(content_type: str | None) -> None:
    assert event_from_bytes(AS_JSON, content_type).order.order_id == "A1"


@pytest.mark.parametrize(
    "content_type",
    ["application/x-protobuf", "application/protobuf; proto=shopee.events.v1.Event", None],
)
def test_protobuf_is_read_by_its_type_or_its_content(content_type: str | None) -> None:
    assert event_from_bytes(AS_PROTOBUF, content_type).order.order_id == "A1"


def test_a_declared_type_wins_over_the_content() -> None:
    with pytest.raises(InvalidEvent, match="not valid JSON"):
        event_from_bytes(AS_PROTOBUF, "application/json; charset=utf-8")
