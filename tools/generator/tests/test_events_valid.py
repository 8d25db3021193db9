from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from io import BytesIO

import orjson
from google.protobuf import json_format

from shopee.events.v1 import events_pb2
from shopee_common.events import event_from_json, validate
from shopee_generator.sinks.ndjson import ProtoJsonEncoder, write_ndjson


def test_every_event_passes_the_platform_validation(
    november_events: list[events_pb2.Event],
) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for event in november_events:
        validate(event, now=now)


def test_every_payload_kind_is_generated(november_events: list[events_pb2.Event]) -> None:
    kinds = Counter(event.WhichOneof("payload") for event in november_events)
    assert {"order", "traffic", "campaign", "chat", "review", "catalog"} <= set(kinds)
    statuses = {e.order.status for e in november_events if e.HasField("order")}
    assert statuses == {
        events_pb2.ORDER_STATUS_CREATED,
        events_pb2.ORDER_STATUS_PAID,
        events_pb2.ORDER_STATUS_SHIPPED,
        events_pb2.ORDER_STATUS_COMPLETED,
        events_pb2.ORDER_STATUS_CANCELLED,
        events_pb2.ORDER_STATUS_RETURNED,
    }


def test_fast_json_matches_the_protobuf_json_mapping(
    november_events: list[events_pb2.Event],
) -> None:
    encoder = ProtoJsonEncoder()
    for event in november_events[::7]:
        assert encoder.to_dict(event) == json_format.MessageToDict(event)


def test_ndjson_lines_parse_back_to_the_same_events(
    november_events: list[events_pb2.Event],
) -> None:
    sample = november_events[::50]
    buffer = BytesIO()
    assert write_ndjson(sample, buffer) == len(sample)
    lines = buffer.getvalue().splitlines()
    assert [event_from_json(orjson.loads(line)) for line in lines] == sample


def test_planned_campaigns_are_announced_before_they_start(
    november_events: list[events_pb2.Event],
) -> None:
    planned: dict[str, int] = {}
    for event in november_events:
        if not event.HasField("campaign"):
            continue
        campaign = event.campaign
        at = event.occurred_at.ToMilliseconds()
        if campaign.action == events_pb2.CAMPAIGN_ACTION_PLANNED:
            planned.setdefault(campaign.campaign_id, at)
        elif (
            campaign.action == events_pb2.CAMPAIGN_ACTION_STARTED
            and campaign.kind != events_pb2.CAMPAIGN_KIND_ADS
        ):
            assert campaign.campaign_id in planned, campaign.campaign_id
            assert planned[campaign.campaign_id] <= at
    assert any("11.11" in e.campaign.name for e in november_events if e.campaign.action == 1)
