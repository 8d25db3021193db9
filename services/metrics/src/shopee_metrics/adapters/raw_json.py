"""The proto3 JSON of an event's payload for `raw_events.payload`, the same document
`json_format.MessageToDict(payload, preserving_proto_field_name=True)` makes, about four times
faster: one converter per field, built once from the descriptor, instead of the generic printer's
per-value type dispatch (it was a fifth of the job's CPU time).

Well-known types other than Timestamp and map fields are left to `json_format` itself.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.internal import type_checkers
from google.protobuf.message import Message

Converter = Callable[[Any], Any]
_INT64 = {FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64}
_FLOATS = {FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE}
# By message descriptor (the upb and the pure-Python descriptor types differ; both hash).
_converters: dict[Any, dict[str, Converter] | None] = {}


def payload_json(payload: Message) -> str:
    """The payload message as proto3 JSON text (proto field names)."""
    return orjson.dumps(message_dict(payload)).decode()


def message_dict(message: Message) -> dict[str, Any]:
    """`json_format.MessageToDict(message, preserving_proto_field_name=True)`, faster."""
    fields = _fields(message.DESCRIPTOR)
    if fields is None:
        return json_format.MessageToDict(message, preserving_proto_field_name=True)
    result = {}
    for field, value in message.ListFields():
        result[field.name] = fields[field.name](value)
    return result


def _fields(descriptor: Any) -> dict[str, Converter] | None:
    """The converter of each field, by name; None for a message json_format must print."""
    if descriptor in _converters:
        return _converters[descriptor]
    fields: dict[str, Converter] = {}
    for field in descriptor.fields:
        convert = _converter(field)
        fields[field.name] = _repeated(convert) if field.is_repeated else convert
    printable = not descriptor.full_name.startswith("google.protobuf.") and not any(
        _is_map(field) for field in descriptor.fields
    )
    _converters[descriptor] = fields if printable else None
    return _converters[descriptor]


def _is_map(field: FieldDescriptor) -> bool:
    message = field.message_type
    return message is not None and message.GetOptions().map_entry


def _repeated(convert: Converter) -> Converter:
    return lambda values: [convert(value) for value in values]


def _timestamp(value: Any) -> Any:
    return value.ToJsonString()


def _message(value: Any) -> Any:
    return message_dict(value)


def _int64(value: Any) -> Any:
    return str(value)


def _same(value: Any) -> Any:
    return value


def _bytes(value: Any) -> Any:
    return base64.b64encode(value).decode("utf-8")


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "-Infinity" if value < 0 else "Infinity"


def _double(value: Any) -> Any:
    return value if math.isfinite(value) else _non_finite(value)


def _float(value: Any) -> Any:
    return type_checkers.ToShortestFloat(value) if math.isfinite(value) else _non_finite(value)


def _enum(field: FieldDescriptor) -> Converter:
    enum = field.enum_type
    assert enum is not None  # an enum field always has its type
    names = {value.number: value.name for value in enum.values}
    # Open (proto3) enums print unknown numbers as numbers.
    return lambda value: names.get(value, value)


def _converter(field: FieldDescriptor) -> Converter:
    kind = field.cpp_type
    if kind == FieldDescriptor.CPPTYPE_MESSAGE:
        assert field.message_type is not None  # a message field always has its type
        if field.message_type.full_name == "google.protobuf.Timestamp":
            return _timestamp
        return _message
    if kind == FieldDescriptor.CPPTYPE_ENUM:
        return _enum(field)
    if kind == FieldDescriptor.CPPTYPE_STRING:
        return _bytes if field.type == FieldDescriptor.TYPE_BYTES else _same
    if kind == FieldDescriptor.CPPTYPE_BOOL:
        return bool
    if kind in _INT64:
        return _int64
    if kind in _FLOATS:
        return _float if kind == FieldDescriptor.CPPTYPE_FLOAT else _double
    return _same
