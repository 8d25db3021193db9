"""raw_events.payload is the same document json_format makes, for every kind of event."""

from __future__ import annotations

import itertools
from datetime import date

from google.protobuf import json_format

from shopee.events.v1 import events_pb2
from shopee_generator.world import GeneratorConfig, generate_history
from shopee_metrics.adapters.raw_json import message_dict


def reference(message: object) -> object:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)  # type: ignore[arg-type]


def test_generated_events_of_every_kind_print_as_json_format_prints_them() -> None:
    config = GeneratorConfig(start=date(2026, 9, 1), days=20, shops=2, scale=1.0, seed=5)
    kinds: set[str] = set()
    for event in itertools.islice(generate_history(config), 30_000):
        kind = event.WhichOneof("payload")
        assert kind is not None
        kinds.add(kind)
        payload = getattr(event, kind)
        assert message_dict(payload) == reference(payload)
    assert {"order", "traffic", "campaign", "chat", "review", "catalog"} <= kinds


def test_edge_values_print_as_json_format_prints_them() -> None:
    order = events_pb2.OrderEvent(order_id="o", status=events_pb2.ORDER_STATUS_PAID)
    order.items.add(product_id="a", quantity=2, unit_price_minor=10**15, discount_minor=1)
    order.items.add(product_id="b", quantity=1)
    order.voucher.code = "V"
    summary = events_pb2.TrafficSummaryEvent(
        period=events_pb2.SUMMARY_PERIOD_DAY, visitors=2**63, page_views=3
    )
    campaign = events_pb2.CampaignEvent(campaign_id="c", discount_percent=12.5, spend_minor=-7)
    campaign.starts_at.FromSeconds(1_700_000_000)
    campaign.ends_at.FromNanoseconds(1_700_000_000_123_456_789)
    unknown_enum = events_pb2.ChatEvent(conversation_id="x", kind=99)  # type: ignore[arg-type]
    for message in (order, summary, campaign, unknown_enum, events_pb2.ReviewEvent()):
        assert message_dict(message) == reference(message)
