"""From an event stream to the rows of Seller Centre's order and traffic exports. No I/O.

Orders export: one row per order line, in the order's final state, times in the shop's local
time. Traffic export: one row per local day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from shopee.events.v1 import events_pb2
from shopee_generator.domain.clock import zone


@dataclass
class OrderState:
    order: events_pb2.OrderEvent
    status: int
    created_at: datetime
    paid_at: datetime | None = None
    completed_at: datetime | None = None
    reason: str = ""


@dataclass
class DayTraffic:
    visitors: set[str] = field(default_factory=set)
    page_views: int = 0
    product_views: int = 0
    cart_visitors: set[str] = field(default_factory=set)
    buyers: set[str] = field(default_factory=set)
    orders: int = 0
    sales_minor: int = 0


@dataclass
class ShopExport:
    shop_id: str
    time_zone: str
    currency: str = ""
    orders: dict[str, OrderState] = field(default_factory=dict)
    traffic: dict[date, DayTraffic] = field(default_factory=lambda: defaultdict(DayTraffic))


def _local(event: events_pb2.Event) -> datetime:
    moment = (
        datetime(1970, 1, 1, tzinfo=UTC).timestamp()
        + event.occurred_at.seconds
        + event.occurred_at.nanos / 1e9
    )
    return datetime.fromtimestamp(moment, tz=zone(event.time_zone)).replace(tzinfo=None)


def order_subtotal_minor(order: events_pb2.OrderEvent) -> int:
    """Merchandise value after item discounts (before vouchers and shipping)."""
    return sum(item.unit_price_minor * item.quantity - item.discount_minor for item in order.items)


def collect(
    events: Iterable[events_pb2.Event], first_day: date, last_day: date
) -> dict[str, ShopExport]:
    """Per shop: the final state of each order created in [first_day, last_day] (local dates), and
    daily traffic numbers for those days."""
    shops: dict[str, ShopExport] = {}
    for event in events:
        case = event.WhichOneof("payload")
        if case not in ("order", "traffic"):
            continue
        shop = shops.get(event.shop_id)
        if shop is None:
            shop = shops[event.shop_id] = ShopExport(event.shop_id, event.time_zone)
        when = _local(event)
        if case == "traffic":
            if not first_day <= when.date() <= last_day:
                continue
            traffic = event.traffic
            day = shop.traffic[when.date()]
            day.visitors.add(traffic.visitor_id)
            if traffic.kind == events_pb2.TRAFFIC_KIND_PAGE_VIEW:
                day.page_views += 1
            elif traffic.kind == events_pb2.TRAFFIC_KIND_PRODUCT_VIEW:
                day.product_views += 1
                day.page_views += 1
            elif traffic.kind == events_pb2.TRAFFIC_KIND_ADD_TO_CART:
                day.cart_visitors.add(traffic.visitor_id)
            continue
        order = event.order
        state = shop.orders.get(order.order_id)
        if state is None:
            if (
                order.status != events_pb2.ORDER_STATUS_CREATED
                or not first_day <= when.date() <= last_day
            ):
                continue
            shop.currency = order.currency
            state = shop.orders[order.order_id] = OrderState(order, order.status, when)
            shop.traffic[when.date()].orders += 1
            continue
        state.status = order.status
        state.reason = order.reason or state.reason
        if order.status == events_pb2.ORDER_STATUS_PAID:
            state.paid_at = when
            day = shop.traffic[state.created_at.date()]
            day.buyers.add(order.buyer_id)
            day.sales_minor += order_subtotal_minor(order)
        elif order.status in (events_pb2.ORDER_STATUS_COMPLETED, events_pb2.ORDER_STATUS_RETURNED):
            state.completed_at = when
    return shops
