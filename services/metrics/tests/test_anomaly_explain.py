"""Explanations walk the KPI tree in people's units; anomalies become protobuf messages."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shopee.metrics.v1 import metrics_pb2
from shopee_metrics.adapters.anomaly_publisher import AnomalyPublisher, anomaly_message
from shopee_metrics.domain.anomalies import AnomalyReport, Incomplete, Observation, Severity
from shopee_metrics.domain.anomalies.evidence import WindowSums, components
from shopee_metrics.domain.anomalies.explain import explanation, money, moved_kpis


def explain(sums: WindowSums, occasion: str = "") -> tuple[str, list[str]]:
    judged = components(sums, 0.5)
    raised = {name for name, c in judged.items() if c.harmful and abs(c.evidence) >= 4.5}
    return explanation(judged, raised, sums, "IDR", occasion), moved_kpis(judged, raised, sums)


def test_an_ordinary_window_is_normal_everywhere(ordinary: WindowSums) -> None:
    text, kpis = explain(ordinary)
    assert text == "GMV normal; visitors normal; conversion normal (5.0%); AOV normal"
    assert kpis == []


def test_a_checkout_outage_names_what_moved_and_what_did_not(ordinary: WindowSums) -> None:
    outage = replace(ordinary, created_orders=0, paid_orders=0, gmv=0)
    text, kpis = explain(outage)
    assert text == (
        "GMV 100% below expected (IDR 0.00 vs IDR 714,000); visitors normal; "
        "conversion fell from 4.8% to 0.0%: 18 checkouts started, 0 became orders (usually 90%)"
    )
    assert kpis == ["gmv", "conversion_rate", "created_orders"]


def test_bots_are_many_visitors_that_do_not_add_to_cart(ordinary: WindowSums) -> None:
    bots = replace(
        ordinary,
        visitors=2900,
        product_views=7000,
        add_to_carts=35,
        expected_paid=2900 * 0.05,
        expected_add_to_carts=7000 * 0.066,
    )
    text, kpis = explain(bots, "planned campaign Flash Sale")
    assert text.startswith("GMV normal; visitors 10.0x expected (2,900 vs 290); ")
    assert "conversion fell from 5.0% to 0.5%: add-to-cart rate fell from 6.6% to 0.5%" in text
    assert kpis == ["unique_visitors", "conversion_rate", "add_to_cart_rate"]


def test_a_planned_rise_is_said_to_be_planned(ordinary: WindowSums) -> None:
    sale = replace(
        ordinary,
        visitors=1200,
        paid_orders=70,
        gmv=70 * 4_800_000,
        expected_paid=1200 * 0.05,
        rise_expected=True,
    )
    text, kpis = explain(sale, "the 11.11 mega sale")
    assert "visitors 4.1x expected (1,200 vs 290), planned: the 11.11 mega sale" in text
    assert "GMV 4.7x expected" in text
    assert "conversion normal" in text
    assert "unique_visitors" not in kpis


def test_money_is_major_units_with_the_currency() -> None:
    assert money(123_456_700, "IDR") == "IDR 1,234,567"
    assert money(1_234, "MYR") == "MYR 12.34"
    assert money(99_900, "") == "999.00"


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, topic: str, **record: Any) -> asyncio.Future[None]:
        self.sent.append({"topic": topic, **record})
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def report() -> AnomalyReport:
    start = datetime(2026, 5, 13, 5, tzinfo=UTC)
    return AnomalyReport(
        anomaly_id="6d3f2a8e-0000-5000-8000-000000000001",
        shop_id="glowlab-id",
        kpis=("gmv", "created_orders"),
        bucket_start=start,
        bucket_end=start + timedelta(hours=3),
        observations=(Observation("created_orders", 0, 11.7, 8.5, 13),),
        score=0.91,
        severity=Severity.CRITICAL,
        explanation="GMV 100% below expected",
        first=True,
    )


def test_an_anomaly_message_carries_every_field() -> None:
    message = anomaly_message(report())
    assert message.severity == metrics_pb2.SEVERITY_CRITICAL
    assert list(message.kpis) == ["gmv", "created_orders"]
    assert message.bucket_end.ToDatetime(tzinfo=UTC) - message.bucket_start.ToDatetime(
        tzinfo=UTC
    ) == timedelta(hours=3)
    (observation,) = message.observations
    assert (observation.kpi, observation.expected_low, observation.expected_high) == (
        "created_orders",
        8.5,
        13,
    )
    assert message.detector == report().detector


def test_both_messages_go_to_one_topic_told_apart_by_a_header() -> None:
    producer = FakeProducer()
    publisher = AnomalyPublisher(producer, "t.anomalies")
    since = datetime(2026, 5, 13, tzinfo=UTC)

    async def publish() -> None:
        await publisher.anomalies([report()])
        await publisher.incomplete("glowlab-id", Incomplete(since, 3600, "no events for 60 min"))
        await publisher.resolved("glowlab-id", since, since + timedelta(hours=2))

    asyncio.run(publish())
    types = [dict(record["headers"])["message-type"] for record in producer.sent]
    assert types == [
        b"shopee.metrics.v1.Anomaly",
        b"shopee.metrics.v1.DataIncomplete",
        b"shopee.metrics.v1.DataIncomplete",
    ]
    assert {record["key"] for record in producer.sent} == {b"glowlab-id"}
    resolved = metrics_pb2.DataIncomplete.FromString(producer.sent[2]["value"])
    assert resolved.resolved
    assert resolved.lag_seconds == 7200
