"""One batch of events, from decoded events to the KPI increments it commits (pure).

The store runs it in one transaction: it learns which event ids are new and which distinct
members are new from the database, and this module does the rest. Every increment is added to
rows in the same transaction that records the event ids, so an event counts exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from shopee_common.events import Event
from shopee_metrics.domain.buckets import GRANULARITIES, Buckets, Granularity, buckets_for
from shopee_metrics.domain.contributions import (
    DISTINCT_DENOMINATORS,
    SHOP,
    EventParts,
    event_parts,
)


@dataclass(frozen=True, slots=True)
class Position:
    topic: str
    partition: int
    offset: int


@dataclass(slots=True)
class Candidate:
    """A valid event of the batch, with where it came from and what it would add."""

    event: Event
    position: Position
    occurred_at: datetime
    buckets: Buckets
    parts: EventParts

    @property
    def key(self) -> tuple[str, str]:
        return (self.event.shop_id, self.event.event_id)


def candidate(event: Event, position: Position) -> Candidate:
    seconds = event.occurred_at.seconds
    occurred = datetime.fromtimestamp(seconds + event.occurred_at.nanos / 1e9, UTC)
    return Candidate(
        event, position, occurred, buckets_for(seconds, event.time_zone), event_parts(event)
    )


@dataclass(frozen=True, slots=True)
class LateEvent:
    candidate: Candidate
    watermark: datetime

    @property
    def lateness_seconds(self) -> float:
        return (self.watermark - self.candidate.occurred_at).total_seconds()


# Per-product rows are kept per hour and day: per minute they are too sparse to read and would
# be most of the rows the job writes. Shop rows are kept at every granularity.
PRODUCT_GRANULARITIES = (Granularity.HOUR, Granularity.DAY)

# (granularity, shop_id, product_id, kpi, bucket start)
RowKey = tuple[Granularity, str, str, str, datetime]
# (granularity, shop_id, product_id, kpi, bucket start, member)
MemberKey = tuple[Granularity, str, str, str, datetime, str]


@dataclass
class BatchPlan:
    counted: list[Candidate] = field(default_factory=list)
    late: list[LateEvent] = field(default_factory=list)
    # (shop_id, source) -> newest event time counted; source = the payload kind.
    watermarks: dict[tuple[str, str], datetime] = field(default_factory=dict)
    members: list[MemberKey] = field(default_factory=list)
    local_label: dict[tuple[Granularity, datetime], datetime | date] = field(default_factory=dict)


def unique_in_batch(candidates: list[Candidate]) -> list[Candidate]:
    """The first of each (shop, event id) in the batch: a repeat inside one batch is a duplicate."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for item in candidates:
        if item.key not in seen:
            seen.add(item.key)
            unique.append(item)
    return unique


def plan(
    new_events: list[Candidate], watermarks: dict[tuple[str, str], datetime], grace: timedelta
) -> BatchPlan:
    """Split the batch's new events into counted and late, advancing the watermark (newest event
    time seen) of each shop and source in batch order; list the distinct members to record.

    Watermarks are per source (orders, traffic, ...) because the topics are consumed at their
    own pace: a replay that reads all of one topic first must not make the others late.
    """
    result = BatchPlan(watermarks=dict(watermarks))
    for item in new_events:
        shop = item.event.shop_id
        source = (shop, item.event.WhichOneof("payload") or "")
        mark = result.watermarks.get(source)
        if mark is not None and item.occurred_at < mark - grace:
            result.late.append(LateEvent(item, mark))
            continue
        if mark is None or item.occurred_at > mark:
            result.watermarks[source] = item.occurred_at
        result.counted.append(item)
        for level in GRANULARITIES:
            start = _bucket(item.buckets, level)
            if level is not Granularity.MINUTE:
                result.local_label[(level, start)] = (
                    item.buckets.local_hour
                    if level is Granularity.HOUR
                    else item.buckets.local_date
                )
            if item.parts.day_only and level is not Granularity.DAY:
                continue
            for member in item.parts.members:
                if member.product_id != SHOP and level not in PRODUCT_GRANULARITIES:
                    continue
                result.members.append(
                    (level, shop, member.product_id, member.kpi, start, member.member)
                )
    return result


def increments(batch: BatchPlan, new_members: list[MemberKey]) -> dict[RowKey, list[int]]:
    """numerator and denominator deltas per KPI row, for every granularity.

    Parts are summed per minute first (many events share a minute), then each minute's sums are
    added to its hour and day: the same totals as adding every part three times, for less work.
    """
    minutes: dict[tuple[str, str, str, datetime], list[int]] = {}
    minute_buckets: dict[tuple[str, datetime], Buckets] = {}
    totals: dict[RowKey, list[int]] = defaultdict(lambda: [0, 0])
    for item in batch.counted:
        shop = item.event.shop_id
        buckets = item.buckets
        if item.parts.day_only:
            for part in item.parts.parts:
                row = totals[(Granularity.DAY, shop, part.product_id, part.kpi, buckets.day)]
                row[0] += part.numerator
                row[1] += part.denominator
            continue
        minute = buckets.minute
        minute_buckets[(shop, minute)] = buckets
        for part in item.parts.parts:
            key = (shop, part.product_id, part.kpi, minute)
            sums = minutes.get(key)
            if sums is None:
                minutes[key] = [part.numerator, part.denominator]
            else:
                sums[0] += part.numerator
                sums[1] += part.denominator
    for (shop, product, kpi, minute), (numerator, denominator) in minutes.items():
        buckets = minute_buckets[(shop, minute)]
        for level, start in (
            (Granularity.MINUTE, minute),
            (Granularity.HOUR, buckets.hour),
            (Granularity.DAY, buckets.day),
        ):
            if product != SHOP and level not in PRODUCT_GRANULARITIES:
                continue
            row = totals[(level, shop, product, kpi, start)]
            row[0] += numerator
            row[1] += denominator
    for level, shop, product, kpi, start, _ in new_members:
        totals[(level, shop, product, kpi, start)][0] += 1
        if product == SHOP:
            for ratio in DISTINCT_DENOMINATORS.get(kpi, ()):
                totals[(level, shop, SHOP, ratio, start)][1] += 1
    return dict(totals)


def _bucket(buckets: Buckets, level: Granularity) -> datetime:
    if level is Granularity.MINUTE:
        return buckets.minute
    return buckets.hour if level is Granularity.HOUR else buckets.day
