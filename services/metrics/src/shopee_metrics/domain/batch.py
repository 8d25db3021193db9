"""One batch of events, from decoded events to the KPI increments it commits (pure).

The store runs it in one transaction: it learns which event ids are new and which distinct
members are new from the database, and this module does the rest. Every increment is added to
rows in the same transaction that records the event ids, so an event counts exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from shopee_common.events import Event
from shopee_metrics.domain.buckets import Buckets, Granularity, buckets_for
from shopee_metrics.domain.contributions import (
    DISTINCT_DENOMINATORS,
    DISTINCT_SOURCES,
    SHOP,
    EventParts,
    event_parts,
)
from shopee_metrics.domain.members import bucket_texts, key_of


@dataclass(frozen=True, slots=True)
class Position:
    topic: str
    partition: int
    offset: int


class MemberRow(NamedTuple):
    """A distinct member of a bucket, as `kpi_members` stores it: the first five fields are the
    bucket (a `BucketKey`), `key` stands for the member in it, and `bucket_end` and `source`
    say when the row may be pruned (once the source's watermark is a grace past the end)."""

    granularity: Granularity
    shop_id: str
    product_id: str
    kpi: str
    bucket: datetime
    key: str
    bucket_end: datetime
    source: str


@dataclass(slots=True)
class Candidate:
    """A valid event of the batch, with where it came from and what it would add."""

    event: Event
    position: Position
    occurred_at: datetime
    buckets: Buckets
    parts: EventParts
    key: tuple[str, str]  # (shop_id, event_id)
    # proto3 JSON of the payload for raw_events, computed ahead of the write (adapters' concern).
    payload_json: str = ""
    # The member rows the event adds if counted; hashed ahead of the write (see `member_rows`).
    members: tuple[MemberRow, ...] | None = None


def candidate(event: Event, position: Position) -> Candidate:
    stamp = event.occurred_at
    seconds = stamp.seconds
    shop = event.shop_id
    parts = event_parts(event)
    return Candidate(
        event,
        position,
        datetime.fromtimestamp(seconds + stamp.nanos / 1e9, UTC),
        # Lateness and watermarks go by the event's own time; its parts count in these buckets.
        buckets_for(seconds - parts.earlier_seconds, event.time_zone),
        parts,
        (shop, event.event_id),
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
_MINUTE, _HOUR, _DAY = Granularity.MINUTE, Granularity.HOUR, Granularity.DAY
_ONE_MINUTE, _ONE_HOUR = timedelta(minutes=1), timedelta(hours=1)

# (granularity, shop_id, product_id, kpi, bucket start)
RowKey = tuple[Granularity, str, str, str, datetime]
# (granularity, shop_id, product_id, kpi, bucket start): a bucket of a distinct-count KPI
BucketKey = tuple[Granularity, str, str, str, datetime]


@dataclass
class BatchPlan:
    counted: list[Candidate] = field(default_factory=list)
    late: list[LateEvent] = field(default_factory=list)
    # (shop_id, source) -> newest event time counted; source = the payload kind.
    watermarks: dict[tuple[str, str], datetime] = field(default_factory=dict)
    members: list[MemberRow] = field(default_factory=list)
    # (granularity, shop_id, bucket) -> the bucket's label in the shop's zone. Keyed by shop too:
    # an hour starts at the same instant in Jakarta and Manila but is 16:00 in one, 17:00 in the
    # other.
    local_label: dict[tuple[Granularity, str, datetime], datetime | date] = field(
        default_factory=dict
    )


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
    new_events: list[Candidate],
    watermarks: dict[tuple[str, str], datetime],
    grace: timedelta,
    now: datetime | None = None,
) -> BatchPlan:
    """Split the batch's new events into counted and late, advancing the watermark (newest event
    time seen) of each shop and source in batch order; list the distinct members to record.

    Watermarks are per source (orders, traffic, ...) because the topics are consumed at their
    own pace: a replay that reads all of one topic first must not make the others late.

    With `now` (the job's clock), a watermark advances no further than now. An event stamped
    ahead of it (a producer's clock running fast; validation lets up to an hour through) counts
    in its own bucket, but does not make the shop's next events, stamped on time, late: one
    order 20 minutes ahead would otherwise have left the shop's orders uncounted for 10 minutes.
    """
    result = BatchPlan(watermarks=dict(watermarks))
    marks = result.watermarks
    counted = result.counted.append
    member_rows_of = result.members.extend
    labels = result.local_label
    labelled: tuple[str, object] | None = None
    for item in new_events:
        event = item.event
        shop = event.shop_id
        source = (shop, event.WhichOneof("payload") or "")
        occurred = item.occurred_at
        mark = marks.get(source)
        if mark is not None and occurred < mark - grace:
            result.late.append(LateEvent(item, mark))
            continue
        if mark is None or occurred > mark:
            advanced = occurred if now is None or occurred <= now else now
            if mark is None or advanced > mark:
                marks[source] = advanced
        counted(item)
        buckets = item.buckets
        # Consecutive events mostly share their shop and (cached) buckets.
        if labelled is None or labelled[1] is not buckets or labelled[0] != shop:
            labels[(_HOUR, shop, buckets.hour)] = buckets.local_hour
            labels[(_DAY, shop, buckets.day)] = buckets.local_date
            labelled = (shop, buckets)
        if item.parts.members:
            member_rows_of(item.members if item.members is not None else member_rows(item))
    return result


def member_rows(item: Candidate) -> tuple[MemberRow, ...]:
    """The distinct members an event adds to its buckets if counted: shop members per minute,
    hour and day, product members per hour and day, daily summaries' members per day. Keys as
    `member_key` makes them, built with fewer steps (this runs for every event)."""
    members = item.parts.members
    if not members:
        return ()
    shop = item.event.shop_id
    buckets = item.buckets
    levels: tuple[tuple[Granularity, datetime, datetime], ...]
    if item.parts.day_only:
        levels = ((_DAY, buckets.day, buckets.day_end),)
    else:
        levels = (
            (_MINUTE, buckets.minute, buckets.minute + _ONE_MINUTE),
            (_HOUR, buckets.hour, buckets.hour + _ONE_HOUR),
            (_DAY, buckets.day, buckets.day_end),
        )
    rows = []
    for product, kpi, name in members:
        source = DISTINCT_SOURCES[kpi]
        for level, start, end in levels:
            if level is _MINUTE and product != SHOP:
                continue
            seconds, minute = bucket_texts(start)
            # A StrEnum formats as its value, without the Python-level `.value` property.
            key = key_of(minute, f"{level}\0{shop}\0{product}\0{kpi}\0{seconds}\0{name}")
            rows.append(MemberRow(level, shop, product, kpi, start, key, end, source))
    return tuple(rows)


def increments(batch: BatchPlan, new_members: Mapping[BucketKey, int]) -> dict[RowKey, list[int]]:
    """numerator and denominator deltas per KPI row, for every granularity; `new_members` says
    how many members of each distinct-count bucket were new.

    Parts are summed per minute first (many events share a minute), then each minute's sums are
    added to its hour and day: the same totals as adding every part three times, for less work.
    Shop rows are kept per minute, hour and day; product rows per hour and day only.
    """
    minutes: dict[tuple[str, str, str, datetime], list[int]] = {}
    minute_buckets: dict[tuple[str, datetime], Buckets] = {}
    totals: dict[RowKey, list[int]] = {}
    for item in batch.counted:
        shop = item.event.shop_id
        buckets = item.buckets
        parts = item.parts
        if parts.day_only:
            for product, kpi, numerator, denominator in parts.parts:
                _add(totals, (_DAY, shop, product, kpi, buckets.day), numerator, denominator)
            continue
        minute = buckets.minute
        minute_buckets[(shop, minute)] = buckets
        for product, kpi, numerator, denominator in parts.parts:
            key = (shop, product, kpi, minute)
            sums = minutes.get(key)
            if sums is None:
                minutes[key] = [numerator, denominator]
            else:
                sums[0] += numerator
                sums[1] += denominator
    for (shop, product, kpi, minute), (numerator, denominator) in minutes.items():
        buckets = minute_buckets[(shop, minute)]
        if product == SHOP:
            totals[(_MINUTE, shop, product, kpi, minute)] = [numerator, denominator]
        _add(totals, (_HOUR, shop, product, kpi, buckets.hour), numerator, denominator)
        _add(totals, (_DAY, shop, product, kpi, buckets.day), numerator, denominator)
    for (level, shop, product, kpi, start), count in new_members.items():
        _add(totals, (level, shop, product, kpi, start), count, 0)
        if product == SHOP:
            for ratio in DISTINCT_DENOMINATORS.get(kpi, ()):
                _add(totals, (level, shop, SHOP, ratio, start), 0, count)
    return totals


def _add(totals: dict[RowKey, list[int]], key: RowKey, numerator: int, denominator: int) -> None:
    row = totals.get(key)
    if row is None:
        totals[key] = [numerator, denominator]
    else:
        row[0] += numerator
        row[1] += denominator
