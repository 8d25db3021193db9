"""Benchmark: anomaly quality on the generator's labelled incidents.

Builds the hourly shop-level KPI series of the generator's default two-year world offline, with
the job's own code (`event_parts`, `buckets_for`: the series equal what the job stores in
kpi_hour, distinct visitors per hour included), runs the job's detector over them in time order
a day at a time (as the job's timer meets closed hours in a replay, planned campaigns known once
their PLANNED event is in), and scores the anomalies against the labels. No stack needed.

    uv run --frozen python -m bench.anomaly_quality            # print the figures
    uv run --frozen python -m bench.anomaly_quality --write    # ... and record them in BENCHMARKS.md

The aggregated series are cached under .cache/anomaly-series/ (generating 3.4M events takes
about a minute and a half).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

import shopee_generator
from bench.machine import describe_machine
from shopee.events.v1 import events_pb2
from shopee_common.marketplace import is_mega_sale
from shopee_generator.labels import build_labels
from shopee_generator.world import DEFAULT_DAYS, DEFAULT_SEED, GeneratorConfig, generate_history
from shopee_metrics.domain.anomalies import (
    BASE_KPIS,
    AnomalyReport,
    ClosedHour,
    DetectorConfig,
    PlannedCampaign,
    ShopDetector,
)
from shopee_metrics.domain.anomalies.checkout_runs import CheckoutMinute, CheckoutRuns, FailedRun
from shopee_metrics.domain.anomalies.products import PRODUCT_KPIS, ProductHour, ProductWatch
from shopee_metrics.domain.buckets import buckets_for
from shopee_metrics.domain.contributions import SHOP, event_parts

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "anomaly-series"
DEFAULT_END = date(2026, 11, 24)  # the generator README's reference world
# Shop level: outages and bot spikes; product level: stock-outs (a report of the same product).
COVERED = ("checkout_outage", "traffic_bot_spike", "stock_out")
ALL_KINDS = COVERED
HOUR = timedelta(hours=1)
CHUNK_HOURS = 24
_KPI_INDEX = {kpi: index for index, kpi in enumerate(BASE_KPIS)}
_CHECKOUT_COLUMNS = {"checkout_starts": 0, "created_orders": 1}


@dataclass
class ShopSeries:
    shop_id: str
    time_zone: str
    first_hour: datetime
    counts: npt.NDArray[np.float64]  # hours x BASE_KPIS
    # (occurred_at of the PLANNED event, the campaign)
    campaigns: list[tuple[datetime, PlannedCampaign]] = field(default_factory=list)
    # When a product's stock reached 0 (catalog events), to explain unlabelled anomalies.
    sell_outs: list[tuple[datetime, str]] = field(default_factory=list)
    events: int = 0
    products: list[str] = field(default_factory=list)
    # hours x products x PRODUCT_KPIS
    product_counts: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0, 3)))
    # Minutes with a checkout started or an order created: epoch minute, checkouts, orders.
    checkout_minutes: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 3)))

    @cached_property
    def minutes_by_hour(self) -> dict[int, tuple[CheckoutMinute, ...]]:
        """The checkout minutes by hour index (from `first_hour`); no minutes: ()."""
        first_minute = int(self.first_hour.timestamp()) // 60
        by_hour: dict[int, list[CheckoutMinute]] = defaultdict(list)
        for minute, checkouts, orders in self.checkout_minutes:
            hour, of_hour = divmod(int(minute) - first_minute, 60)
            by_hour[hour].append(CheckoutMinute(of_hour, float(checkouts), float(orders)))
        return defaultdict(tuple, {hour: tuple(items) for hour, items in by_hour.items()})

    @cached_property
    def failed_runs(self) -> list[tuple[int, FailedRun]]:
        """The runs of failed checkouts as the detector follows them: for each hour index, the
        longest run that grew in it."""
        runs = CheckoutRuns(DetectorConfig().order_lag_minutes)
        grown = []
        for index in range(len(self.counts)):
            run = runs.add_hour(self.first_hour + index * HOUR, self.minutes_by_hour[index])
            if run is not None:
                grown.append((index, run))
        return grown


def _stamp(timestamp: Any) -> datetime:
    return datetime.fromtimestamp(timestamp.seconds + timestamp.nanos / 1e9, UTC)


def aggregate(config: GeneratorConfig) -> dict[str, ShopSeries]:
    """The shop-level hourly base KPIs of every shop, as the job would store them."""
    sums: dict[str, dict[int, list[float]]] = defaultdict(dict)
    product_sums: dict[str, dict[tuple[int, str], list[float]]] = defaultdict(dict)
    visitors: dict[tuple[str, int], set[str]] = defaultdict(set)
    minutes: dict[str, dict[int, list[float]]] = defaultdict(dict)
    zones: dict[str, str] = {}
    campaigns: dict[str, list[tuple[datetime, PlannedCampaign]]] = defaultdict(list)
    sell_outs: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    events: dict[str, int] = defaultdict(int)
    for event in generate_history(config):
        shop = event.shop_id
        zones[shop] = event.time_zone
        events[shop] += 1
        if event.WhichOneof("payload") == "catalog" and event.catalog.stock == 0:
            sell_outs[shop].append((_stamp(event.occurred_at), event.catalog.product_id))
        if (
            event.WhichOneof("payload") == "campaign"
            and event.campaign.action == events_pb2.CAMPAIGN_ACTION_PLANNED
        ):
            campaign = event.campaign
            campaigns[shop].append(
                (
                    _stamp(event.occurred_at),
                    PlannedCampaign(
                        campaign.campaign_id,
                        campaign.name,
                        _stamp(campaign.starts_at),
                        _stamp(campaign.ends_at),
                    ),
                )
            )
        parts = event_parts(event)
        if parts.day_only:
            continue
        counted_at = event.occurred_at.seconds - parts.earlier_seconds
        hour = int(buckets_for(counted_at, event.time_zone).hour.timestamp())
        row = sums[shop].get(hour)
        if row is None:
            row = sums[shop][hour] = [0.0] * len(BASE_KPIS)
        for part in parts.parts:
            if part.product_id == SHOP:
                index = _KPI_INDEX.get(part.kpi)
                if index is not None:
                    row[index] += part.numerator
                column = _CHECKOUT_COLUMNS.get(part.kpi)
                if column is not None:
                    minute = minutes[shop].setdefault(event.occurred_at.seconds // 60, [0.0, 0.0])
                    minute[column] += part.numerator
            elif part.kpi in PRODUCT_KPIS:
                key = (hour, part.product_id)
                product_row = product_sums[shop].setdefault(key, [0.0] * len(PRODUCT_KPIS))
                product_row[PRODUCT_KPIS.index(part.kpi)] += part.numerator
        for member in parts.members:
            if member.product_id == SHOP and member.kpi == "unique_visitors":
                visitors[(shop, hour)].add(member.member)
    for (shop, hour), members in visitors.items():
        sums[shop][hour][_KPI_INDEX["unique_visitors"]] = len(members)
    series = {}
    for shop, hours in sums.items():
        first, last = min(hours), max(hours)
        counts = np.zeros(((last - first) // 3600 + 1, len(BASE_KPIS)))
        for hour, row in hours.items():
            counts[(hour - first) // 3600] = row
        products = sorted({product for _, product in product_sums[shop]})
        column = {product: index for index, product in enumerate(products)}
        product_counts = np.zeros((len(counts), len(products), len(PRODUCT_KPIS)))
        for (hour, product), values in product_sums[shop].items():
            product_counts[(hour - first) // 3600, column[product]] = values
        series[shop] = ShopSeries(
            shop,
            zones[shop],
            datetime.fromtimestamp(first, UTC),
            counts,
            campaigns[shop],
            sell_outs[shop],
            events[shop],
            products,
            product_counts,
            np.array(
                [[minute, *counts] for minute, counts in sorted(minutes[shop].items())],
                dtype=np.float64,
            ).reshape(-1, 3),
        )
    return series


def _cache_key(config: GeneratorConfig) -> str:
    # The generator's own code is part of the key: a change to it makes a different world; and
    # so is the job's counting, which turns the world's events into the series.
    package = Path(shopee_generator.__file__).parent
    counting = [Path(inspect.getfile(f)) for f in (event_parts, buckets_for)]
    sources = [*sorted(package.rglob("*.py")), *counting]
    code = hashlib.sha256(b"".join(p.read_bytes() for p in sources))
    text = json.dumps(asdict(config), default=str, sort_keys=True) + "|v4|" + ",".join(BASE_KPIS)
    return hashlib.sha256((text + code.hexdigest()).encode()).hexdigest()[:16]


def load_series(config: GeneratorConfig) -> dict[str, ShopSeries]:
    """The aggregated series, from the cache when this config was aggregated before."""
    path = CACHE / f"{_cache_key(config)}.npz"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        arrays = np.load(path)
        meta = json.loads(meta_path.read_text())
        return {
            shop: ShopSeries(
                shop,
                info["time_zone"],
                datetime.fromisoformat(info["first_hour"]),
                arrays[shop],
                [
                    (
                        datetime.fromisoformat(planned),
                        PlannedCampaign(
                            c["campaign_id"],
                            c["name"],
                            datetime.fromisoformat(c["starts_at"]),
                            datetime.fromisoformat(c["ends_at"]),
                        ),
                    )
                    for planned, c in info["campaigns"]
                ],
                [(datetime.fromisoformat(at), product) for at, product in info["sell_outs"]],
                info["events"],
                info["products"],
                arrays[f"{shop}.products"],
                arrays[f"{shop}.minutes"],
            )
            for shop, info in meta.items()
        }
    series = aggregate(config)
    CACHE.mkdir(parents=True, exist_ok=True)
    arrays = {shop: s.counts for shop, s in series.items()}
    arrays.update({f"{shop}.products": s.product_counts for shop, s in series.items()})
    arrays.update({f"{shop}.minutes": s.checkout_minutes for shop, s in series.items()})
    np.savez_compressed(path, allow_pickle=False, **arrays)
    meta_path.write_text(
        json.dumps(
            {
                shop: {
                    "time_zone": s.time_zone,
                    "first_hour": s.first_hour.isoformat(),
                    "campaigns": [
                        (
                            planned.isoformat(),
                            {
                                "campaign_id": c.campaign_id,
                                "name": c.name,
                                "starts_at": c.starts_at.isoformat(),
                                "ends_at": c.ends_at.isoformat(),
                            },
                        )
                        for planned, c in s.campaigns
                    ],
                    "sell_outs": [(at.isoformat(), product) for at, product in s.sell_outs],
                    "events": s.events,
                    "products": s.products,
                }
                for shop, s in series.items()
            }
        )
    )
    return series


def closed_hours(series: ShopSeries) -> tuple[list[ClosedHour], list[ProductHour]]:
    """The shop's hours as the job reads them back: shop-level and per product."""
    zone = ZoneInfo(series.time_zone)
    by_hour = series.minutes_by_hour
    shop_hours, product_hours = [], []
    for index, row in enumerate(series.counts):
        start = series.first_hour + index * HOUR
        local = start.astimezone(zone).replace(tzinfo=None)
        shop_hours.append(
            ClosedHour(start, local, tuple(float(v) for v in row), tuple(by_hour[index]))
        )
        products = series.product_counts[index]
        product_hours.append(
            ProductHour(
                start,
                local,
                {
                    product: (float(views), float(carts), float(orders))
                    for product, (views, carts, orders) in zip(
                        series.products, products, strict=True
                    )
                    if views or carts or orders
                },
            )
        )
    return shop_hours, product_hours


def detect(
    series: ShopSeries, config: DetectorConfig, currency: str, market: str
) -> tuple[list[AnomalyReport], float]:
    """Every anomaly (its final report) the shop detector and the product watch raise over the
    shop's history, and the seconds it took, judging a day of closed hours at a time."""
    detector = ShopDetector(series.shop_id, config, currency, market)
    products = ProductWatch(series.shop_id, market)
    shop_hours, product_hours = closed_hours(series)
    pending = sorted(series.campaigns, key=lambda item: item[0])
    final: dict[str, AnomalyReport] = {}
    started = time.perf_counter()
    for offset in range(0, len(shop_hours), CHUNK_HOURS):
        chunk = shop_hours[offset : offset + CHUNK_HOURS]
        horizon = chunk[-1].start + HOUR
        known = [c for planned, c in pending if planned < horizon]
        pending = [(planned, c) for planned, c in pending if planned >= horizon]
        detector.campaigns.add(known)
        reports = detector.judge(chunk)
        explained = [(r.bucket_start, r.bucket_end) for r in reports]
        reports += products.judge(product_hours[offset : offset + CHUNK_HOURS], explained=explained)
        final.update((report.anomaly_id, report) for report in reports)
    return list(final.values()), time.perf_counter() - started


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _bucket_window(start: datetime, end: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """The incident's window widened to the hour buckets it touches."""
    first = buckets_for(int(start.timestamp()), time_zone).hour
    last = buckets_for(int((end - timedelta(seconds=1)).timestamp()), time_zone).hour
    return first, last + HOUR


@dataclass
class Scores:
    incidents: dict[str, list[tuple[dict[str, Any], bool]]]
    anomalies: int
    true_anomalies: int
    during_stock_out: int
    on_mega_sale_days: int
    false_examples: list[AnomalyReport]

    def recall(self, kinds: tuple[str, ...] = COVERED) -> float:
        found = [hit for kind in kinds for _, hit in self.incidents.get(kind, [])]
        return sum(found) / len(found) if found else float("nan")

    @property
    def precision(self) -> float:
        return self.true_anomalies / self.anomalies if self.anomalies else float("nan")


@dataclass(frozen=True)
class _Window:
    kind: str
    start: datetime
    end: datetime
    product_id: str | None

    def matched_by(self, report: AnomalyReport) -> bool:
        """Overlaps the report: a stock-out only by a report of its product, the shop-level
        incidents only by shop-level reports."""
        overlaps = report.bucket_start < self.end and self.start < report.bucket_end
        return overlaps and report.product_id == (self.product_id or "")


def score(reports: list[AnomalyReport], labels: dict[str, Any], zones: dict[str, str]) -> Scores:
    windows: dict[str, list[_Window]] = defaultdict(list)
    incidents: dict[str, list[tuple[dict[str, Any], bool]]] = defaultdict(list)
    for incident in labels["incidents"]:
        shop = incident["shop_id"]
        start, end = _bucket_window(_parse(incident["start"]), _parse(incident["end"]), zones[shop])
        window = _Window(incident["kind"], start, end, incident["product_id"])
        windows[shop].append(window)
        hit = any(r.shop_id == shop and window.matched_by(r) for r in reports)
        incidents[incident["kind"]].append((incident, hit))

    def matches(report: AnomalyReport, kinds: tuple[str, ...] = COVERED) -> bool:
        return any(w.kind in kinds and w.matched_by(report) for w in windows[report.shop_id])

    def on_mega_sale(report: AnomalyReport) -> bool:
        zone = ZoneInfo(zones[report.shop_id])
        first = report.bucket_start.astimezone(zone).date()
        last = (report.bucket_end - timedelta(seconds=1)).astimezone(zone).date()
        return any(is_mega_sale(first + timedelta(days=d)) for d in range((last - first).days + 1))

    false = [r for r in reports if not matches(r)]
    stock_outs = [w for shop in windows.values() for w in shop if w.kind == "stock_out"]
    return Scores(
        incidents=dict(incidents),
        anomalies=len(reports),
        true_anomalies=len(reports) - len(false),
        during_stock_out=sum(
            any(w.start < r.bucket_end and r.bucket_start < w.end for w in stock_outs)
            for r in false
        ),
        on_mega_sale_days=sum(on_mega_sale(r) and not matches(r, ALL_KINDS) for r in reports),
        false_examples=false,
    )


def _held(all_series: dict[str, ShopSeries], incident: dict[str, Any]) -> str:
    """What a missed incident left in the data: failed checkouts, a product's lost carts."""
    series = all_series[incident["shop_id"]]
    rows = _outage_rows(series, incident)
    hours = f"{rows.stop - rows.start} h"
    if incident["kind"] == "stock_out":
        column = series.products.index(incident["product_id"])
        views, carts, _ = series.product_counts[rows, column].sum(axis=0)
        return f"{hours}, {views:.0f} views of the product, {carts:.0f} add-to-carts"
    part = series.counts[rows]
    checkouts = part[:, BASE_KPIS.index("checkout_starts")].sum()
    created = part[:, BASE_KPIS.index("created_orders")].sum()
    return (
        f"{hours}, {checkouts:.0f} checkouts started, {created:.0f} orders created, "
        f"longest run of failed checkouts {_longest_run(series, rows):.0f}"
    )


def _longest_run(series: ShopSeries, rows: slice) -> float:
    """The longest run of failed checkouts (as the detector follows them) that grew in the
    hours of `rows`."""
    return max(
        (run.checkouts for index, run in series.failed_runs if rows.start <= index < rows.stop),
        default=0.0,
    )


def _outage_rows(series: ShopSeries, incident: dict[str, Any]) -> slice:
    start, end = _bucket_window(
        _parse(incident["start"]), _parse(incident["end"]), series.time_zone
    )
    return slice(int((start - series.first_hour) / HOUR), int((end - series.first_hour) / HOUR))


def run_census(
    all_series: dict[str, ShopSeries], outages: list[dict[str, Any]]
) -> tuple[list[float], Counter[int]]:
    """The longest run of failed checkouts inside each labelled outage, and how many runs of
    each length the rest of the world holds (a run: the detector's, grown in one or more hours,
    inside when any of those hours is an outage's)."""
    inside = sorted(
        _longest_run(all_series[o["shop_id"]], _outage_rows(all_series[o["shop_id"]], o))
        for o in outages
    )
    outside: Counter[int] = Counter()
    for shop_id, series in all_series.items():
        windows = [_outage_rows(series, o) for o in outages if o["shop_id"] == shop_id]
        runs: dict[datetime, tuple[float, bool]] = {}
        for index, run in series.failed_runs:
            longest, hit = runs.get(run.start, (0.0, False))
            runs[run.start] = (
                max(longest, run.checkouts),
                hit or any(w.start <= index < w.stop for w in windows),
            )
        outside.update(int(length) for length, hit in runs.values() if not hit)
    return inside, outside


def _sold_out_near(series: ShopSeries, report: AnomalyReport) -> str:
    """Products whose stock reached 0 from 12 h before the anomaly to its end."""
    near = sorted(
        {
            product
            for at, product in series.sell_outs
            if report.bucket_start - 12 * HOUR <= at < report.bucket_end
        }
    )
    return f"; stock of {', '.join(near)} reached 0 just before or during it" if near else ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--end", type=date.fromisoformat, default=DEFAULT_END)
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    parser.add_argument("--shops", type=int, default=4)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--min-evidence", type=float, default=DetectorConfig().min_evidence, help="see the docs"
    )
    options = parser.parse_args()
    world = GeneratorConfig.ending(
        options.end, days=options.days, shops=options.shops, scale=options.scale, seed=options.seed
    )
    print(f"machine: {describe_machine()}")
    print(
        f"world: seed {world.seed}, {world.shops} shops, {world.days} days "
        f"{world.start}..{world.last_day}, scale {world.scale}"
    )
    started = time.perf_counter()
    series = load_series(world)
    hours = sum(len(s.counts) for s in series.values())
    print(
        f"series: {sum(s.events for s in series.values()):,} events -> {hours:,} shop-hours "
        f"({time.perf_counter() - started:.0f} s; cached in {CACHE.relative_to(ROOT)})"
    )
    labels = json.loads(build_labels(world).to_json())
    shops = {s["shop_id"]: s for s in labels["shops"]}
    config = DetectorConfig(min_evidence=options.min_evidence)
    reports: list[AnomalyReport] = []
    seconds = 0.0
    for shop_id, shop_series in series.items():
        found, took = detect(
            shop_series, config, shops[shop_id]["currency"], shops[shop_id]["market"]
        )
        reports.extend(found)
        seconds += took
    print(
        f"detection: {hours:,} hours judged in {seconds:.1f} s "
        f"({seconds / hours * 1e6:.0f} us/hour, pyod import and refits included)"
    )
    zones = {shop_id: s.time_zone for shop_id, s in series.items()}
    scores = score(reports, labels, zones)
    print(f"\n{'incident kind':<34}{'labelled':>9}{'found':>7}{'recall':>8}")
    for kind, items in sorted(scores.incidents.items()):
        hits = sum(hit for _, hit in items)
        covered = "" if kind in COVERED else " (not covered)"
        print(f"{kind + covered:<34}{len(items):>9}{hits:>7}{hits / len(items):>8.2f}")
    covered_incidents = [hit for kind in COVERED for _, hit in scores.incidents.get(kind, [])]
    print(
        f"\ncovered kinds ({', '.join(COVERED)}): recall {scores.recall():.2f} "
        f"({sum(covered_incidents)}/{len(covered_incidents)}), precision {scores.precision:.2f} "
        f"({scores.true_anomalies}/{scores.anomalies} anomalies overlap one)"
    )
    print(f"anomalies on mega-sale days outside labelled incidents: {scores.on_mega_sale_days}")
    print(f"unlabelled anomalies overlapping a stock-out window: {scores.during_stock_out}")
    print("\nanomalies outside labelled incidents:")
    for report in scores.false_examples:
        print(
            f"  {report.shop_id} {report.bucket_start:%Y-%m-%d %H:%M}Z "
            f"+{(report.bucket_end - report.bucket_start) / HOUR:.0f} h: {report.explanation}"
            f"{_sold_out_near(series[report.shop_id], report)}"
        )
    inside, outside = run_census(
        series, [i for i in labels["incidents"] if i["kind"] == "checkout_outage"]
    )
    print(
        "\nruns of failed checkouts, as the detector follows them: the longest inside each "
        f"labelled outage {', '.join(f'{n:.0f}' for n in inside)}; elsewhere, by length: "
        + ", ".join(
            f"{length}: {count}" for length, count in sorted(outside.items()) if length >= 3
        )
    )
    print("\nmissed incidents (what the data holds in their hour buckets):")
    for kind, items in sorted(scores.incidents.items()):
        for incident, hit in items:
            if not hit:
                print(
                    f"  {kind} {incident['shop_id']} {incident['start']}: {_held(series, incident)}"
                )


if __name__ == "__main__":
    main()
