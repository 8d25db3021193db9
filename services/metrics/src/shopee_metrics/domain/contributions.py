"""What one event adds to which KPI (see shopee_common.kpis for the formulas).

An event yields additive parts (numerator and denominator increments of a KPI row, the same in
the minute, hour and day buckets) and distinct members (a visitor, a conversation), which count
only if new in their bucket; a new member also adds to the denominators of the ratios built on
it (conversion rate on unique visitors).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from shopee.events.v1 import events_pb2
from shopee_common.events import Event
from shopee_common.kpis import KPI_BY_NAME, Rollup

SHOP = ""  # product_id of shop-level rows

# A new distinct member of KPI k also adds 1 to the denominator of these ratios.
DISTINCT_DENOMINATORS: dict[str, tuple[str, ...]] = {
    "unique_visitors": ("conversion_rate",),
    "chat_conversations": ("chat_response_rate",),
}
# The one source (payload kind) whose events bring the members of each distinct-count KPI: a
# member row may be pruned once that source's watermark for the shop is a grace past its bucket.
DISTINCT_SOURCES: dict[str, str] = {
    "unique_visitors": "traffic",
    "chat_conversations": "chat",
}
# KPIs whose rows carry a denominator (ratios); the others store NULL.
RATIO_KPIS = frozenset(k.name for k in KPI_BY_NAME.values() if k.rollup is Rollup.RATIO)


class Part(NamedTuple):
    """An increment of one KPI row: numerator and denominator deltas."""

    product_id: str
    kpi: str
    numerator: int
    denominator: int = 0


class Member(NamedTuple):
    """A distinct member (visitor, conversation) of a DISTINCT KPI."""

    product_id: str
    kpi: str
    member: str


class EventParts(NamedTuple):
    parts: Sequence[Part] = ()
    members: Sequence[Member] = ()
    # True for pre-aggregated daily summaries: they add to day buckets only.
    day_only: bool = False
    # The parts count in the buckets of this many seconds before the event: a seller's first
    # reply counts where its conversation started, so a bucket's response rate is over the
    # conversations it counts (a night's questions answered next morning made the morning's
    # rate 500% and the night's 0%).
    earlier_seconds: int = 0


NOTHING = EventParts()


def event_parts(event: Event) -> EventParts:
    """The KPI increments of one valid event."""
    handler = _HANDLERS.get(event.WhichOneof("payload") or "")
    return NOTHING if handler is None else handler(event)


# The shop-level parts that do not depend on the event's values are made once: most events are
# traffic, and building these per event was a large share of the job's time.
_CREATED = (Part(SHOP, "created_orders", 1), Part(SHOP, "cancellation_rate", 0, 1))
_CANCELLED = (Part(SHOP, "cancellation_rate", 1, 0),)
_COMPLETED = (Part(SHOP, "return_rate", 0, 1),)
_RETURNED = (Part(SHOP, "return_rate", 1, 0),)


def _order(event: Event) -> EventParts:
    status = event.order.status
    if status == events_pb2.ORDER_STATUS_PAID:
        return EventParts(_paid_order(event.order))
    if status == events_pb2.ORDER_STATUS_CREATED:
        return EventParts(_CREATED)
    if status == events_pb2.ORDER_STATUS_CANCELLED:
        return EventParts(_CANCELLED)
    if status == events_pb2.ORDER_STATUS_COMPLETED:
        return EventParts(_COMPLETED)
    if status == events_pb2.ORDER_STATUS_RETURNED:
        return EventParts(_RETURNED)
    return NOTHING


def _paid_order(order: events_pb2.OrderEvent) -> list[Part]:
    parts: list[Part] = []
    add = parts.append
    gmv = 0
    units = 0
    item_discounts = 0
    products: dict[str, list[int]] = {}
    for item in order.items:
        line = item.unit_price_minor * item.quantity - item.discount_minor
        gmv += line
        units += item.quantity
        item_discounts += item.discount_minor
        totals = products.setdefault(item.product_id, [0, 0])
        totals[0] += line
        totals[1] += item.quantity
    for product_id, (line_gmv, quantity) in products.items():
        add(Part(product_id, "gmv", line_gmv))
        add(Part(product_id, "units", quantity))
        add(Part(product_id, "paid_orders", 1))
    add(Part(SHOP, "gmv", gmv))
    add(Part(SHOP, "units", units))
    add(Part(SHOP, "paid_orders", 1))
    add(Part(SHOP, "aov", gmv, 1))
    add(Part(SHOP, "conversion_rate", 1, 0))
    add(Part(SHOP, "cart_abandonment_rate", -1, 0))
    voucher = order.voucher if order.HasField("voucher") else None
    used_voucher = voucher is not None and (voucher.discount_minor > 0 or bool(voucher.code))
    add(Part(SHOP, "voucher_usage_rate", int(used_voucher), 1))
    seller_voucher = 0
    if used_voucher and voucher is not None:
        add(Part(SHOP, "voucher_orders", 1))
        if voucher.funded_by != events_pb2.VOUCHER_FUNDING_SHOPEE:
            seller_voucher = voucher.discount_minor
    add(Part(SHOP, "discount_cost", item_discounts + seller_voucher))
    kind = order.campaign_kind
    if order.campaign_id or kind:
        add(Part(SHOP, "campaign_gmv", gmv))
    if kind == events_pb2.CAMPAIGN_KIND_FLASH_SALE:
        add(Part(SHOP, "flash_sale_gmv", gmv))
    if (
        kind == events_pb2.CAMPAIGN_KIND_LIVE_STREAM
        or order.channel == events_pb2.CHANNEL_LIVE_STREAM
    ):
        add(Part(SHOP, "live_stream_gmv", gmv))
    if kind == events_pb2.CAMPAIGN_KIND_ADS:
        add(Part(SHOP, "ads_gmv", gmv))
        add(Part(SHOP, "roas", gmv, 0))
    return parts


_PAGE_VIEW = (Part(SHOP, "page_views", 1),)
# A product page is a page: page views count it too, as Seller Centre's do (and as the daily
# summaries it exports, which count at least one page view per visitor).
_PRODUCT_VIEW = (*_PAGE_VIEW, Part(SHOP, "product_views", 1), Part(SHOP, "add_to_cart_rate", 0, 1))
_ADD_TO_CART = (Part(SHOP, "add_to_carts", 1), Part(SHOP, "add_to_cart_rate", 1, 0))
_CHECKOUT_START = (Part(SHOP, "checkout_starts", 1), Part(SHOP, "cart_abandonment_rate", 1, 1))


def _traffic(event: Event) -> EventParts:
    traffic = event.traffic
    product = traffic.product_id
    kind = traffic.kind
    parts: Sequence[Part] = ()
    if kind == events_pb2.TRAFFIC_KIND_PAGE_VIEW:
        parts = _PAGE_VIEW
    elif kind == events_pb2.TRAFFIC_KIND_PRODUCT_VIEW:
        parts = (
            (
                *_PRODUCT_VIEW,
                Part(product, "product_views", 1),
                Part(product, "add_to_cart_rate", 0, 1),
            )
            if product
            else _PRODUCT_VIEW
        )
    elif kind == events_pb2.TRAFFIC_KIND_ADD_TO_CART:
        parts = (
            (
                *_ADD_TO_CART,
                Part(product, "add_to_carts", 1),
                Part(product, "add_to_cart_rate", 1, 0),
            )
            if product
            else _ADD_TO_CART
        )
    elif kind == events_pb2.TRAFFIC_KIND_CHECKOUT_START:
        parts = _CHECKOUT_START
    visitor = traffic.visitor_id
    members = (
        (Member(SHOP, "unique_visitors", visitor), Member(product, "unique_visitors", visitor))
        if product
        else (Member(SHOP, "unique_visitors", visitor),)
    )
    return EventParts(parts, members)


def _traffic_summary(event: Event) -> EventParts:
    summary = event.traffic_summary
    if summary.period != events_pb2.SUMMARY_PERIOD_DAY:
        return NOTHING
    parts = (
        Part(SHOP, "unique_visitors", summary.visitors),
        Part(SHOP, "conversion_rate", 0, summary.visitors),
        Part(SHOP, "page_views", summary.page_views),
        Part(SHOP, "product_views", summary.product_views),
    )
    return EventParts(parts, day_only=True)


def _campaign(event: Event) -> EventParts:
    campaign = event.campaign
    if (
        campaign.action == events_pb2.CAMPAIGN_ACTION_SPEND
        and campaign.kind == events_pb2.CAMPAIGN_KIND_ADS
    ):
        return EventParts(
            (
                Part(SHOP, "ads_spend", campaign.spend_minor),
                Part(SHOP, "roas", 0, campaign.spend_minor),
            )
        )
    return NOTHING


def _chat(event: Event) -> EventParts:
    chat = event.chat
    if chat.kind == events_pb2.CHAT_KIND_CSAT:
        return EventParts((Part(SHOP, "csat", chat.csat_score, 1),))
    if chat.sender == events_pb2.CHAT_SENDER_BUYER:
        return EventParts(members=(Member(SHOP, "chat_conversations", chat.conversation_id),))
    if chat.sender == events_pb2.CHAT_SENDER_SELLER and chat.first_response_seconds > 0:
        return EventParts(
            (
                Part(SHOP, "chat_response_rate", 1, 0),
                Part(SHOP, "avg_first_response_seconds", chat.first_response_seconds, 1),
            ),
            earlier_seconds=chat.first_response_seconds,
        )
    return NOTHING


def _review(event: Event) -> EventParts:
    review = event.review
    return EventParts(
        tuple(
            part
            for product in (SHOP, review.product_id)
            for part in (
                Part(product, "avg_review_rating", review.rating, 1),
                Part(product, "reviews", 1),
            )
        )
    )


_HANDLERS: dict[str, Callable[[Event], EventParts]] = {
    "order": _order,
    "traffic": _traffic,
    "traffic_summary": _traffic_summary,
    "campaign": _campaign,
    "chat": _chat,
    "review": _review,
}
