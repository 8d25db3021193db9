"""Kafka message values and records at the platform's entries: protobuf or proto3 JSON whatever
the producer wrote in content-type, either in the frame Confluent's Schema Registry serializers
write, and values that used to get past validation and then crash or
poison a consumer (timestamps no datetime can hold, NUL characters PostgreSQL cannot store, JSON a
parser gives up on, absurd daily traffic)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from shopee.events.v1 import events_pb2
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


def schema_registry_frame(serializer: Any, value: object) -> bytes:
    framed = serializer(value, SerializationContext("events.orders", MessageField.VALUE))
    assert isinstance(framed, bytes)
    return framed


REGISTRY = SchemaRegistryClient.new_client({"url": "mock://decoding"})


@pytest.mark.parametrize("content_type", [None, "application/x-protobuf"])
def test_protobuf_in_a_schema_registry_frame_is_read(content_type: str | None) -> None:
    """As Confluent's own serializer writes it (magic byte, schema id, message path [0])."""
    framed = schema_registry_frame(
        ProtobufSerializer(events_pb2.Event, REGISTRY), event_from_json(ORDER)
    )
    assert framed[:1] == b"\x00"
    assert event_from_bytes(framed, content_type) == event_from_json(ORDER)


@pytest.mark.parametrize("content_type", [None, "application/json"])
def test_json_in_a_schema_registry_frame_is_read(content_type: str | None) -> None:
    serializer = JSONSerializer(json.dumps({"type": "object"}), REGISTRY)
    framed = schema_registry_frame(serializer, ORDER)
    assert framed[:1] == b"\x00"
    assert event_from_bytes(framed, content_type) == event_from_json(ORDER)


def test_a_schema_registry_frame_of_another_message_names_it() -> None:
    batch = events_pb2.EventBatch(events=[event_from_json(ORDER)])
    framed = schema_registry_frame(ProtobufSerializer(events_pb2.EventBatch, REGISTRY), batch)
    with pytest.raises(InvalidEvent, match=r"names message \[1\] .*carry shopee.events.v1.Event"):
        event_from_bytes(framed)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\x00\x00\x00\x00\x07", "has no payload"),
        (b"\x00\x00\x00\x00\x07\x80", "message path cut short"),
        # An Avro body: its first byte read as a path length (zigzag 0x7e = 63) runs past the end.
        (b"\x00\x00\x00\x00\x07\x7e\x02ab", "neither JSON nor a message path"),
    ],
)
def test_a_broken_schema_registry_frame_is_an_invalid_record(value: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason) as error:
        event_from_bytes(value)
    assert fields_of(error) == ["(record)"]


def fields_of(error: pytest.ExceptionInfo[InvalidEvent]) -> list[str]:
    return [e.field for e in error.value.errors]


def protobuf(change: str) -> bytes:
    event = event_from_json(ORDER)
    if change == "seconds":
        event.occurred_at.seconds = 10**15
    elif change == "nanos":
        event.occurred_at.nanos = -5
    elif change == "campaign":
        event.ClearField("order")
        event.campaign.campaign_id = "c"
        event.campaign.kind = events_pb2.CAMPAIGN_KIND_FLASH_SALE
        event.campaign.action = events_pb2.CAMPAIGN_ACTION_PLANNED
        event.campaign.starts_at.seconds = 10**15
    return event.SerializeToString()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("seconds", "occurred_at"),
        ("nanos", "occurred_at"),
        ("campaign", "campaign.starts_at"),
    ],
)
def test_timestamps_no_datetime_can_hold_are_invalid(change: str, field: str) -> None:
    with pytest.raises(InvalidEvent) as error:
        event_from_bytes(protobuf(change), "application/x-protobuf")
    assert fields_of(error) == [field]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("event_id",), "event_id"),
        (("order", "items", 0, "product_id"), "order.items[0].product_id"),
        (("order", "order_id"), "order.order_id"),
    ],
)
def test_nul_characters_are_invalid_in_json_and_in_protobuf(
    path: tuple[str | int, ...], field: str
) -> None:
    data = json.loads(json.dumps(ORDER))
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = "p\x001"
    with pytest.raises(InvalidEvent) as error:
        event_from_json(data)
    assert fields_of(error) == [field]
    event = events_pb2.Event()
    event.ParseFromString(event_from_json(ORDER).SerializeToString())
    message: object = event
    for step in path[:-1]:
        message = message[step] if isinstance(step, int) else getattr(message, step)  # type: ignore[index]
    setattr(message, str(path[-1]), "p\x001")
    with pytest.raises(InvalidEvent) as error:
        event_from_bytes(event.SerializeToString(), "application/x-protobuf")
    assert fields_of(error) == [field]


@pytest.mark.parametrize(
    "value",
    [
        b'{"event_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"order": {"shipping_fee_minor": ' + b"9" * 5_000 + b"}}",
    ],
    ids=["deeply nested", "integer of 5,000 digits"],
)
def test_json_a_parser_gives_up_on_is_an_invalid_record(value: bytes) -> None:
    with pytest.raises(InvalidEvent) as error:
        event_from_bytes(value, "application/json")
    assert fields_of(error) == ["(record)"]


def summary(**counts: int) -> dict[str, object]:
    return {
        "event_id": "s-1",
        "shop_id": "glowlab-id",
        "occurred_at": "2026-11-20T03:00:00Z",
        "time_zone": "Asia/Jakarta",
        "traffic_summary": {"period": "SUMMARY_PERIOD_DAY", **counts},
    }


def test_absurd_daily_traffic_is_invalid() -> None:
    huge = 18 * 10**18
    with pytest.raises(InvalidEvent) as error:
        event_from_json(summary(visitors=huge, page_views=huge, buyers=huge))
    assert fields_of(error) == [
        "traffic_summary.visitors",
        "traffic_summary.page_views",
        "traffic_summary.buyers",
    ]


def test_buyers_and_cart_visitors_cannot_outnumber_visitors() -> None:
    with pytest.raises(InvalidEvent) as error:
        event_from_json(summary(visitors=10, page_views=30, buyers=11, add_to_cart_visitors=12))
    assert fields_of(error) == [
        "traffic_summary.add_to_cart_visitors",
        "traffic_summary.buyers",
    ]
    assert (
        event_from_json(summary(visitors=10, page_views=30, buyers=2)).traffic_summary.buyers == 2
    )


def test_an_event_read_but_invalid_is_kept_on_the_error_for_whose_it_is() -> None:
    bad = json.loads(AS_JSON)
    bad["order"]["items"][0]["unit_price_minor"] = -5
    with pytest.raises(InvalidEvent) as error:
        event_from_bytes(json.dumps(bad).encode())
    assert error.value.event is not None
    assert (error.value.event.shop_id, error.value.event.event_id) == ("glowlab-id", "o-1")
    with pytest.raises(InvalidEvent) as unreadable:
        event_from_bytes(b'{"event_id": 5}')
    assert unreadable.value.event is None
