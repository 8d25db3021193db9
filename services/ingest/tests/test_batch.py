"""Request bodies to events: every bad record is named by index and field."""

from __future__ import annotations

import codecs
from typing import Any

import orjson
import pytest

from shopee.events.v1 import events_pb2
from shopee_common.events import event_from_json
from shopee_ingest.domain.batch import (
    BodyFormat,
    MalformedBody,
    TooManyRecords,
    media_type,
    parse_batch,
    reject_other_zones,
)


def review(
    event_id: str, rating: Any = 5, shop: str = "shop-1", zone: str = "Asia/Jakarta"
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "shop_id": shop,
        "occurred_at": "2026-03-01T10:00:00+07:00",
        "time_zone": zone,
        "review": {
            "review_id": f"r-{event_id}",
            "product_id": "p-1",
            "rating": rating,
            "text": "bagus",
        },
    }


def test_media_types_are_read_with_parameters() -> None:
    assert media_type("application/json; charset=utf-8") is BodyFormat.JSON
    assert media_type("application/x-ndjson") is BodyFormat.NDJSON
    assert media_type("application/x-protobuf") is BodyFormat.PROTOBUF
    assert media_type("text/csv") is None
    assert media_type(None) is None


def test_json_array_with_one_bad_record_names_it() -> None:
    body = orjson.dumps([review("a"), review("b", rating=9), review("c")])
    batch = parse_batch(body, BodyFormat.JSON, max_records=10)
    assert [index for index, _ in batch.accepted] == [0, 2]
    assert [(e.record, e.field) for e in batch.errors] == [(1, "review.rating")]


def test_single_object_is_a_batch_of_one() -> None:
    batch = parse_batch(orjson.dumps(review("a")), BodyFormat.JSON, max_records=10)
    assert batch.record_count == 1
    assert not batch.errors


def test_ndjson_bad_line_is_an_error_of_that_record() -> None:
    body = orjson.dumps(review("a")) + b"\n{not json\n\n" + orjson.dumps(review("c"))
    batch = parse_batch(body, BodyFormat.NDJSON, max_records=10)
    assert batch.record_count == 3
    assert [e.record for e in batch.errors] == [1]
    assert "line 2" in batch.errors[0].message


@pytest.mark.parametrize("body_format", [BodyFormat.JSON, BodyFormat.NDJSON])
def test_a_utf8_byte_order_mark_is_ignored(body_format: BodyFormat) -> None:
    events = [review("a"), review("b")]
    body = (
        orjson.dumps(events)
        if body_format is BodyFormat.JSON
        else b"\r\n".join(orjson.dumps(e) for e in events)
    )
    batch = parse_batch(codecs.BOM_UTF8 + body, body_format, max_records=10)
    assert [index for index, _ in batch.accepted] == [0, 1]
    assert not batch.errors


@pytest.mark.parametrize("body", [b"[1, 2", b'"just a string"', b""])
def test_unreadable_json_body_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedBody):
        parse_batch(body, BodyFormat.JSON, max_records=10)


def test_record_limit() -> None:
    with pytest.raises(TooManyRecords):
        parse_batch(
            orjson.dumps([review(str(i)) for i in range(3)]), BodyFormat.JSON, max_records=2
        )


def test_protobuf_batch_is_validated_per_record() -> None:
    good = event_from_json(review("a"))
    bad = events_pb2.Event()
    bad.CopyFrom(good)
    bad.event_id = "b"
    bad.review.rating = 0
    body = events_pb2.EventBatch(events=[good, bad]).SerializeToString()
    batch = parse_batch(body, BodyFormat.PROTOBUF, max_records=10)
    assert [index for index, _ in batch.accepted] == [0]
    assert [(e.record, e.field) for e in batch.errors] == [(1, "review.rating")]


def test_same_id_with_different_content_is_refused_but_an_exact_repeat_is_not() -> None:
    changed = review("a")
    changed["review"]["text"] = "jelek"
    body = orjson.dumps([review("a"), review("a"), changed])
    batch = parse_batch(body, BodyFormat.JSON, max_records=10)
    assert [(e.record, e.field) for e in batch.errors] == [(2, "event_id")]
    assert [index for index, _ in batch.accepted] == [0, 1]


def test_event_in_another_zone_than_its_shop_is_a_record_error() -> None:
    body = orjson.dumps(
        [
            review("a"),
            review("b", rating=9),
            review("c", zone="UTC"),
            review("d", shop="shop-2", zone="Asia/Kuala_Lumpur"),
            review("e", shop="shop-3", zone="UTC"),
        ]
    )
    batch = parse_batch(body, BodyFormat.JSON, max_records=10)
    reject_other_zones(batch, {"shop-1": "Asia/Jakarta", "shop-2": "Asia/Kuala_Lumpur"})
    assert [index for index, _ in batch.accepted] == [0, 3, 4]
    assert [(e.record, e.field) for e in batch.errors] == [(1, "review.rating"), (2, "time_zone")]
    assert batch.errors[1].message == (
        "'UTC' is not the zone shop 'shop-1' is registered in ('Asia/Jakarta')"
    )
