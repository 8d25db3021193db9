"""Paid orders happening now, for the tests that push live events through the stream job."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shopee.events.v1 import events_pb2


def paid_order(
    shop: str,
    zone: str,
    *,
    order_id: str | None = None,
    product_id: str = "p-1",
    quantity: int = 1,
    unit_price_minor: int = 10_000,
) -> events_pb2.Event:
    """A paid IDR order of one item at the current time; `zone` must be the shop's own."""
    event = events_pb2.Event(event_id=str(uuid.uuid4()), shop_id=shop, time_zone=zone)
    event.occurred_at.FromDatetime(datetime.now(UTC))
    event.order.order_id = order_id or event.event_id
    event.order.status = events_pb2.ORDER_STATUS_PAID
    event.order.currency = "IDR"
    event.order.items.add(
        product_id=product_id, quantity=quantity, unit_price_minor=unit_price_minor
    )
    return event
