"""The database behind the gateway benchmark: generated events in `raw_events`, and the KPI rows
the stream job makes of them in `kpi_minute` / `kpi_hour` / `kpi_day`, both written by COPY.

Events: the generator's Python API, one shop at a time (`build_world`, the shop's simulator,
`day_events`: the very events `generate_history` yields for that shop, ids included).
`raw_events` gets what the job's store writes: the payload's proto3 JSON from the job's own
`payload_json`; topic = the payload's topic, partition = the shop's index, offset = the event's
position in its shop's stream.

KPI rows: each event's parts and distinct members come from the job's `event_parts` and its
buckets from the job's `buckets_for`; they are summed per bucket with pandas. For events in time
order (the generator's; none is late) that is what the job's `plan` + `increments` compute batch
by batch with the database counting new members; bench.gateway_check compares the two on a
sample before anything is loaded. Not loaded: `event_ids` and `kpi_members` (the job's
bookkeeping, which the gateway never reads).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd
import psycopg

from shopee.events.v1 import events_pb2
from shopee_common.kpis import KPI_BY_NAME
from shopee_common.topics import TOPIC_BY_PAYLOAD
from shopee_generator.world import GeneratorConfig, build_world, day_events
from shopee_metrics.adapters.raw_json import payload_json
from shopee_metrics.domain.buckets import Granularity, buckets_for
from shopee_metrics.domain.contributions import DISTINCT_DENOMINATORS, RATIO_KPIS, event_parts

KPI_NAMES = tuple(KPI_BY_NAME)
KPI_CODE = {name: code for code, name in enumerate(KPI_NAMES)}
SHOP_PRODUCT = 0  # product code of shop-level rows (product_id '')
RAW_EVENT_COLUMNS = (
    "shop_id, event_id, occurred_at, time_zone, kind, payload, topic, kafka_partition, kafka_offset"
)
KPI_COLUMNS = "shop_id, product_id, kpi, bucket, numerator, denominator, value"
TABLES = {
    Granularity.MINUTE: "kpi_minute",
    Granularity.HOUR: "kpi_hour",
    Granularity.DAY: "kpi_day",
}
LABELS = {Granularity.HOUR: "local_hour", Granularity.DAY: "local_date"}


@dataclass
class Contributions:
    """One shop's KPI parts and distinct members, column-wise (codes for strings)."""

    products: dict[str, int] = field(default_factory=lambda: {"": SHOP_PRODUCT})
    members: dict[str, int] = field(default_factory=dict)
    part_columns: list[list[int]] = field(default_factory=lambda: [[] for _ in range(6)])
    member_columns: list[list[int]] = field(default_factory=lambda: [[] for _ in range(5)])
    part_chunks: list[npt.NDArray[np.int64]] = field(default_factory=list)
    member_chunks: list[npt.NDArray[np.int64]] = field(default_factory=list)

    def add(self, event: events_pb2.Event) -> None:
        """The job's parts and members of one event."""
        parts = event_parts(event)
        seconds = event.occurred_at.seconds - parts.earlier_seconds
        day_only = int(parts.day_only)
        products = self.products
        epoch, product, kpi, numerator, denominator, only = self.part_columns
        for part in parts.parts:
            epoch.append(seconds)
            product.append(products.setdefault(part.product_id, len(products)))
            kpi.append(KPI_CODE[part.kpi])
            numerator.append(part.numerator)
            denominator.append(part.denominator)
            only.append(day_only)
        m_epoch, m_product, m_kpi, m_member, m_only = self.member_columns
        for item in parts.members:
            m_epoch.append(seconds)
            m_product.append(products.setdefault(item.product_id, len(products)))
            m_kpi.append(KPI_CODE[item.kpi])
            m_member.append(self.members.setdefault(item.member, len(self.members)))
            m_only.append(day_only)

    def seal(self) -> None:
        """Move the collected lists into numpy (bounded Python object memory)."""
        if self.part_columns[0]:
            self.part_chunks.append(np.array(self.part_columns, dtype=np.int64))
            self.part_columns = [[] for _ in range(6)]
        if self.member_columns[0]:
            self.member_chunks.append(np.array(self.member_columns, dtype=np.int64))
            self.member_columns = [[] for _ in range(5)]


def _frame(chunks: list[npt.NDArray[np.int64]], names: list[str]) -> pd.DataFrame:
    data = np.concatenate(chunks, axis=1) if chunks else np.zeros((len(names), 0), np.int64)
    return pd.DataFrame(dict(zip(names, data, strict=True)))


def _with_buckets(frame: pd.DataFrame, time_zone: str) -> pd.DataFrame:
    """Minute, hour and day bucket starts (UTC epoch seconds) and local labels, by buckets_for."""
    quarters, inverse = np.unique(frame["epoch"].to_numpy() // 900, return_inverse=True)
    table = [buckets_for(int(q) * 900, time_zone) for q in quarters]
    naive_epoch = datetime(1970, 1, 1)
    hour = np.array([int(b.hour.timestamp()) for b in table], np.int64)
    day = np.array([int(b.day.timestamp()) for b in table], np.int64)
    local_hour = np.array([(b.local_hour - naive_epoch) // timedelta(seconds=1) for b in table])
    local_date = np.array([b.local_date.toordinal() for b in table], np.int64)
    return frame.assign(
        minute=frame["epoch"] - frame["epoch"] % 60,
        hour=hour[inverse],
        day=day[inverse],
        local_hour=local_hour[inverse],
        local_date=local_date[inverse],
    )


def kpi_rows(contributions: Contributions, time_zone: str) -> dict[Granularity, pd.DataFrame]:
    """Per granularity: product code, kpi code, bucket, numerator, denominator, label, as the
    job's `increments` make them (product rows per hour and day only; members counted once per
    bucket, adding to the denominators of the ratios built on them)."""
    contributions.seal()
    parts = _with_buckets(
        _frame(contributions.part_chunks, ["epoch", "product", "kpi", "num", "den", "day_only"]),
        time_zone,
    )
    members = _with_buckets(
        _frame(contributions.member_chunks, ["epoch", "product", "kpi", "member", "day_only"]),
        time_zone,
    )
    distinct_denominators = {
        KPI_CODE[kpi]: [KPI_CODE[r] for r in ratios]
        for kpi, ratios in DISTINCT_DENOMINATORS.items()
    }
    return {
        level: _level_rows(parts, members, level, distinct_denominators) for level in Granularity
    }


def _keep(frame: pd.DataFrame, level: Granularity) -> pd.DataFrame:
    if level is Granularity.DAY:
        return frame
    kept = frame[frame["day_only"] == 0]
    if level is Granularity.MINUTE:
        kept = kept[kept["product"] == SHOP_PRODUCT]
    return kept


def _level_rows(
    parts: pd.DataFrame,
    members: pd.DataFrame,
    level: Granularity,
    distinct_denominators: dict[int, list[int]],
) -> pd.DataFrame:
    column = level.value  # the bucket column _with_buckets made
    key = ["product", "kpi", "bucket"]
    summed = (
        _keep(parts, level)
        .rename(columns={column: "bucket"})
        .groupby(key, sort=False)[["num", "den"]]
        .sum()
        .reset_index()
    )
    distinct = (
        _keep(members, level)
        .rename(columns={column: "bucket"})
        .drop_duplicates([*key, "member"])
        .groupby(key, sort=False)
        .size()
        .rename("count")
        .reset_index()
    )
    pieces = [summed, distinct.assign(num=distinct["count"], den=0)[[*key, "num", "den"]]]
    shop_distinct = distinct[distinct["product"] == SHOP_PRODUCT]
    for kpi, ratios in distinct_denominators.items():
        counts = shop_distinct[shop_distinct["kpi"] == kpi]
        for ratio in ratios:
            pieces.append(
                counts.assign(kpi=ratio, num=0, den=counts["count"])[[*key, "num", "den"]]
            )
    rows = pd.concat(pieces).groupby(key, sort=True)[["num", "den"]].sum().reset_index()
    label = LABELS.get(level)
    if label is not None:
        labels = pd.concat([parts[[column, label]], members[[column, label]]]).drop_duplicates(
            column
        )
        rows = rows.merge(labels.rename(columns={column: "bucket", label: "label"}), on="bucket")
    return rows


def _copy_text(value: str) -> str:
    """COPY text-format escaping (JSON escapes control characters, so only backslashes)."""
    return value.replace("\\", "\\\\")


def _utc_text(micros: npt.NDArray[np.int64]) -> list[str]:
    text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    return [f"{t}+00" for t in text.tolist()]


@dataclass
class ShopLoad:
    shop_id: str
    time_zone: str
    events: int
    kpi_rows: dict[str, int]
    seconds: float


def load_shop(
    dsn: str,
    config: GeneratorConfig,
    shop_index: int,
    on_day: Callable[[int], None],
) -> ShopLoad:
    """Generate one shop's events, COPY them into raw_events day by day, then COPY the KPI rows
    they make. `on_day(events)` is called after each day. One transaction."""
    started = time.perf_counter()
    world = build_world(config)
    shop = world.shops[shop_index]
    simulator = world.simulators[shop_index]
    contributions = Contributions()
    offsets: Counter[str] = Counter()
    total = 0
    with psycopg.connect(dsn) as connection:
        with connection.cursor().copy(f"COPY raw_events ({RAW_EVENT_COLUMNS}) FROM STDIN") as copy:
            for day in config.dates():
                lines, micros = [], []
                for event in day_events(world, shop_index, day, simulator.simulate_day(day)):
                    kind = event.WhichOneof("payload") or ""
                    topic = TOPIC_BY_PAYLOAD[kind]
                    offsets[topic] += 1
                    micros.append(
                        event.occurred_at.seconds * 1_000_000 + event.occurred_at.nanos // 1000
                    )
                    lines.append(
                        (
                            event.event_id,
                            kind,
                            _copy_text(payload_json(getattr(event, kind))),
                            topic,
                            offsets[topic],
                        )
                    )
                    contributions.add(event)
                contributions.seal()
                body = "".join(
                    f"{shop.shop_id}\t{event_id}\t{when}\t{shop.time_zone}\t{kind}\t{payload}\t{topic}\t{shop_index}\t{offset}\n"
                    for (event_id, kind, payload, topic, offset), when in zip(
                        lines, _utc_text(np.array(micros, np.int64)), strict=True
                    )
                )
                copy.write(body.encode())
                total += len(lines)
                on_day(len(lines))
        counts = _copy_kpis(
            connection, shop.shop_id, kpi_rows(contributions, shop.time_zone), contributions
        )
    return ShopLoad(shop.shop_id, shop.time_zone, total, counts, time.perf_counter() - started)


def _copy_kpis(
    connection: psycopg.Connection,
    shop_id: str,
    rows: dict[Granularity, pd.DataFrame],
    contributions: Contributions,
) -> dict[str, int]:
    products = np.array(
        [p for p, _ in sorted(contributions.products.items(), key=lambda item: item[1])], object
    )
    kpis = np.array(KPI_NAMES, object)
    ratio = np.array([name in RATIO_KPIS for name in KPI_NAMES])
    counts = {}
    for level, frame in rows.items():
        numerator = frame["num"].to_numpy()
        denominator = frame["den"].to_numpy()
        is_ratio = ratio[frame["kpi"].to_numpy()]
        with np.errstate(divide="ignore", invalid="ignore"):
            quotient = numerator / denominator
        values = [
            repr(float(n)) if not r else ("\\N" if d == 0 else repr(float(q)))
            for n, d, q, r in zip(
                numerator.tolist(),
                denominator.tolist(),
                quotient.tolist(),
                is_ratio.tolist(),
                strict=True,
            )
        ]
        columns: list[Iterable[object]] = [
            products[frame["product"].to_numpy()].tolist(),
            kpis[frame["kpi"].to_numpy()].tolist(),
            _utc_text(frame["bucket"].to_numpy() * 1_000_000),
            numerator.tolist(),
            [
                d if r else "\\N"
                for d, r in zip(denominator.tolist(), is_ratio.tolist(), strict=True)
            ],
            values,
        ]
        label_column = ""
        if level is Granularity.HOUR:
            label_column = ", local_hour"
            naive = frame["label"].to_numpy().astype("datetime64[s]")
            columns.append(np.datetime_as_string(naive, unit="s").tolist())
        elif level is Granularity.DAY:
            label_column = ", local_date"
            columns.append([date.fromordinal(int(o)).isoformat() for o in frame["label"].tolist()])
        with connection.cursor().copy(
            f"COPY {TABLES[level]} ({KPI_COLUMNS}{label_column}) FROM STDIN"
        ) as copy:
            batch = []
            for row in zip(*columns, strict=True):
                batch.append(shop_id + "\t" + "\t".join(map(str, row)) + "\n")
                if len(batch) == 50_000:
                    copy.write("".join(batch).encode())
                    batch = []
            copy.write("".join(batch).encode())
        counts[TABLES[level]] = len(frame)
    return counts
