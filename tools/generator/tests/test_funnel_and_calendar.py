from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date
from zoneinfo import ZoneInfo

from shopee.events.v1 import events_pb2
from shopee_generator import GeneratorConfig


def _local_day(event: events_pb2.Event) -> date:
    return event.occurred_at.ToDatetime(tzinfo=UTC).astimezone(ZoneInfo(event.time_zone)).date()


def test_funnel_narrows_from_views_to_paid_orders(november_events: list[events_pb2.Event]) -> None:
    steps: dict[str, Counter[int]] = defaultdict(Counter)
    paid: Counter[str] = Counter()
    for event in november_events:
        if event.HasField("traffic"):
            steps[event.shop_id][event.traffic.kind] += 1
        elif event.order.status == events_pb2.ORDER_STATUS_PAID:
            paid[event.shop_id] += 1
    for shop_id, kinds in steps.items():
        views = kinds[events_pb2.TRAFFIC_KIND_PRODUCT_VIEW]
        carts = kinds[events_pb2.TRAFFIC_KIND_ADD_TO_CART]
        checkouts = kinds[events_pb2.TRAFFIC_KIND_CHECKOUT_START]
        assert 0 < paid[shop_id] <= checkouts <= carts <= views
        # Shopee-like rates: a few percent of product views end in a cart, most checkouts pay.
        assert 0.02 < carts / views < 0.2
        assert 0.6 < paid[shop_id] / checkouts < 1.0


def test_orders_follow_their_lifecycle(november_events: list[events_pb2.Event]) -> None:
    seen: dict[str, list[int]] = defaultdict(list)
    for event in november_events:
        if event.HasField("order"):
            seen[event.order.order_id].append(event.order.status)
    allowed_next: dict[int, set[int]] = {
        events_pb2.ORDER_STATUS_CREATED: {
            events_pb2.ORDER_STATUS_PAID,
            events_pb2.ORDER_STATUS_CANCELLED,
        },
        events_pb2.ORDER_STATUS_PAID: {
            events_pb2.ORDER_STATUS_SHIPPED,
            events_pb2.ORDER_STATUS_CANCELLED,
        },
        events_pb2.ORDER_STATUS_SHIPPED: {
            events_pb2.ORDER_STATUS_COMPLETED,
            events_pb2.ORDER_STATUS_RETURNED,
        },
    }
    for statuses in seen.values():
        assert statuses[0] == events_pb2.ORDER_STATUS_CREATED
        for before, after in itertools.pairwise(statuses):
            assert after in allowed_next[before]


def test_mega_sale_day_has_much_higher_gmv(
    november_events: list[events_pb2.Event], november_config: GeneratorConfig
) -> None:
    gmv: dict[tuple[str, date], int] = defaultdict(int)
    for event in november_events:
        if event.order.status == events_pb2.ORDER_STATUS_PAID:
            gmv[event.shop_id, _local_day(event)] += sum(
                i.unit_price_minor * i.quantity - i.discount_minor for i in event.order.items
            )
    for shop_id in {shop for shop, _ in gmv}:
        ordinary = [
            v
            for (s, d), v in gmv.items()
            if s == shop_id and d.day != d.month and d.day not in (12, 25)
        ]
        assert gmv[shop_id, date(2025, 11, 11)] > 3 * statistics.median(ordinary)


def test_traffic_follows_the_local_clock(november_events: list[events_pb2.Event]) -> None:
    by_hour: Counter[int] = Counter()
    for event in november_events:
        if event.traffic.kind == events_pb2.TRAFFIC_KIND_PRODUCT_VIEW:
            by_hour[
                event.occurred_at.ToDatetime(tzinfo=UTC).astimezone(ZoneInfo(event.time_zone)).hour
            ] += 1
    assert by_hour[21] > 4 * by_hour[4]


def test_buyers_come_back(november_events: list[events_pb2.Event]) -> None:
    orders_per_buyer = Counter(
        e.order.buyer_id
        for e in november_events
        if e.order.status == events_pb2.ORDER_STATUS_CREATED
    )
    assert sum(1 for count in orders_per_buyer.values() if count > 1) > 10


def test_reviews_and_chats_carry_language_and_scores(
    november_events: list[events_pb2.Event],
) -> None:
    reviews = [e.review for e in november_events if e.HasField("review")]
    assert {r.language for r in reviews} >= {"en", "id"}
    low = [r for r in reviews if r.rating <= 2]
    high = [r for r in reviews if r.rating == 5]
    assert low
    assert high
    assert statistics.mean(r.rating for r in reviews) > 3.8
    first_replies = [
        e.chat.first_response_seconds for e in november_events if e.chat.first_response_seconds
    ]
    csat = [e.chat.csat_score for e in november_events if e.chat.kind == events_pb2.CHAT_KIND_CSAT]
    assert first_replies
    assert csat
    assert all(1 <= score <= 5 for score in csat)


def test_orders_of_ad_clicks_are_the_ads_campaigns(november_events: list[events_pb2.Event]) -> None:
    """Shopee Ads attributes an order to the click that brought its buyer, unless a campaign of
    the shop took it: the stream job's ads GMV and ROAS read these."""
    paid = [e for e in november_events if e.order.status == events_pb2.ORDER_STATUS_PAID]
    ads = [e.order for e in paid if e.order.campaign_kind == events_pb2.CAMPAIGN_KIND_ADS]
    assert 0.03 < len(ads) / len(paid) < 0.5
    spending = {
        e.campaign.campaign_id
        for e in november_events
        if e.campaign.action == events_pb2.CAMPAIGN_ACTION_SPEND
        and e.campaign.kind == events_pb2.CAMPAIGN_KIND_ADS
    }
    assert {order.campaign_id for order in ads} <= spending
