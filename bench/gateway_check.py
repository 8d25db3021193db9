"""The check behind bench.gateway_load: its pandas aggregation of the job's per-event parts gives
the KPI rows (and local labels) the stream job's own `plan` + `increments` give, batch by batch,
with the database's first-sight counting of distinct members."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from bench.gateway_load import KPI_NAMES, Contributions, kpi_rows
from shopee.events.v1 import events_pb2
from shopee_generator.world import GeneratorConfig, build_world, day_events, following_days
from shopee_metrics.domain.batch import Position, candidate, increments, plan
from shopee_metrics.domain.buckets import Granularity

# (granularity, product_id, kpi, bucket start) -> [numerator, denominator]
Totals = dict[tuple[Granularity, str, str, datetime], list[int]]
# (granularity, bucket start) -> local hour or local date
Labels = dict[tuple[Granularity, datetime], datetime | date]


def totals_of(
    rows: dict[Granularity, pd.DataFrame], contributions: Contributions
) -> tuple[Totals, Labels]:
    """The rows as the job's `increments` and `plan` key them (for the check)."""
    names = {code: product for product, code in contributions.products.items()}
    totals: Totals = {}
    labels: Labels = {}
    for level, frame in rows.items():
        for product, kpi, bucket, num, den in frame[
            ["product", "kpi", "bucket", "num", "den"]
        ].itertuples(index=False):
            when = datetime.fromtimestamp(int(bucket), UTC)
            totals[(level, names[int(product)], KPI_NAMES[int(kpi)], when)] = [int(num), int(den)]
        if level is Granularity.HOUR:
            for bucket, label in frame[["bucket", "label"]].itertuples(index=False):
                labels[(level, datetime.fromtimestamp(int(bucket), UTC))] = datetime(
                    1970, 1, 1
                ) + timedelta(seconds=int(label))
        elif level is Granularity.DAY:
            for bucket, label in frame[["bucket", "label"]].itertuples(index=False):
                labels[(level, datetime.fromtimestamp(int(bucket), UTC))] = date.fromordinal(
                    int(label)
                )
    return totals, labels


def job_totals(events: list[events_pb2.Event], batch_size: int = 5_000) -> tuple[Totals, Labels]:
    """The job's own `plan` + `increments` over `events`, members deduplicated as its
    `kpi_members` table does, and the local labels `plan` gives the hour and day buckets
    (one shop's events: its labels cannot collide with another zone's)."""
    seen: set[tuple[object, ...]] = set()
    watermarks: dict[tuple[str, str], datetime] = {}
    totals: Totals = {}
    labels: Labels = {}
    position = Position("bench", 0, 0)
    for start in range(0, len(events), batch_size):
        batch = plan(
            [candidate(e, position) for e in events[start : start + batch_size]],
            watermarks,
            timedelta(minutes=10),
        )
        assert not batch.late, "generated events come in time order"
        watermarks = batch.watermarks
        labels.update(
            {(level, bucket): label for (level, _, bucket), label in batch.local_label.items()}
        )
        new: Counter[tuple[Granularity, str, str, str, datetime]] = Counter()
        for member in batch.members:
            if member not in seen:
                seen.add(member)
                new[member[:5]] += 1
        for (level, _, product, kpi, bucket), (num, den) in increments(batch, new).items():
            row = totals.setdefault((level, product, kpi, bucket), [0, 0])
            row[0] += num
            row[1] += den
    return totals, labels


def check_aggregation(config: GeneratorConfig, shop_index: int, days: int) -> int:
    """Compare this module's KPI rows with the job's plan + increments on a shop's first days;
    AssertionError naming the first difference. Returns how many events were compared."""
    world = build_world(config)
    shop = world.shops[shop_index]
    events = [
        event
        for day in following_days(config.start, days)
        for event in day_events(
            world, shop_index, day, world.simulators[shop_index].simulate_day(day)
        )
    ]
    contributions = Contributions()
    for event in events:
        contributions.add(event)
    ours, our_labels = totals_of(kpi_rows(contributions, shop.time_zone), contributions)
    theirs, their_labels = job_totals(events)
    if ours != theirs:
        missing = sorted(set(theirs) ^ set(ours), key=str)[:3]
        different = [k for k in theirs if k in ours and ours[k] != theirs[k]][:3]
        raise AssertionError(
            f"aggregation differs from the job's: keys {missing}, rows {different}"
        )
    # The job also labels buckets of events that add to no KPI (catalog changes): no rows.
    if any(their_labels.get(bucket) != label for bucket, label in our_labels.items()):
        raise AssertionError("the local hour and date labels differ from the job's")
    return len(events)
