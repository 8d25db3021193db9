"""What events add, and how a batch splits into counted, late and duplicate."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from shopee.events.v1 import events_pb2
from shopee_metrics.domain.batch import (
    Candidate,
    Position,
    candidate,
    increments,
    plan,
    unique_in_batch,
)
from shopee_metrics.domain.buckets import GRANULARITIES, Granularity
from shopee_metrics.domain.contributions import event_parts

START = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


def paid(event_id: str, seconds: int = 0) -> events_pb2.Event:
    event = events_pb2.Event(event_id=event_id, shop_id="s", time_zone="Asia/Jakarta")
    event.occurred_at.FromDatetime(START + timedelta(seconds=seconds))
    order = event.order
    order.order_id, order.status, order.currency = (
        f"o-{event_id}",
        events_pb2.ORDER_STATUS_PAID,
        "IDR",
    )
    order.items.add(product_id="a", quantity=2, unit_price_minor=1000, discount_minor=300)
    order.items.add(product_id="b", quantity=1, unit_price_minor=500)
    order.items.add(product_id="a", quantity=1, unit_price_minor=1000)
    order.voucher.discount_minor, order.voucher.funded_by = 100, events_pb2.VOUCHER_FUNDING_SELLER
    order.campaign_kind = events_pb2.CAMPAIGN_KIND_FLASH_SALE
    return event


def view(event_id: str, seconds: int, visitor: str = "v") -> events_pb2.Event:
    event = events_pb2.Event(event_id=event_id, shop_id="s", time_zone="Asia/Jakarta")
    event.occurred_at.FromDatetime(START + timedelta(seconds=seconds))
    event.traffic.kind = events_pb2.TRAFFIC_KIND_PRODUCT_VIEW
    event.traffic.visitor_id, event.traffic.session_id, event.traffic.product_id = visitor, "x", "a"
    return event


def at(event: events_pb2.Event, offset: int = 0) -> Candidate:
    return candidate(event, Position("events.orders", 0, offset))


def test_paid_order_parts() -> None:
    parts = {
        (p.product_id, p.kpi): (p.numerator, p.denominator) for p in event_parts(paid("1")).parts
    }
    assert parts[("", "gmv")] == (3200, 0)
    assert parts[("a", "gmv")] == (2700, 0)
    assert parts[("a", "units")] == (3, 0)
    assert parts[("a", "paid_orders")] == (1, 0)
    assert parts[("", "aov")] == (3200, 1)
    assert parts[("", "discount_cost")] == (400, 0)
    assert parts[("", "voucher_usage_rate")] == (1, 1)
    assert parts[("", "flash_sale_gmv")] == (3200, 0)
    assert ("", "ads_gmv") not in parts


def test_a_product_page_is_a_page_view_too() -> None:
    """Page views count every page, product pages included, as Seller Centre counts them (its
    daily summaries never have fewer page views than visitors)."""
    product_page = {(p.product_id, p.kpi): p.numerator for p in event_parts(view("1", 0)).parts}
    assert product_page[("", "page_views")] == 1
    assert product_page[("", "product_views")] == 1
    assert product_page[("a", "product_views")] == 1
    home = view("2", 0)
    home.traffic.kind, home.traffic.product_id = events_pb2.TRAFFIC_KIND_PAGE_VIEW, ""
    assert [(p.product_id, p.kpi, p.numerator) for p in event_parts(home).parts] == [
        ("", "page_views", 1)
    ]


def test_repeated_id_in_one_batch_counts_once() -> None:
    batch = [at(paid("1")), at(paid("1"), 1), at(paid("2"), 2)]
    assert [c.event.event_id for c in unique_in_batch(batch)] == ["1", "2"]


def test_late_is_judged_per_shop_and_source() -> None:
    old_view = at(view("v-old", 0))
    new_order = at(paid("o-new", 3600))
    older_order = at(paid("o-old", 0))
    result = plan([new_order, old_view, older_order], {}, timedelta(minutes=10))
    assert [c.event.event_id for c in result.counted] == ["o-new", "v-old"]
    assert [late.candidate.event.event_id for late in result.late] == ["o-old"]
    assert result.late[0].lateness_seconds == 3600


def test_an_event_stamped_ahead_of_the_clock_does_not_make_the_next_ones_late() -> None:
    # The job's clock reads START + 1 h; one order comes stamped 20 minutes ahead of it.
    now = START + timedelta(hours=1)
    ahead = at(paid("o-ahead", 3600 + 20 * 60))
    on_time = at(paid("o-on-time", 3600 - 30))
    result = plan([ahead, on_time], {}, timedelta(minutes=10), now=now)
    assert [c.event.event_id for c in result.counted] == ["o-ahead", "o-on-time"]
    assert result.late == []
    assert result.watermarks == {("s", "order"): now}
    # Without the clock, the watermark is the newest event, and the order on time is late.
    unclamped = plan([ahead, on_time], {}, timedelta(minutes=10))
    assert [late.candidate.event.event_id for late in unclamped.late] == ["o-on-time"]


def test_a_watermark_already_ahead_of_the_clock_does_not_move_back() -> None:
    now = START + timedelta(hours=1)
    stored = now + timedelta(minutes=5)
    result = plan([at(paid("o", 3600 + 10 * 60))], {("s", "order"): stored}, timedelta(0), now=now)
    assert result.watermarks == {("s", "order"): stored}


def test_increments_equal_adding_every_part_to_every_bucket() -> None:
    events = [at(paid(str(i), i * 37)) for i in range(200)] + [
        at(view(f"v{i}", i * 11)) for i in range(300)
    ]
    batch = plan(events, {}, timedelta(hours=1))
    naive: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0])
    for item in batch.counted:
        for level in GRANULARITIES:
            start = {
                Granularity.MINUTE: item.buckets.minute,
                Granularity.HOUR: item.buckets.hour,
                Granularity.DAY: item.buckets.day,
            }[level]
            for part in item.parts.parts:
                if part.product_id and level is Granularity.MINUTE:
                    continue
                naive[(level, "s", part.product_id, part.kpi, start)][0] += part.numerator
                naive[(level, "s", part.product_id, part.kpi, start)][1] += part.denominator
    assert increments(batch, {}) == dict(naive)


def test_new_distinct_member_adds_to_the_conversion_denominator() -> None:
    batch = plan([at(view("a", 0, visitor="v1"))], {}, timedelta(minutes=10))
    members = Counter(m[:5] for m in batch.members if m[2] == "")
    totals = increments(batch, members)
    day = batch.counted[0].buckets.day
    assert totals[(Granularity.DAY, "s", "", "unique_visitors", day)] == [1, 0]
    assert totals[(Granularity.DAY, "s", "", "conversion_rate", day)] == [0, 1]


def test_local_labels_belong_to_each_shops_zone() -> None:
    # The same UTC hour (02:00) is 09:00 in Jakarta and 10:00 in Manila.
    jakarta = view("j", 0)
    manila = view("m", 0)
    manila.shop_id, manila.time_zone = "ph", "Asia/Manila"
    batch = plan([at(jakarta), at(manila)], {}, timedelta(minutes=10))
    assert {
        shop: label
        for (level, shop, bucket), label in batch.local_label.items()
        if level is Granularity.HOUR and bucket == START
    } == {"s": datetime(2026, 11, 11, 9), "ph": datetime(2026, 11, 11, 10)}


def chat(event_id: str, when: datetime, sender: int, first_response_seconds: int = 0) -> Candidate:
    event = events_pb2.Event(event_id=event_id, shop_id="s", time_zone="Asia/Jakarta")
    event.occurred_at.FromDatetime(when)
    event.chat.kind, event.chat.conversation_id = events_pb2.CHAT_KIND_MESSAGE, "conv-1"
    event.chat.sender, event.chat.first_response_seconds = sender, first_response_seconds
    return at(event)


def test_a_first_reply_counts_where_its_conversation_started() -> None:
    """A question at 23:30 in Jakarta, answered at 09:10 the next morning: the reply and its
    wait count on the question's day, hour and minute, beside the conversation they answer, so
    no bucket's response rate exceeds 100%. The event's own time still drives lateness."""
    asked = datetime(2026, 11, 11, 16, 30, tzinfo=UTC)  # 23:30 in Jakarta
    answered = asked + timedelta(hours=9, minutes=40)
    wait = int((answered - asked).total_seconds())
    question = chat("q", asked, events_pb2.CHAT_SENDER_BUYER)
    reply = chat("r", answered, events_pb2.CHAT_SENDER_SELLER, wait)
    batch = plan([question, reply], {}, timedelta(minutes=10))
    assert reply in batch.counted
    assert reply.buckets == question.buckets
    assert batch.watermarks[("s", "chat")] == answered
    members = Counter(m[:5] for m in batch.members if m[2] == "")
    totals = increments(batch, members)
    day = question.buckets.day
    assert totals[(Granularity.DAY, "s", "", "chat_response_rate", day)] == [1, 1]
    assert totals[(Granularity.DAY, "s", "", "avg_first_response_seconds", day)] == [wait, 1]
