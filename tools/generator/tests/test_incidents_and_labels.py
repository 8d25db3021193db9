from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from shopee.events.v1 import events_pb2
from shopee_generator import GeneratorConfig, Labels, build_labels


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _window(
    events: list[events_pb2.Event], shop_id: str, start: datetime, end: datetime
) -> dict[str, Any]:
    low, high = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    numbers: dict[str, Any] = {
        "visitors": set(),
        "page_views": 0,
        "orders": 0,
        "bot_carts": 0,
        "checkouts": 0,
        "lines": [],
    }
    for event in events:
        if event.shop_id != shop_id or not low <= event.occurred_at.ToMilliseconds() < high:
            continue
        if event.HasField("traffic"):
            numbers["visitors"].add(event.traffic.visitor_id)
            numbers["page_views"] += event.traffic.kind == events_pb2.TRAFFIC_KIND_PAGE_VIEW
            numbers["checkouts"] += event.traffic.kind == events_pb2.TRAFFIC_KIND_CHECKOUT_START
            numbers["bot_carts"] += (
                event.traffic.kind == events_pb2.TRAFFIC_KIND_ADD_TO_CART
                and event.traffic.visitor_id.startswith("guest-")
            )
        elif event.order.status == events_pb2.ORDER_STATUS_CREATED:
            numbers["orders"] += 1
            numbers["lines"].extend(item.product_id for item in event.order.items)
    return numbers


def _baseline(events: list[events_pb2.Event], incident: dict[str, Any], key: str) -> float:
    """The same local hours on the neighbouring days, averaged."""
    start, end = _utc(incident["start"]), _utc(incident["end"])
    values = []
    for shift in (-3, -2, -1, 1, 2, 3):
        numbers = _window(
            events, incident["shop_id"], start + timedelta(days=shift), end + timedelta(days=shift)
        )
        values.append(len(numbers[key]) if isinstance(numbers[key], set) else numbers[key])
    return sum(values) / len(values)


def _incidents(labels: Labels, kind: str) -> list[dict[str, Any]]:
    found = [i for i in labels.incidents if i["kind"] == kind]
    assert found, kind
    return found


def test_checkout_outage_collapses_orders_while_visitors_stay(
    november_events: list[events_pb2.Event], november_labels: Labels
) -> None:
    outages = _incidents(november_labels, "checkout_outage")
    assert any(i["during_mega_sale"] for i in outages)
    assert any(not i["during_mega_sale"] for i in outages)
    orders = checkouts = 0
    for incident in outages:
        inside = _window(
            november_events, incident["shop_id"], _utc(incident["start"]), _utc(incident["end"])
        )
        assert len(inside["visitors"]) > 0.5 * _baseline(november_events, incident, "visitors")
        orders += inside["orders"]
        checkouts += inside["checkouts"]
    # Buyers still reach checkout, but almost none of them get an order (90 % do normally).
    assert checkouts >= 10
    assert orders < 0.15 * checkouts


def test_bot_spike_multiplies_page_views_without_carts(
    november_events: list[events_pb2.Event], november_labels: Labels
) -> None:
    for incident in _incidents(november_labels, "traffic_bot_spike"):
        inside = _window(
            november_events, incident["shop_id"], _utc(incident["start"]), _utc(incident["end"])
        )
        assert inside["page_views"] > 3 * _baseline(november_events, incident, "page_views")
        assert len(inside["visitors"]) > 2 * _baseline(november_events, incident, "visitors")
        assert inside["bot_carts"] == 0


def test_stock_out_stops_the_products_orders(
    november_events: list[events_pb2.Event], november_labels: Labels
) -> None:
    for incident in _incidents(november_labels, "stock_out"):
        start, end = _utc(incident["start"]), _utc(incident["end"])
        inside = _window(november_events, incident["shop_id"], start, end)
        assert incident["product_id"] not in inside["lines"]
        assert inside["orders"] > 0
        at_start = [
            e.catalog.stock
            for e in november_events
            if e.catalog.product_id == incident["product_id"]
            and e.occurred_at.ToDatetime(tzinfo=start.tzinfo) == start
        ]
        assert at_start == [0]


def test_labels_describe_the_world(
    november_labels: Labels, november_config: GeneratorConfig
) -> None:
    data = json.loads(november_labels.to_json())
    assert data["generator"]["seed"] == november_config.seed
    assert {shop["time_zone"] for shop in data["shops"]} == {"Asia/Jakarta", "Asia/Kuala_Lumpur"}
    for incident in data["incidents"]:
        assert {"shop_id", "kind", "start", "end", "affected_kpis", "product_id"} <= set(incident)
        assert _utc(incident["start"]) < _utc(incident["end"])
    elasticities = [e for shop in data["elasticities"].values() for e in shop.values()]
    assert len(elasticities) == november_config.shops * november_config.products_per_shop
    assert all(-3.0 <= e <= -0.5 for e in elasticities)
    mega = [c for c in data["campaigns"] if c["mega_sale"]]
    assert mega
    assert all(_utc(c["planned_at"]) < _utc(c["start"]) for c in mega)
    assert {"date": "2025-11-11", "mega_sale": True, "traffic_boost": 4.5} in data["double_dates"]
    assert build_labels(november_config).to_json() == november_labels.to_json()
