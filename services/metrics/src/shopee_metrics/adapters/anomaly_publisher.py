"""Topic `anomalies`: protobuf `shopee.metrics.v1.Anomaly` and `DataIncomplete` messages, keyed
by shop id. One topic carries both, told apart by the `message-type` header (the full protobuf
message name); an anomaly that grows is published again with the same `anomaly_id`."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from shopee.metrics.v1 import metrics_pb2
from shopee_metrics.domain.anomalies import AnomalyReport, Incomplete, Severity
from shopee_metrics.domain.anomalies.detector import MissingData

SEVERITY_PB = {
    Severity.INFO: metrics_pb2.SEVERITY_INFO,
    Severity.WARNING: metrics_pb2.SEVERITY_WARNING,
    Severity.CRITICAL: metrics_pb2.SEVERITY_CRITICAL,
}
ANOMALY_TYPE = metrics_pb2.Anomaly.DESCRIPTOR.full_name
DATA_INCOMPLETE_TYPE = metrics_pb2.DataIncomplete.DESCRIPTOR.full_name


def headers(message_type: str) -> list[tuple[str, bytes]]:
    return [
        ("content-type", b"application/x-protobuf"),
        ("message-type", message_type.encode()),
    ]


def anomaly_message(report: AnomalyReport) -> metrics_pb2.Anomaly:
    message = metrics_pb2.Anomaly(
        anomaly_id=report.anomaly_id,
        shop_id=report.shop_id,
        product_id=report.product_id,
        kpis=list(report.kpis),
        score=report.score,
        severity=SEVERITY_PB[report.severity],
        explanation=report.explanation,
        detector=report.detector,
    )
    message.bucket_start.FromDatetime(report.bucket_start)
    message.bucket_end.FromDatetime(report.bucket_end)
    for observation in report.observations:
        message.observations.add(
            kpi=observation.kpi,
            observed=observation.observed,
            expected=observation.expected,
            expected_low=observation.expected_low,
            expected_high=observation.expected_high,
        )
    return message


def incomplete_message(
    shop_id: str, since: datetime, lag_seconds: float, reason: str, resolved: bool
) -> metrics_pb2.DataIncomplete:
    message = metrics_pb2.DataIncomplete(
        shop_id=shop_id, lag_seconds=lag_seconds, reason=reason, resolved=resolved
    )
    message.since.FromDatetime(since)
    return message


class AnomalyPublisher:
    """Sends with the Faust producer and waits for the acks."""

    def __init__(self, producer: Any, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def anomalies(self, reports: list[AnomalyReport]) -> None:
        await self._send(
            [(r.shop_id, anomaly_message(r).SerializeToString(), ANOMALY_TYPE) for r in reports]
        )

    async def incomplete(self, shop_id: str, incomplete: Incomplete) -> None:
        message = incomplete_message(
            shop_id, incomplete.since, incomplete.lag_seconds, incomplete.reason, resolved=False
        )
        await self._send([(shop_id, message.SerializeToString(), DATA_INCOMPLETE_TYPE)])

    async def resolved(self, shop_id: str, since: datetime, resolved_at: datetime) -> None:
        lag = (resolved_at - since).total_seconds()
        message = incomplete_message(shop_id, since, lag, "events flow again", resolved=True)
        await self._send([(shop_id, message.SerializeToString(), DATA_INCOMPLETE_TYPE)])

    async def missing(self, shop_id: str, missing: MissingData) -> None:
        """A stretch of missing data found in closed hours: one message, already resolved."""
        lag = (missing.end - missing.start).total_seconds()
        message = incomplete_message(shop_id, missing.start, lag, missing.reason, resolved=True)
        await self._send([(shop_id, message.SerializeToString(), DATA_INCOMPLETE_TYPE)])

    async def _send(self, messages: list[tuple[str, bytes, str]]) -> None:
        pending = [
            await self._producer.send(
                self._topic,
                key=shop.encode(),
                value=value,
                partition=None,
                timestamp=None,
                headers=headers(message_type),
            )
            for shop, value, message_type in messages
        ]
        await asyncio.gather(*pending)
