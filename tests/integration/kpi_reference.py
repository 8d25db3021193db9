"""An offline recomputation of the KPIs with pandas, written apart from the stream job's code.

Given the events in the order the job receives them (per shop and source), it decides what
counts (first delivery of an id; not older than the grace behind its shop and source's newest
event) and computes every KPI row: {(granularity, shop, product, kpi, bucket): (num, den)}.
Shop rows exist per minute, hour and day; product rows per hour and day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd

from shopee.events.v1 import events_pb2

RowKey = tuple[str, str, str, str, datetime]
DISTINCT_RATIO = {"unique_visitors": "conversion_rate", "chat_conversations": "chat_response_rate"}
Rows = dict[RowKey, tuple[Decimal, Decimal | None]]

RATIOS = {
    "aov",
    "add_to_cart_rate",
    "conversion_rate",
    "cart_abandonment_rate",
    "cancellation_rate",
    "return_rate",
    "voucher_usage_rate",
    "roas",
    "chat_response_rate",
    "avg_first_response_seconds",
    "csat",
    "avg_review_rating",
}


def _utc(event: events_pb2.Event) -> datetime:
    return datetime.fromtimestamp(event.occurred_at.seconds + event.occurred_at.nanos / 1e9, UTC)


def counted_events(
    delivered: Iterable[events_pb2.Event], grace: timedelta
) -> tuple[list[events_pb2.Event], set[str]]:
    """(events that count, ids recorded as late), from events in delivery order."""
    seen: set[tuple[str, str]] = set()
    newest: dict[tuple[str, str], datetime] = {}
    counted, late = [], set()
    for event in delivered:
        key = (event.shop_id, event.event_id)
        if key in seen:
            continue
        seen.add(key)
        source = (event.shop_id, event.WhichOneof("payload") or "")
        when = _utc(event)
        mark = newest.get(source)
        if mark is not None and when < mark - grace:
            late.add(event.event_id)
            continue
        newest[source] = max(mark, when) if mark else when
        counted.append(event)
    return counted, late


def _contribution_rows(events: list[events_pb2.Event]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long tables: additive parts (shop, product, kpi, ts, tz, num, den, day_only) and distinct
    members (shop, product, kpi, ts, tz, member)."""
    parts: list[tuple[str, str, str, datetime, str, int, int, bool]] = []
    members: list[tuple[str, str, str, datetime, str, str]] = []
    for e in events:
        shop, ts, tz = e.shop_id, _utc(e), e.time_zone

        def part(
            kpi: str,
            num: int,
            den: int = 0,
            product: str = "",
            day_only: bool = False,
            earlier: int = 0,
        ) -> None:
            at = ts - timedelta(seconds=earlier)  # noqa: B023
            parts.append((shop, product, kpi, at, tz, num, den, day_only))  # noqa: B023

        case = e.WhichOneof("payload")
        if case == "order":
            o = e.order
            if o.status == events_pb2.ORDER_STATUS_CREATED:
                part("created_orders", 1)
                part("cancellation_rate", 0, 1)
            elif o.status == events_pb2.ORDER_STATUS_CANCELLED:
                part("cancellation_rate", 1, 0)
            elif o.status == events_pb2.ORDER_STATUS_COMPLETED:
                part("return_rate", 0, 1)
            elif o.status == events_pb2.ORDER_STATUS_RETURNED:
                part("return_rate", 1, 0)
            elif o.status == events_pb2.ORDER_STATUS_PAID:
                per_product: dict[str, list[int]] = {}
                gmv = units = discounts = 0
                for item in o.items:
                    line = item.unit_price_minor * item.quantity - item.discount_minor
                    gmv, units, discounts = (
                        gmv + line,
                        units + item.quantity,
                        discounts + item.discount_minor,
                    )
                    sums = per_product.setdefault(item.product_id, [0, 0])
                    sums[0] += line
                    sums[1] += item.quantity
                for product, (line_gmv, quantity) in per_product.items():
                    part("gmv", line_gmv, product=product)
                    part("units", quantity, product=product)
                    part("paid_orders", 1, product=product)
                part("gmv", gmv)
                part("units", units)
                part("paid_orders", 1)
                part("aov", gmv, 1)
                part("conversion_rate", 1, 0)
                part("cart_abandonment_rate", -1, 0)
                has_voucher = o.HasField("voucher") and (
                    o.voucher.discount_minor > 0 or bool(o.voucher.code)
                )
                part("voucher_usage_rate", int(has_voucher), 1)
                seller_voucher = 0
                if has_voucher:
                    part("voucher_orders", 1)
                    if o.voucher.funded_by != events_pb2.VOUCHER_FUNDING_SHOPEE:
                        seller_voucher = o.voucher.discount_minor
                part("discount_cost", discounts + seller_voucher)
                if o.campaign_id or o.campaign_kind:
                    part("campaign_gmv", gmv)
                if o.campaign_kind == events_pb2.CAMPAIGN_KIND_FLASH_SALE:
                    part("flash_sale_gmv", gmv)
                if (
                    o.campaign_kind == events_pb2.CAMPAIGN_KIND_LIVE_STREAM
                    or o.channel == events_pb2.CHANNEL_LIVE_STREAM
                ):
                    part("live_stream_gmv", gmv)
                if o.campaign_kind == events_pb2.CAMPAIGN_KIND_ADS:
                    part("ads_gmv", gmv)
                    part("roas", gmv, 0)
        elif case == "traffic":
            t = e.traffic
            counters = {
                events_pb2.TRAFFIC_KIND_PAGE_VIEW: [("page_views", 1, 0, False)],
                events_pb2.TRAFFIC_KIND_PRODUCT_VIEW: [
                    ("page_views", 1, 0, False),
                    ("product_views", 1, 0, True),
                    ("add_to_cart_rate", 0, 1, True),
                ],
                events_pb2.TRAFFIC_KIND_ADD_TO_CART: [
                    ("add_to_carts", 1, 0, True),
                    ("add_to_cart_rate", 1, 0, True),
                ],
                events_pb2.TRAFFIC_KIND_CHECKOUT_START: [
                    ("checkout_starts", 1, 0, False),
                    ("cart_abandonment_rate", 1, 1, False),
                ],
            }.get(t.kind, [])
            for kpi, num, den, also_product in counters:
                part(kpi, num, den)
                if also_product and t.product_id:
                    part(kpi, num, den, product=t.product_id)
            members.append((shop, "", "unique_visitors", ts, tz, t.visitor_id))
            if t.product_id:
                members.append((shop, t.product_id, "unique_visitors", ts, tz, t.visitor_id))
        elif (
            case == "traffic_summary" and e.traffic_summary.period == events_pb2.SUMMARY_PERIOD_DAY
        ):
            s = e.traffic_summary
            part("unique_visitors", s.visitors, day_only=True)
            part("conversion_rate", 0, s.visitors, day_only=True)
            part("page_views", s.page_views, day_only=True)
            part("product_views", s.product_views, day_only=True)
        elif case == "campaign":
            c = e.campaign
            if (
                c.action == events_pb2.CAMPAIGN_ACTION_SPEND
                and c.kind == events_pb2.CAMPAIGN_KIND_ADS
            ):
                part("ads_spend", c.spend_minor)
                part("roas", 0, c.spend_minor)
        elif case == "chat":
            chat = e.chat
            if chat.kind == events_pb2.CHAT_KIND_CSAT:
                part("csat", chat.csat_score, 1)
            elif chat.sender == events_pb2.CHAT_SENDER_BUYER:
                members.append((shop, "", "chat_conversations", ts, tz, chat.conversation_id))
            elif chat.sender == events_pb2.CHAT_SENDER_SELLER and chat.first_response_seconds > 0:
                # Counted where the conversation started: the buyer's first message.
                started = chat.first_response_seconds
                part("chat_response_rate", 1, 0, earlier=started)
                part("avg_first_response_seconds", chat.first_response_seconds, 1, earlier=started)
        elif case == "review":
            r = e.review
            for product in ("", r.product_id):
                part("avg_review_rating", r.rating, 1, product=product)
                part("reviews", 1, product=product)
    return (
        pd.DataFrame(
            parts, columns=["shop", "product", "kpi", "ts", "tz", "num", "den", "day_only"]
        ),
        pd.DataFrame(members, columns=["shop", "product", "kpi", "ts", "tz", "member"]),
    )


def _with_buckets(frame: pd.DataFrame, granularity: str) -> pd.Series:
    """Bucket start (UTC) of each row: UTC minutes, local hours and local days."""
    if frame.empty:
        return pd.Series([], dtype="datetime64[ns, UTC]")
    ts = pd.to_datetime(frame.ts, utc=True)
    if granularity == "minute":
        return ts.dt.floor("min")
    unit = "h" if granularity == "hour" else "D"
    out = pd.Series(index=frame.index, dtype="datetime64[ns, UTC]")
    for tz, index in frame.groupby("tz").groups.items():
        local = ts.loc[index].dt.tz_convert(str(tz)).dt.tz_localize(None).dt.floor(unit)
        out.loc[index] = local.dt.tz_localize(str(tz)).dt.tz_convert("UTC")
    return out


def reference_rows(events: list[events_pb2.Event]) -> Rows:
    """Every KPI row the job must hold for these counted events."""
    parts, members = _contribution_rows(events)
    rows: Rows = {}
    totals: dict[RowKey, list[int]] = {}
    for granularity in ("minute", "hour", "day"):
        frame = parts if granularity == "day" else parts[~parts.day_only]
        if granularity == "minute":
            frame = frame[frame["product"] == ""]
        if not frame.empty:
            sums = (
                frame.assign(bucket=_with_buckets(frame, granularity))
                .groupby(["shop", "product", "kpi", "bucket"])[["num", "den"]]
                .sum()
            )
            for (shop, product, kpi, bucket), num, den in sums.itertuples(name=None):
                entry = totals.setdefault(
                    (granularity, shop, product, kpi, bucket.to_pydatetime()), [0, 0]
                )
                entry[0] += int(num)
                entry[1] += int(den)
        shown = members[members["product"] == ""] if granularity == "minute" else members
        if not shown.empty:
            distinct = shown.assign(bucket=_with_buckets(shown, granularity))
            counts = distinct.groupby(["shop", "product", "kpi", "bucket"]).member.nunique()
            for (shop, product, kpi, bucket), count in counts.items():  # type: ignore[misc]
                bucket_start = bucket.to_pydatetime()
                totals.setdefault((granularity, shop, product, kpi, bucket_start), [0, 0])[0] += (
                    int(count)
                )
                if product == "":
                    ratio = DISTINCT_RATIO[kpi]
                    totals.setdefault((granularity, shop, "", ratio, bucket_start), [0, 0])[1] += (
                        int(count)
                    )
    for key, (num, den) in totals.items():
        rows[key] = (Decimal(num), Decimal(den) if key[3] in RATIOS else None)
    return rows
