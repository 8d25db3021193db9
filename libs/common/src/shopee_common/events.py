"""Decoding and validating `shopee.events.v1.Event`, the same way at every entry to the platform.

Ingest uses it to answer per-record errors; the stream job uses it to send poison messages to the
dead-letter topic with the same reasons. Errors name the field by its JSON path
(`order.items[1].unit_price_minor`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError

from shopee.events.v1 import events_pb2
from shopee_common.topics import TOPIC_BY_PAYLOAD

Event = events_pb2.Event

MAX_ID_LENGTH = 128
MAX_TEXT_LENGTH = 10_000
# Money above this (minor units) is treated as absurd: 10^15 minor units is 10 trillion.
MAX_AMOUNT_MINOR = 10**15
MAX_QUANTITY = 100_000
# A shop's day of traffic above this is absurd: ten billion visitors or page views.
MAX_DAILY_COUNT = 10**10
# What datetime can hold (years 1 to 9999); a Timestamp outside it cannot even be converted.
_TIMESTAMP_SECONDS = (-62_135_596_800, 253_402_300_799)
EARLIEST_EVENT = datetime(2015, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(hours=1)

_INT_TYPES = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64,
}
_UNSIGNED_TYPES = {
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
}
_FLOAT_TYPES = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with a record: the JSON path of the field and what is wrong with it."""

    field: str
    message: str


class InvalidEvent(ValueError):
    """A record that is not a valid event; `errors` says which fields and why. `event` is the
    record as read, when it could be read and only its values are wrong (whose shop, which id)."""

    def __init__(self, errors: list[FieldError], event: Event | None = None) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors
        self.event = event


# ------------------------------------------------------------------ JSON shape (proto3 JSON mapping)
def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_scalar(field: FieldDescriptor, value: Any, path: str) -> FieldError | None:
    kind = field.type
    if kind in _INT_TYPES:
        number: Any = value
        if isinstance(value, str):
            try:
                number = int(value)
            except ValueError:
                return FieldError(path, f"expected an integer, got {value!r}")
        if isinstance(number, bool) or not isinstance(number, int | float):
            return FieldError(path, f"expected an integer, got {type(value).__name__}")
        if isinstance(number, float) and not number.is_integer():
            return FieldError(path, f"expected an integer, got {value!r}")
        if kind in _UNSIGNED_TYPES and number < 0:
            return FieldError(path, f"must not be negative, got {value!r}")
        return None
    if kind in _FLOAT_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return FieldError(path, f"expected a number, got {type(value).__name__}")
        if not math.isfinite(value):
            return FieldError(path, "must be a finite number")
        return None
    if kind == FieldDescriptor.TYPE_BOOL:
        return None if isinstance(value, bool) else FieldError(path, "expected true or false")
    if kind == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            return FieldError(path, f"expected a string, got {type(value).__name__}")
        if len(value) > MAX_TEXT_LENGTH:
            return FieldError(path, f"longer than {MAX_TEXT_LENGTH} characters")
        return None
    if kind == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type
        assert enum is not None  # an enum field always has its type
        if isinstance(value, str) and value in enum.values_by_name:
            return None
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value in enum.values_by_number
        ):
            return None
        allowed = ", ".join(v.name for v in enum.values if v.number != 0)
        return FieldError(path, f"unknown value {value!r}; one of {allowed}")
    return None


def _parse_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _check_json(descriptor: Descriptor, data: Any, path: str, errors: list[FieldError]) -> None:
    if not isinstance(data, dict):
        errors.append(
            FieldError(path or "(record)", f"expected an object, got {type(data).__name__}")
        )
        return
    fields = {f.json_name: f for f in descriptor.fields} | {f.name: f for f in descriptor.fields}
    for key, value in data.items():
        field = fields.get(key)
        where = _join(path, key)
        if field is None:
            errors.append(FieldError(where, f"unknown field for {descriptor.name}"))
            continue
        if value is None:
            continue
        if field.is_repeated:
            if not isinstance(value, list):
                errors.append(FieldError(where, "expected a list"))
                continue
            for index, item in enumerate(value):
                _check_value(field, item, f"{where}[{index}]", errors)
        else:
            _check_value(field, value, where, errors)


def _check_value(field: FieldDescriptor, value: Any, path: str, errors: list[FieldError]) -> None:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        assert field.message_type is not None  # a message field always has its type
        if field.message_type.full_name == "google.protobuf.Timestamp":
            if _parse_timestamp(value) is None:
                errors.append(
                    FieldError(path, f"expected an RFC 3339 timestamp with offset, got {value!r}")
                )
            return
        _check_json(field.message_type, value, path, errors)
        return
    error = _check_scalar(field, value, path)
    if error:
        errors.append(error)


def event_from_json(data: Any) -> Event:
    """Build an Event from its proto3 JSON form (a parsed dict), or raise InvalidEvent."""
    errors: list[FieldError] = []
    _check_json(Event.DESCRIPTOR, data, "", errors)
    if errors:
        raise InvalidEvent(errors)
    event = Event()
    try:
        json_format.ParseDict(data, event)
    except json_format.ParseError as exc:
        raise InvalidEvent([FieldError("(record)", str(exc))]) from exc
    validate(event)
    return event


_PROTOBUF_MEDIA_TYPES = {
    "application/x-protobuf",
    "application/protobuf",
    "application/vnd.google.protobuf",
}


def _media_type(content_type: str) -> str:
    """`Application/JSON; charset=utf-8` -> `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


# Confluent's Schema Registry serializers (Java, confluent-kafka, ...) frame a value as a zero
# byte, the schema's 4-byte id and, for protobuf, the path of the message in its .proto file. No
# Event starts with a zero byte (protobuf has no field 0, JSON starts with "{"), so the frame is
# told apart without asking a registry: whatever id the schema got, the topics carry Event.
_SCHEMA_REGISTRY_MAGIC = b"\x00"
_EVENT_PATH = [list(Event.DESCRIPTOR.file.message_types_by_name).index(Event.DESCRIPTOR.name)]


def _frame_error(detail: str) -> InvalidEvent:
    return InvalidEvent([FieldError("(record)", f"Schema Registry frame {detail}")])


def _zigzag_varint(value: bytes, at: int) -> tuple[int, int]:
    """The signed varint at `at` (zigzag, as Confluent writes message indexes), and where the
    next value starts."""
    number = shift = 0
    while at < len(value) and shift < 64:
        byte = value[at]
        number |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return (number >> 1) ^ -(number & 1), at
        shift += 7
    raise _frame_error("with its message path cut short")


def _schema_registry_payload(value: bytes, declared_json: bool) -> tuple[bytes, bool]:
    """The payload inside a Schema Registry frame, and whether it is JSON (JSON Schema
    serializer) rather than protobuf (Protobuf serializer, whose message path must name Event)."""
    if len(value) < 6:
        raise _frame_error(f"of {len(value)} bytes has no payload")
    schema_id = int.from_bytes(value[1:5], "big")
    payload = value[5:]
    if declared_json or payload.lstrip()[:1] == b"{":
        return payload, True
    # A single zero byte is Confluent's short form of the path [0].
    if payload[:1] == b"\x00":
        path, at = [0], 1
    else:
        count, at = _zigzag_varint(payload, 0)
        # Each index takes a byte at least: a longer path is not one (an Avro body, say).
        if not 0 < count <= len(payload) - at:
            raise _frame_error(f"(schema id {schema_id}) holds neither JSON nor a message path")
        path = []
        for _ in range(count):
            index, at = _zigzag_varint(payload, at)
            path.append(index)
    if path != _EVENT_PATH:
        raise _frame_error(
            f"(schema id {schema_id}) names message {path} of its .proto file; the event topics "
            f"carry {Event.DESCRIPTOR.full_name}, message {_EVENT_PATH} of {Event.DESCRIPTOR.file.name}"
        )
    return payload[at:], False


def event_from_bytes(value: bytes, content_type: str | None = None) -> Event:
    """Decode a Kafka message value: protobuf or proto3 JSON, told apart by the content type
    (parameters and case ignored), or by the content when the type names neither; either may
    come in a Confluent Schema Registry frame."""
    media = _media_type(content_type or "")
    declared_json = media == "application/json" or media.endswith("+json")
    if value[:1] == _SCHEMA_REGISTRY_MAGIC:
        value, is_json = _schema_registry_payload(value, declared_json)
    elif declared_json:
        is_json = True
    elif media in _PROTOBUF_MEDIA_TYPES:
        is_json = False
    else:
        is_json = value.lstrip()[:1] == b"{"
    return _event_from_json_bytes(value) if is_json else _event_from_protobuf(value)


def _event_from_json_bytes(value: bytes) -> Event:
    try:
        data = json.loads(value)
    # ValueError also covers integers of thousands of digits; RecursionError, deep nesting.
    except (ValueError, RecursionError) as exc:
        raise InvalidEvent([FieldError("(record)", f"not valid JSON: {exc}")]) from exc
    return event_from_json(data)


def _event_from_protobuf(value: bytes) -> Event:
    event = Event()
    try:
        event.ParseFromString(value)
    except DecodeError as exc:
        raise InvalidEvent([FieldError("(record)", f"not a valid protobuf Event: {exc}")]) from exc
    validate(event)
    return event


# ------------------------------------------------------------------ meaning
def zone_mismatch(shop_id: str, time_zone: str, registered: str) -> str | None:
    """Why an event of the shop may not be in `time_zone`, or None when it is the zone the shop is
    registered in: the stream job buckets a shop's hours and days in that zone, so ingest refuses
    and the job dead-letters events in any other."""
    if time_zone == registered:
        return None
    return f"{time_zone!r} is not the zone shop {shop_id!r} is registered in ({registered!r})"


def payload_topic(event: Event) -> str:
    """The public topic an event belongs on, by its payload."""
    case = event.WhichOneof("payload")
    if case is None:
        raise InvalidEvent(
            [FieldError("payload", "one of " + ", ".join(TOPIC_BY_PAYLOAD) + " is required")]
        )
    return TOPIC_BY_PAYLOAD[case]


def _required(errors: list[FieldError], path: str, value: str) -> None:
    if not value:
        errors.append(FieldError(path, "is required"))
    elif len(value) > MAX_ID_LENGTH:
        errors.append(FieldError(path, f"longer than {MAX_ID_LENGTH} characters"))


def _amount(errors: list[FieldError], path: str, value: int) -> None:
    if value < 0:
        errors.append(FieldError(path, f"must not be negative, got {value}"))
    elif value > MAX_AMOUNT_MINOR:
        errors.append(FieldError(path, f"implausibly large: {value}"))


def _enum_set(errors: list[FieldError], path: str, value: int) -> None:
    if value == 0:
        errors.append(FieldError(path, "is required"))


def _currency(errors: list[FieldError], path: str, value: str) -> None:
    if value and (len(value) != 3 or not value.isalpha() or not value.isupper()):
        errors.append(FieldError(path, f"expected an ISO 4217 code such as IDR, got {value!r}"))


def _timestamp(errors: list[FieldError], path: str, value: Any) -> datetime | None:
    """The Timestamp as a UTC datetime, or None with an error when no datetime can hold it."""
    low, high = _TIMESTAMP_SECONDS
    if not (low <= value.seconds <= high and 0 <= value.nanos < 1_000_000_000):
        errors.append(
            FieldError(path, f"out of range: seconds {value.seconds}, nanos {value.nanos}")
        )
        return None
    return value.ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]


def _no_nul(event: Event, errors: list[FieldError]) -> None:
    """NUL in any string: PostgreSQL text and jsonb cannot store it. A NUL is a 0x00 byte of the
    encoding, and few events have any, so the walk over every field (7 us an event, most of
    validating) runs only for those."""
    if b"\x00" in event.SerializeToString():
        _nul_fields(event, "", errors)


def _nul_fields(message: Any, path: str, errors: list[FieldError]) -> None:
    for field, value in message.ListFields():
        where = _join(path, field.name)
        if field.type == FieldDescriptor.TYPE_STRING:
            values = value if field.is_repeated else (value,)
            for index, text in enumerate(values):
                if "\x00" in text:
                    at = f"{where}[{index}]" if field.is_repeated else where
                    errors.append(FieldError(at, "contains a NUL character"))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            items = value if field.is_repeated else (value,)
            for index, item in enumerate(items):
                _nul_fields(item, f"{where}[{index}]" if field.is_repeated else where, errors)


def validate(event: Event, now: datetime | None = None) -> None:
    """Check what the schema cannot say (required ids, ranges, time zone); raise InvalidEvent."""
    errors: list[FieldError] = []
    _no_nul(event, errors)
    _required(errors, "event_id", event.event_id)
    _required(errors, "shop_id", event.shop_id)
    if not event.HasField("occurred_at"):
        errors.append(FieldError("occurred_at", "is required"))
    else:
        occurred = _timestamp(errors, "occurred_at", event.occurred_at)
        latest = (now or datetime.now(UTC)) + FUTURE_TOLERANCE
        if occurred is not None and not EARLIEST_EVENT <= occurred <= latest:
            errors.append(FieldError("occurred_at", f"out of range: {occurred.isoformat()}"))
    if not event.time_zone:
        errors.append(FieldError("time_zone", "is required (an IANA zone such as Asia/Jakarta)"))
    else:
        try:
            ZoneInfo(event.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(FieldError("time_zone", f"unknown IANA time zone {event.time_zone!r}"))
    case = event.WhichOneof("payload")
    if case is None:
        errors.append(
            FieldError("payload", "one of " + ", ".join(TOPIC_BY_PAYLOAD) + " is required")
        )
    else:
        _PAYLOAD_CHECKS[case](event, errors)
    if errors:
        raise InvalidEvent(errors, event)


def _check_order(event: Event, errors: list[FieldError]) -> None:
    order = event.order
    _required(errors, "order.order_id", order.order_id)
    _enum_set(errors, "order.status", order.status)
    _currency(errors, "order.currency", order.currency)
    _amount(errors, "order.shipping_fee_minor", order.shipping_fee_minor)
    if order.status == events_pb2.ORDER_STATUS_CREATED and not order.items:
        errors.append(FieldError("order.items", "a created order needs at least one item"))
    for index, item in enumerate(order.items):
        where = f"order.items[{index}]"
        _required(errors, f"{where}.product_id", item.product_id)
        if not 0 < item.quantity <= MAX_QUANTITY:
            errors.append(
                FieldError(f"{where}.quantity", f"must be 1 to {MAX_QUANTITY}, got {item.quantity}")
            )
        _amount(errors, f"{where}.unit_price_minor", item.unit_price_minor)
        _amount(errors, f"{where}.discount_minor", item.discount_minor)
        if (
            item.unit_price_minor >= 0
            and item.discount_minor > item.unit_price_minor * item.quantity
        ):
            errors.append(FieldError(f"{where}.discount_minor", "larger than the line's price"))
    if order.HasField("voucher"):
        _amount(errors, "order.voucher.discount_minor", order.voucher.discount_minor)


def _check_traffic(event: Event, errors: list[FieldError]) -> None:
    traffic = event.traffic
    _enum_set(errors, "traffic.kind", traffic.kind)
    _required(errors, "traffic.visitor_id", traffic.visitor_id)
    _required(errors, "traffic.session_id", traffic.session_id)
    if (
        traffic.kind
        in (
            events_pb2.TRAFFIC_KIND_PRODUCT_VIEW,
            events_pb2.TRAFFIC_KIND_ADD_TO_CART,
        )
        and not traffic.product_id
    ):
        errors.append(
            FieldError("traffic.product_id", "is required for product views and add-to-cart")
        )
    if traffic.quantity > MAX_QUANTITY:
        errors.append(FieldError("traffic.quantity", f"must be at most {MAX_QUANTITY}"))


def _check_campaign(event: Event, errors: list[FieldError]) -> None:
    campaign = event.campaign
    _required(errors, "campaign.campaign_id", campaign.campaign_id)
    _enum_set(errors, "campaign.kind", campaign.kind)
    _enum_set(errors, "campaign.action", campaign.action)
    _amount(errors, "campaign.spend_minor", campaign.spend_minor)
    _currency(errors, "campaign.currency", campaign.currency)
    if not 0 <= campaign.discount_percent <= 100:
        errors.append(FieldError("campaign.discount_percent", "must be 0 to 100"))
    starts = (
        _timestamp(errors, "campaign.starts_at", campaign.starts_at)
        if campaign.HasField("starts_at")
        else None
    )
    ends = (
        _timestamp(errors, "campaign.ends_at", campaign.ends_at)
        if campaign.HasField("ends_at")
        else None
    )
    if starts is not None and ends is not None and ends < starts:
        errors.append(FieldError("campaign.ends_at", "is before starts_at"))


def _check_chat(event: Event, errors: list[FieldError]) -> None:
    chat = event.chat
    _enum_set(errors, "chat.kind", chat.kind)
    _required(errors, "chat.conversation_id", chat.conversation_id)
    if chat.kind == events_pb2.CHAT_KIND_CSAT and not 1 <= chat.csat_score <= 5:
        errors.append(FieldError("chat.csat_score", f"must be 1 to 5, got {chat.csat_score}"))
    if chat.kind == events_pb2.CHAT_KIND_MESSAGE:
        _enum_set(errors, "chat.sender", chat.sender)
    if chat.first_response_seconds > 30 * 24 * 3600:
        errors.append(FieldError("chat.first_response_seconds", "longer than 30 days"))


def _check_review(event: Event, errors: list[FieldError]) -> None:
    review = event.review
    _required(errors, "review.review_id", review.review_id)
    _required(errors, "review.product_id", review.product_id)
    if not 1 <= review.rating <= 5:
        errors.append(FieldError("review.rating", f"must be 1 to 5, got {review.rating}"))


def _check_catalog(event: Event, errors: list[FieldError]) -> None:
    catalog = event.catalog
    _required(errors, "catalog.product_id", catalog.product_id)
    _amount(errors, "catalog.price_minor", catalog.price_minor)
    _amount(errors, "catalog.cost_minor", catalog.cost_minor)
    _currency(errors, "catalog.currency", catalog.currency)
    if catalog.stock < 0:
        errors.append(FieldError("catalog.stock", f"must not be negative, got {catalog.stock}"))


def _check_traffic_summary(event: Event, errors: list[FieldError]) -> None:
    summary = event.traffic_summary
    _enum_set(errors, "traffic_summary.period", summary.period)
    for name in ("visitors", "page_views", "product_views", "add_to_cart_visitors", "buyers"):
        count = getattr(summary, name)
        if count > MAX_DAILY_COUNT:
            errors.append(FieldError(f"traffic_summary.{name}", f"implausibly large: {count}"))
    if summary.visitors > summary.page_views and summary.page_views:
        errors.append(FieldError("traffic_summary.visitors", "more visitors than page views"))
    for name in ("add_to_cart_visitors", "buyers"):
        if getattr(summary, name) > summary.visitors:
            errors.append(FieldError(f"traffic_summary.{name}", "more than visitors"))


_PAYLOAD_CHECKS = {
    "order": _check_order,
    "traffic": _check_traffic,
    "campaign": _check_campaign,
    "chat": _check_chat,
    "review": _check_review,
    "catalog": _check_catalog,
    "traffic_summary": _check_traffic_summary,
}
