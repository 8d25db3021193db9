"""KPI snapshots as the live stream sends them: decoded once per record, rendered once per
(interval, KPI selection) and shared by every client subscribed to the shop."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import orjson
from google.protobuf import timestamp_pb2

from shopee.metrics.v1 import metrics_pb2

Interval = Literal["minute", "hour", "day"]
INTERVAL_BY_GRANULARITY: dict[int, Interval] = {
    metrics_pb2.GRANULARITY_MINUTE: "minute",
    metrics_pb2.GRANULARITY_HOUR: "hour",
    metrics_pb2.GRANULARITY_DAY: "day",
}

# {"value": ..., "numerator": ..., "denominator": ...}; value and denominator may be None.
KpiPoint = dict[str, float | None]


@dataclass(frozen=True, slots=True)
class Bucket:
    start: str  # RFC 3339, UTC
    kpis: dict[str, KpiPoint]


@dataclass(slots=True)
class LiveSnapshot:
    """One shop's changed buckets. `replay` marks snapshots read back from the KPI tables."""

    shop_id: str
    time_zone: str
    updated_at: str | None
    watermark: str | None
    buckets: dict[Interval, list[Bucket]]
    replay: bool = False
    _bodies: dict[tuple[Interval, frozenset[str] | None], str | None] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def from_proto(cls, snapshot: metrics_pb2.KpiSnapshot) -> LiveSnapshot:
        """Decode a `kpi.updates` record's message."""
        buckets: dict[Interval, list[Bucket]] = {}
        for bucket in snapshot.buckets:
            interval = INTERVAL_BY_GRANULARITY.get(bucket.granularity)
            if interval is None:
                continue
            points = {
                value.kpi: {
                    "value": value.value if value.HasField("value") else None,
                    "numerator": value.numerator,
                    "denominator": value.denominator if value.HasField("denominator") else None,
                }
                for value in bucket.values
                if not value.product_id
            }
            buckets.setdefault(interval, []).append(Bucket(_rfc3339(bucket.bucket), points))
        return cls(
            shop_id=snapshot.shop_id,
            time_zone=snapshot.time_zone,
            updated_at=_rfc3339(snapshot.updated_at) if snapshot.HasField("updated_at") else None,
            watermark=_rfc3339(snapshot.watermark) if snapshot.HasField("watermark") else None,
            buckets=buckets,
        )

    def frame(
        self, subscription_id: str, interval: Interval, kpis: frozenset[str] | None
    ) -> str | None:
        """The `snapshot` message for one subscription, or None when nothing in it matches.

        The body is encoded once per (interval, kpis) and shared; only the subscription id is
        spliced in per client, so fan-out to many clients costs little more than the sends.
        """
        key = (interval, kpis)
        if key not in self._bodies:
            self._bodies[key] = self._body(interval, kpis)
        body = self._bodies[key]
        if body is None:
            return None
        return '{"type":"snapshot","subscription":' + orjson.dumps(subscription_id).decode() + body

    def _body(self, interval: Interval, kpis: frozenset[str] | None) -> str | None:
        selected = [
            {
                "bucket": bucket.start,
                "kpis": {
                    name: point
                    for name, point in bucket.kpis.items()
                    if kpis is None or name in kpis
                },
            }
            for bucket in self.buckets.get(interval, ())
        ]
        selected = [bucket for bucket in selected if bucket["kpis"]]
        if not selected:
            return None
        rest = {
            "shop_id": self.shop_id,
            "interval": interval,
            "time_zone": self.time_zone,
            "updated_at": self.updated_at,
            "watermark": self.watermark,
            "replay": self.replay,
            "buckets": selected,
        }
        # `{...}` minus its opening brace, after a comma: appended to the spliced head.
        return "," + orjson.dumps(rest).decode()[1:]


def replay_snapshots(
    shop_id: str,
    time_zone: str,
    interval: Interval,
    rows: Iterable[tuple[datetime, str, float | None, float, float | None]],
    buckets_per_message: int,
) -> list[LiveSnapshot]:
    """Snapshots of one shop's stored buckets (rows of bucket, kpi, value, numerator,
    denominator, in bucket order), at most `buckets_per_message` buckets each."""
    buckets: dict[datetime, dict[str, KpiPoint]] = {}
    for start, kpi, value, numerator, denominator in rows:
        buckets.setdefault(start, {})[kpi] = {
            "value": value,
            "numerator": numerator,
            "denominator": denominator,
        }
    ordered = [Bucket(_iso(start), points) for start, points in sorted(buckets.items())]
    return [
        LiveSnapshot(
            shop_id=shop_id,
            time_zone=time_zone,
            updated_at=None,
            watermark=None,
            buckets={interval: ordered[i : i + buckets_per_message]},
            replay=True,
        )
        for i in range(0, len(ordered), buckets_per_message)
    ]


def _rfc3339(timestamp: timestamp_pb2.Timestamp) -> str:
    return _iso(timestamp.ToDatetime(tzinfo=UTC))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
