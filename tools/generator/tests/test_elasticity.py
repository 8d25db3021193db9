"""The true elasticities can be measured back from the events alone, as an analyst would."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date
from zoneinfo import ZoneInfo

import numpy as np

from shopee.events.v1 import events_pb2
from shopee_generator import GeneratorConfig, build_labels, generate_history
from shopee_generator.domain.calendar import is_double_date

# Two products share the traffic, so five months give enough sales at each price to fit.
CONFIG = GeneratorConfig(
    start=date(2025, 2, 1),
    days=150,
    shops=1,
    products_per_shop=2,
    scale=2.5,
    seed=3,
    incidents=False,
)


def _price_ratio_counts() -> tuple[dict[str, dict[float, int]], dict[str, dict[float, int]]]:
    """Per product and price level (price paid / base price): product views and units ordered.

    The price a viewer saw comes from the catalogue events (list price) and the running flash
    sales (discounts); the price a buyer paid is on the order line. Double-date sales (which lift
    buying beyond price) and live-stream prices (for stream viewers only) are left out."""
    labels = build_labels(CONFIG)
    base = {
        p["product_id"]: p["base_price_minor"] for shop in labels.products.values() for p in shop
    }
    list_price: dict[str, int] = {}
    discounts: dict[str, dict[str, float]] = defaultdict(dict)
    views: dict[str, dict[float, int]] = defaultdict(lambda: defaultdict(int))
    units: dict[str, dict[float, int]] = defaultdict(lambda: defaultdict(int))
    for event in generate_history(CONFIG):
        if event.HasField("catalog"):
            list_price[event.catalog.product_id] = event.catalog.price_minor
        elif event.campaign.kind == events_pb2.CAMPAIGN_KIND_FLASH_SALE:
            for product_id in event.campaign.product_ids:
                if event.campaign.action == events_pb2.CAMPAIGN_ACTION_STARTED:
                    discounts[product_id][event.campaign.campaign_id] = (
                        event.campaign.discount_percent
                    )
                elif event.campaign.action == events_pb2.CAMPAIGN_ACTION_ENDED:
                    discounts[product_id].pop(event.campaign.campaign_id, None)
        local = (
            event.occurred_at.ToDatetime(tzinfo=UTC).astimezone(ZoneInfo(event.time_zone)).date()
        )
        if is_double_date(local):
            continue
        traffic, order = event.traffic, event.order
        if (
            traffic.kind == events_pb2.TRAFFIC_KIND_PRODUCT_VIEW
            and traffic.channel != events_pb2.CHANNEL_LIVE_STREAM
        ):
            product_id = traffic.product_id
            discount = max(discounts[product_id].values(), default=0.0)
            ratio = list_price[product_id] * (1 - discount / 100) / base[product_id]
            views[product_id][round(ratio, 2)] += 1
        elif (
            order.status == events_pb2.ORDER_STATUS_CREATED
            and order.channel != events_pb2.CHANNEL_LIVE_STREAM
        ):
            for item in order.items:
                paid = item.unit_price_minor - item.discount_minor / item.quantity
                units[item.product_id][round(paid / base[item.product_id], 2)] += item.quantity
    return views, units


def test_log_log_fit_recovers_each_products_elasticity() -> None:
    truth = build_labels(CONFIG).elasticities["glowlab-id"]
    views, units = _price_ratio_counts()
    for product_id, elasticity in truth.items():
        levels = [
            (r, n, units[product_id][r])
            for r, n in views[product_id].items()
            if n >= 100 and units[product_id][r]
        ]
        x = [math.log(r) for r, _, _ in levels]
        y = [math.log(sold / seen) for _, seen, sold in levels]
        weights = [math.sqrt(sold) for _, _, sold in levels]
        assert len(levels) >= 5
        assert max(x) - min(x) > 0.3
        slope = float(np.polyfit(x, y, 1, w=weights)[0])
        assert abs(slope - elasticity) < 0.35, (product_id, slope, elasticity)
