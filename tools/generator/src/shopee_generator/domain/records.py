"""Compact event records and the functions that turn them into `shopee.events.v1.Event`.

The simulation makes records `(epoch_ms, fill, args)`: cheap to create, sort and drop. Only the
records that are finally emitted become protobuf messages (`fill(event, *args)` sets the payload).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shopee.events.v1 import events_pb2
from shopee_generator.domain.shop import Product

Record = tuple[int, Callable[..., None], tuple[Any, ...]]
# (product_id, sku, product_name, quantity, unit_price_minor, discount_minor)
OrderLine = tuple[str, str, str, int, int, int]


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """What every state-change event of one order repeats."""

    order_id: str
    lines: tuple[OrderLine, ...]
    buyer_id: str
    channel: int
    currency: str
    shipping_fee_minor: int
    campaign_id: str = ""
    campaign_kind: int = 0  # events_pb2.CampaignKind of campaign_id
    voucher_code: str = ""
    voucher_discount_minor: int = 0
    voucher_funded_by: int = 0


def fill_traffic(
    event: events_pb2.Event,
    kind: int,
    session_id: str,
    visitor_id: str,
    source: int,
    product_id: str,
    page: str,
    quantity: int,
    channel: int,
) -> None:
    traffic = event.traffic
    traffic.kind = kind  # type: ignore[assignment]
    traffic.session_id = session_id
    traffic.visitor_id = visitor_id
    traffic.source = source  # type: ignore[assignment]
    if product_id:
        traffic.product_id = product_id
    if page:
        traffic.page = page
    if quantity:
        traffic.quantity = quantity
    traffic.channel = channel  # type: ignore[assignment]


def fill_order(event: events_pb2.Event, info: OrderInfo, status: int, reason: str) -> None:
    order = event.order
    order.order_id = info.order_id
    order.status = status  # type: ignore[assignment]
    for product_id, sku, name, quantity, unit_price, discount in info.lines:
        item = order.items.add()
        item.product_id = product_id
        item.sku = sku
        item.product_name = name
        item.quantity = quantity
        item.unit_price_minor = unit_price
        if discount:
            item.discount_minor = discount
    if info.voucher_code:
        voucher = order.voucher
        voucher.code = info.voucher_code
        voucher.discount_minor = info.voucher_discount_minor
        voucher.funded_by = info.voucher_funded_by  # type: ignore[assignment]
    if info.campaign_id:
        order.campaign_id = info.campaign_id
        order.campaign_kind = info.campaign_kind  # type: ignore[assignment]
    order.buyer_id = info.buyer_id
    order.channel = info.channel  # type: ignore[assignment]
    order.currency = info.currency
    if info.shipping_fee_minor:
        order.shipping_fee_minor = info.shipping_fee_minor
    if reason:
        order.reason = reason


def fill_campaign(
    event: events_pb2.Event,
    campaign_id: str,
    kind: int,
    action: int,
    name: str,
    starts_ms: int,
    ends_ms: int,
    spend_minor: int,
    ads_channel: int,
    product_ids: tuple[str, ...],
    discount_percent: float,
    currency: str,
) -> None:
    campaign = event.campaign
    campaign.campaign_id = campaign_id
    campaign.kind = kind  # type: ignore[assignment]
    campaign.action = action  # type: ignore[assignment]
    if name:
        campaign.name = name
    if starts_ms:
        campaign.starts_at.FromMilliseconds(starts_ms)
    if ends_ms:
        campaign.ends_at.FromMilliseconds(ends_ms)
    if spend_minor:
        campaign.spend_minor = spend_minor
    if ads_channel:
        campaign.ads_channel = ads_channel  # type: ignore[assignment]
    if product_ids:
        campaign.product_ids.extend(product_ids)
    if discount_percent:
        campaign.discount_percent = discount_percent
    campaign.currency = currency


def fill_chat(
    event: events_pb2.Event,
    kind: int,
    conversation_id: str,
    message_id: str,
    sender: int,
    buyer_id: str,
    text: str,
    first_response_seconds: int,
    csat_score: int,
) -> None:
    chat = event.chat
    chat.kind = kind  # type: ignore[assignment]
    chat.conversation_id = conversation_id
    if message_id:
        chat.message_id = message_id
    if sender:
        chat.sender = sender  # type: ignore[assignment]
    chat.buyer_id = buyer_id
    if text:
        chat.text = text
    if first_response_seconds:
        chat.first_response_seconds = first_response_seconds
    if csat_score:
        chat.csat_score = csat_score


def fill_review(
    event: events_pb2.Event,
    review_id: str,
    order_id: str,
    product_id: str,
    buyer_id: str,
    rating: int,
    text: str,
    language: str,
) -> None:
    review = event.review
    review.review_id = review_id
    review.order_id = order_id
    review.product_id = product_id
    review.buyer_id = buyer_id
    review.rating = rating
    review.text = text
    review.language = language


def fill_catalog(
    event: events_pb2.Event, product: Product, price_minor: int, stock: int, currency: str
) -> None:
    catalog = event.catalog
    catalog.product_id = product.product_id
    catalog.name = product.name
    catalog.category = product.category
    catalog.price_minor = price_minor
    catalog.cost_minor = product.cost_minor
    catalog.stock = stock
    catalog.status = events_pb2.PRODUCT_STATUS_ACTIVE
    catalog.currency = currency
    catalog.sku = product.sku


def build_event(record: Record, event_id: str, shop_id: str, time_zone: str) -> events_pb2.Event:
    """The protobuf Event for one record."""
    event = events_pb2.Event()
    event.event_id = event_id
    event.shop_id = shop_id
    occurred_ms = record[0]
    event.occurred_at.seconds = occurred_ms // 1000
    event.occurred_at.nanos = (occurred_ms % 1000) * 1_000_000
    event.time_zone = time_zone
    record[1](event, *record[2])
    return event
