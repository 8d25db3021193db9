"""What one event adds to which KPI (see shopee_common.kpis for the formulas).

An event yields additive parts (numerator and denominator increments of a KPI row, the same in
the minute, hour and day buckets) and distinct members (a visitor, a conversation), which count
only if new in their bucket; a new member also adds to the denominators of the ratios built on
it (conversion rate on unique visitors).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shopee.events.v1 import events_pb2
from shopee_common.events import Event
from shopee_common.kpis import KPI_BY_NAME, Rollup

SHOP = ""  # product_id of shop-level rows

# A new distinct member of KPI k also adds 1 to the denominator of these ratios.
DISTINCT_DENOMINATORS: dict[str, tuple[str, ...]] = {
    "unique_visitors": ("conversion_rate",),
    "chat_conversations": ("chat_response_rate",),
}
# KPIs whose rows carry a denominator (ratios); the others store NULL.
RATIO_KPIS = frozenset(k.name for k in KPI_BY_NAME.values() if k.rollup is Rollup.RATIO)


@dataclass(slots=True)
class Part:
    """An increment of one KPI row: numerator and denominator deltas."""

    product_id: str
    kpi: str
    numerator: int
    denominator: int = 0


@dataclass(slots=True)
class Member:
    """A distinct member (visitor, conversation) of a DISTINCT KPI."""

    product_id: str
    kpi: str
    member: str


@dataclass(slots=True)
class EventParts:
    parts: list[Part] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    # True for pre-aggregated daily summaries: they add to day buckets only.
    day_only: bool = False


def event_parts(event: Event) -> EventParts:
    """The KPI increments of one valid event."""
    case = event.WhichOneof("payload")
    handler = _HANDLERS.get(case or "")
    result = EventParts()
    if handler is not None:
        handler(event, result)
    return result


def _order(event: Event, out: EventParts) -> None:
    order = event.order
    add = out.parts.append
    status = order.status
    if status == events_pb2.ORDER_STATUS_CREATED:
        add(Part(SHOP, "created_orders", 1))
        add(Part(SHOP, "cancellation_rate", 0, 1))
    elif status == events_pb2.ORDER_STATUS_PAID:
        _paid_order(order, out)
    elif status == events_pb2.ORDER_STATUS_CANCELLED:
        add(Part(SHOP, "cancellation_rate", 1, 0))
    elif status == events_pb2.ORDER_STATUS_COMPLETED:
        add(Part(SHOP, "return_rate", 0, 1))
    elif status == events_pb2.ORDER_STATUS_RETURNED:
        add(Part(SHOP, "return_rate", 1, 0))


def _paid_order(order: events_pb2.OrderEvent, out: EventParts) -> None:
    add = out.parts.append
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


def _traffic(event: Event, out: EventParts) -> None:
    traffic = event.traffic
    add = out.parts.append
    product = traffic.product_id
    kind = traffic.kind
    if kind == events_pb2.TRAFFIC_KIND_PAGE_VIEW:
        add(Part(SHOP, "page_views", 1))
    elif kind == events_pb2.TRAFFIC_KIND_PRODUCT_VIEW:
        add(Part(SHOP, "product_views", 1))
        add(Part(SHOP, "add_to_cart_rate", 0, 1))
        if product:
            add(Part(product, "product_views", 1))
            add(Part(product, "add_to_cart_rate", 0, 1))
    elif kind == events_pb2.TRAFFIC_KIND_ADD_TO_CART:
        add(Part(SHOP, "add_to_carts", 1))
        add(Part(SHOP, "add_to_cart_rate", 1, 0))
        if product:
            add(Part(product, "add_to_carts", 1))
            add(Part(product, "add_to_cart_rate", 1, 0))
    elif kind == events_pb2.TRAFFIC_KIND_CHECKOUT_START:
        add(Part(SHOP, "checkout_starts", 1))
        add(Part(SHOP, "cart_abandonment_rate", 1, 1))
    out.members.append(Member(SHOP, "unique_visitors", traffic.visitor_id))
    if product:
        out.members.append(Member(product, "unique_visitors", traffic.visitor_id))


def _traffic_summary(event: Event, out: EventParts) -> None:
    summary = event.traffic_summary
    if summary.period != events_pb2.SUMMARY_PERIOD_DAY:
        return
    out.day_only = True
    add = out.parts.append
    add(Part(SHOP, "unique_visitors", summary.visitors))
    add(Part(SHOP, "conversion_rate", 0, summary.visitors))
    add(Part(SHOP, "page_views", summary.page_views))
    add(Part(SHOP, "product_views", summary.product_views))


def _campaign(event: Event, out: EventParts) -> None:
    campaign = event.campaign
    if (
        campaign.action == events_pb2.CAMPAIGN_ACTION_SPEND
        and campaign.kind == events_pb2.CAMPAIGN_KIND_ADS
    ):
        out.parts.append(Part(SHOP, "ads_spend", campaign.spend_minor))
        out.parts.append(Part(SHOP, "roas", 0, campaign.spend_minor))


def _chat(event: Event, out: EventParts) -> None:
    chat = event.chat
    if chat.kind == events_pb2.CHAT_KIND_CSAT:
        out.parts.append(Part(SHOP, "csat", chat.csat_score, 1))
        return
    if chat.sender == events_pb2.CHAT_SENDER_BUYER:
        out.members.append(Member(SHOP, "chat_conversations", chat.conversation_id))
    elif chat.sender == events_pb2.CHAT_SENDER_SELLER and chat.first_response_seconds > 0:
        out.parts.append(Part(SHOP, "chat_response_rate", 1, 0))
        out.parts.append(Part(SHOP, "avg_first_response_seconds", chat.first_response_seconds, 1))


def _review(event: Event, out: EventParts) -> None:
    review = event.review
    for product in (SHOP, review.product_id):
        out.parts.append(Part(product, "avg_review_rating", review.rating, 1))
        out.parts.append(Part(product, "reviews", 1))


_HANDLERS = {
    "order": _order,
    "traffic": _traffic,
    "traffic_summary": _traffic_summary,
    "campaign": _campaign,
    "chat": _chat,
    "review": _review,
}
