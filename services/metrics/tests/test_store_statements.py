"""The sums of a batch go to PostgreSQL as bigint, unless one of them does not fit a bigint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shopee.events.v1 import events_pb2
from shopee_common.events import MAX_AMOUNT_MINOR, MAX_QUANTITY
from shopee_metrics.adapters.store import UPSERTS, WIDE_UPSERTS, fits_bigint
from shopee_metrics.domain.batch import Position, candidate, increments, plan
from shopee_metrics.domain.buckets import Granularity

BUCKET = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
ROW = (Granularity.HOUR, "s", "", "gmv", BUCKET)


def test_a_sum_beyond_bigint_either_way_takes_the_wide_statements() -> None:
    assert fits_bigint({ROW: [2**63 - 1, -(2**63)]})
    assert not fits_bigint({ROW: [2**63, 0]})
    assert not fits_bigint({ROW: [0, -(2**63) - 1]})
    assert fits_bigint({})


def test_one_valid_order_can_exceed_bigint() -> None:
    event = events_pb2.Event(event_id="e", shop_id="s", time_zone="Asia/Jakarta")
    event.occurred_at.FromDatetime(BUCKET)
    event.order.order_id, event.order.status = "o", events_pb2.ORDER_STATUS_PAID
    event.order.items.add(product_id="p", quantity=MAX_QUANTITY, unit_price_minor=MAX_AMOUNT_MINOR)
    batch = plan([candidate(event, Position("orders", 0, 0))], {}, timedelta(minutes=10))
    assert not fits_bigint(increments(batch, {}))


def test_the_wide_statements_differ_only_in_the_type_of_the_sums() -> None:
    for level, statement in UPSERTS.items():
        assert statement.count("$5::bigint[]::numeric[]") == 1
        assert statement.replace("bigint[]::numeric[]", "numeric[]") == WIDE_UPSERTS[level]
