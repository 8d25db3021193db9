"""Turning a request body into validated events, with an error per bad record (no I/O here)."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import orjson
from google.protobuf.message import DecodeError

from shopee.events.v1 import events_pb2
from shopee_common.events import Event, InvalidEvent, event_from_json, validate, zone_mismatch


class BodyFormat(StrEnum):
    JSON = "application/json"
    NDJSON = "application/x-ndjson"
    PROTOBUF = "application/x-protobuf"


MEDIA_TYPES: dict[str, BodyFormat] = {
    "application/json": BodyFormat.JSON,
    "application/x-ndjson": BodyFormat.NDJSON,
    "application/jsonl": BodyFormat.NDJSON,
    "application/jsonlines": BodyFormat.NDJSON,
    "application/x-protobuf": BodyFormat.PROTOBUF,
    "application/protobuf": BodyFormat.PROTOBUF,
    "application/octet-stream": BodyFormat.PROTOBUF,
}


class MalformedBody(ValueError):
    """The body as a whole cannot be read (not JSON, not a protobuf EventBatch)."""


class TooManyRecords(MalformedBody):
    """More records in one request than the configured limit."""


@dataclass(frozen=True)
class RecordError:
    record: int
    field: str
    message: str


@dataclass
class ParsedBatch:
    """The valid events with their record index, and the errors of the others."""

    accepted: list[tuple[int, Event]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    record_count: int = 0

    @property
    def events(self) -> list[Event]:
        return [event for _, event in self.accepted]

    def reject(self, errors: Iterable[RecordError]) -> None:
        """Move the records these errors name from the valid events to the errors."""
        new_errors = list(errors)
        refused = {e.record for e in new_errors}
        self.accepted = [(index, event) for index, event in self.accepted if index not in refused]
        self.errors.extend(new_errors)
        self.errors.sort(key=lambda e: e.record)


def media_type(content_type: str | None) -> BodyFormat | None:
    """The body format for a Content-Type header, or None when it is not one we read."""
    if not content_type:
        return None
    return MEDIA_TYPES.get(content_type.split(";")[0].strip().lower())


def parse_batch(body: bytes, body_format: BodyFormat, max_records: int) -> ParsedBatch:
    """Decode and validate every record; never raises for one bad record, only for a bad body."""
    if body_format is BodyFormat.PROTOBUF:
        return _parse_protobuf(body, max_records)
    records = _json_records(body, body_format)
    if len(records) > max_records:
        raise TooManyRecords(f"{len(records)} records in one request; the limit is {max_records}")
    batch = ParsedBatch(record_count=len(records))
    for index, record in enumerate(records):
        if isinstance(record, _UnreadableLine):
            batch.errors.append(RecordError(index, "(record)", record.reason))
            continue
        try:
            batch.accepted.append((index, event_from_json(record)))
        except InvalidEvent as exc:
            batch.errors.extend(RecordError(index, e.field, e.message) for e in exc.errors)
    _flag_repeated_ids(batch)
    return batch


@dataclass(frozen=True)
class _UnreadableLine:
    reason: str


def _json_records(body: bytes, body_format: BodyFormat) -> list[object]:
    # Windows tools write UTF-8 with a byte order mark; RFC 8259 lets a parser ignore it, and the
    # stream job's JSON decoder does.
    body = body.removeprefix(codecs.BOM_UTF8)
    if body_format is BodyFormat.JSON:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise MalformedBody(f"malformed JSON: {exc}") from exc
        if isinstance(data, dict):
            return [data]
        if not isinstance(data, list):
            raise MalformedBody("expected a JSON array of events (or one event object)")
        return data
    records: list[object] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            records.append(_UnreadableLine(f"line {number} is not valid JSON: {exc}"))
    return records


def _parse_protobuf(body: bytes, max_records: int) -> ParsedBatch:
    envelope = events_pb2.EventBatch()
    try:
        envelope.ParseFromString(body)
    except DecodeError as exc:
        raise MalformedBody(f"body is not a protobuf shopee.events.v1.EventBatch: {exc}") from exc
    if len(envelope.events) > max_records:
        raise TooManyRecords(
            f"{len(envelope.events)} records in one request; the limit is {max_records}"
        )
    batch = ParsedBatch(record_count=len(envelope.events))
    for index, event in enumerate(envelope.events):
        try:
            validate(event)
            batch.accepted.append((index, event))
        except InvalidEvent as exc:
            batch.errors.extend(RecordError(index, e.field, e.message) for e in exc.errors)
    _flag_repeated_ids(batch)
    return batch


def _flag_repeated_ids(batch: ParsedBatch) -> None:
    """Two records in one request with the same event_id but different content is a producer bug."""
    seen: dict[str, bytes] = {}
    repeats = []
    for index, event in batch.accepted:
        content = event.SerializeToString(deterministic=True)
        previous = seen.setdefault(event.event_id, content)
        if previous != content:
            repeats.append(
                RecordError(index, "event_id", f"{event.event_id!r} repeats with different content")
            )
    batch.reject(repeats)


def reject_other_zones(batch: ParsedBatch, shop_zones: Mapping[str, str]) -> None:
    """Reject the events whose `time_zone` is not the zone their shop is registered in (shops
    missing from `shop_zones` are left alone: whether a key may publish for them is checked
    elsewhere)."""
    wrong_zones = []
    for index, event in batch.accepted:
        registered = shop_zones.get(event.shop_id)
        if registered is None:
            continue
        message = zone_mismatch(event.shop_id, event.time_zone, registered)
        if message is not None:
            wrong_zones.append(RecordError(index, "time_zone", message))
    batch.reject(wrong_zones)
