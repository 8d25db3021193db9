"""NDJSON files of events in the proto3 JSON mapping, one event per line.

`json_format.MessageToJson` costs ~16 µs an event; walking only the set fields with cached
converters is several times faster and gives the same JSON (tests compare the two).
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

_INT64_TYPES = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}
_FLOAT_TYPES = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}
Converter = Callable[[Any], Any]
# Strings, bools and 32-bit numbers appear in JSON as they are.
_AS_IS: Converter | None = None


@lru_cache(maxsize=4096)
def _utc_date(day_number: int) -> str:
    return time.strftime("%Y-%m-%dT", time.gmtime(day_number * 86_400))


def _timestamp(value: Message) -> str:
    seconds: int = value.seconds  # type: ignore[attr-defined]
    nanos: int = value.nanos  # type: ignore[attr-defined]
    day_number, second_of_day = divmod(seconds, 86_400)
    hour, rest = divmod(second_of_day, 3_600)
    text = f"{_utc_date(day_number)}{hour:02d}:{rest // 60:02d}:{rest % 60:02d}"
    if nanos == 0:
        return text + "Z"
    if nanos % 1_000_000 == 0:
        return f"{text}.{nanos // 1_000_000:03d}Z"
    if nanos % 1_000 == 0:
        return f"{text}.{nanos // 1_000:06d}Z"
    return f"{text}.{nanos:09d}Z"


def _float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


class ProtoJsonEncoder:
    """Proto3 JSON (as `MessageToDict` makes it) for messages without maps or Any."""

    def __init__(self) -> None:
        self._converters: dict[FieldDescriptor, tuple[str, Converter | None]] = {}

    def to_dict(self, message: Message) -> dict[str, Any]:
        converters = self._converters
        out: dict[str, Any] = {}
        for field, value in message.ListFields():
            plan = converters.get(field)
            if plan is None:
                plan = converters[field] = (field.json_name, self._converter(field))
            name, convert = plan
            out[name] = value if convert is None else convert(value)
        return out

    def encode(self, message: Message) -> bytes:
        """One JSON line (without the newline)."""
        return orjson.dumps(self.to_dict(message))

    def _converter(self, field: FieldDescriptor) -> Converter | None:
        single = self._scalar_converter(field)
        if field.is_repeated:
            if single is None:
                return list
            return lambda values: [single(v) for v in values]
        return single

    def _scalar_converter(self, field: FieldDescriptor) -> Converter | None:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            message_type: Descriptor | None = field.message_type
            assert message_type is not None
            if message_type.full_name == "google.protobuf.Timestamp":
                return _timestamp
            return self.to_dict
        if field.type == FieldDescriptor.TYPE_ENUM:
            enum_type = field.enum_type
            assert enum_type is not None
            names = {v.number: v.name for v in enum_type.values}
            return lambda number: names.get(number, number)
        if field.type in _INT64_TYPES:
            return str
        if field.type in _FLOAT_TYPES:
            return _float
        if field.type == FieldDescriptor.TYPE_BYTES:
            return lambda raw: base64.b64encode(raw).decode("ascii")
        return _AS_IS


def write_ndjson(events: Iterable[Message], stream: BinaryIO) -> int:
    """Write events as proto3 JSON lines; return how many."""
    encoder = ProtoJsonEncoder()
    count = 0
    buffer: list[bytes] = []
    for event in events:
        buffer.append(encoder.encode(event))
        count += 1
        if len(buffer) >= 4096:
            stream.write(b"\n".join(buffer) + b"\n")
            buffer.clear()
    if buffer:
        stream.write(b"\n".join(buffer) + b"\n")
    return count


def write_ndjson_file(events: Iterable[Message], path: Path) -> int:
    """Write events to `path` (replacing it) as NDJSON; return how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        return write_ndjson(events, stream)
