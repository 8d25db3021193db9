"""The detector on synthetic shops: outages and bots found and explained, planned spikes and
incomplete data not called anomalies, a restart judging like an uninterrupted run."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from shopee_metrics.domain.anomalies import (
    AnomalyReport,
    ClosedHour,
    DetectorConfig,
    PlannedCampaign,
    Severity,
    ShopDetector,
)
from shopee_metrics.domain.anomalies.checkout_runs import CheckoutMinute

ZONE = ZoneInfo("Asia/Jakarta")
# Monday 2026-05-04 00:00 in Jakarta; six weeks of history before the day under test.
FIRST = datetime(2026, 5, 4, tzinfo=ZONE).astimezone(UTC)
HISTORY_HOURS = 6 * 7 * 24
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
# Share of a day's visits per local hour: quiet nights, busy evenings.
PROFILE = np.array(
    [
        2,
        1,
        1,
        0.5,
        0.5,
        0.6,
        1,
        1.7,
        2.5,
        3,
        3.6,
        3.9,
        4.4,
        4.2,
        3.8,
        3.6,
        3.6,
        3.8,
        4,
        4.6,
        5.3,
        5.8,
        5.2,
        3.8,
    ]
)
PROFILE = PROFILE / PROFILE.mean()


@dataclass(frozen=True)
class Funnel:
    """How one synthetic hour turns visitors into orders."""

    visitors: float = 100.0
    views_per_visitor: float = 1.5
    add_to_cart: float = 0.066
    checkout: float = 0.6
    completion: float = 0.9
    paid: float = 0.95


def hour(start: datetime, funnel: Funnel, rng: np.random.Generator) -> ClosedHour:
    local = start.astimezone(ZONE).replace(tzinfo=None)
    visitors = int(rng.poisson(funnel.visitors * PROFILE[local.hour]))
    views = int(rng.poisson(visitors * funnel.views_per_visitor))
    carts = int(rng.binomial(views, funnel.add_to_cart))
    checkouts = int(rng.binomial(carts, funnel.checkout))
    created = int(rng.binomial(checkouts, funnel.completion))
    paid = int(rng.binomial(created, funnel.paid))
    gmv = float(sum(rng.integers(20_000, 120_000, paid))) * 100
    counts = (visitors, visitors * 0.3, views, carts, checkouts, created, paid, gmv)
    return ClosedHour(start, local, tuple(float(c) for c in counts))


def shop_hours(
    hours: int, seed: int = 1, change: Callable[[int], Funnel] | None = None
) -> list[ClosedHour]:
    """`hours` hours from FIRST; `change(i)` gives hour i's funnel (default: ordinary)."""
    rng = np.random.default_rng(seed)
    return [hour(FIRST + i * HOUR, change(i) if change else Funnel(), rng) for i in range(hours)]


def detector() -> ShopDetector:
    return ShopDetector("shop-1", DetectorConfig(), currency="IDR")


def judged_day(day_change: Callable[[int], Funnel], seed: int = 1) -> list[AnomalyReport]:
    """Six ordinary weeks, then one day whose hours (0-23, local) follow `day_change`."""
    hours = shop_hours(
        HISTORY_HOURS + 24,
        seed,
        lambda i: day_change(i - HISTORY_HOURS) if i >= HISTORY_HOURS else Funnel(),
    )
    return detector().judge(hours)


def final(reports: list[AnomalyReport]) -> dict[str, AnomalyReport]:
    latest: dict[str, AnomalyReport] = {}
    for report in reports:
        latest[report.anomaly_id] = report
    return latest


def test_ordinary_weeks_raise_nothing() -> None:
    assert judged_day(lambda _: Funnel()) == []


def test_a_checkout_outage_is_one_anomaly_that_walks_the_tree() -> None:
    broken = replace(Funnel(), completion=0.02)
    reports = judged_day(lambda h: broken if 12 <= h < 15 else Funnel())
    anomalies = final(reports)
    assert len(anomalies) == 1, [r.explanation for r in anomalies.values()]
    (anomaly,) = anomalies.values()
    outage_start = FIRST + (HISTORY_HOURS + 12) * HOUR
    assert anomaly.bucket_start == outage_start
    assert anomaly.bucket_end == outage_start + 3 * HOUR
    assert {"gmv", "conversion_rate", "created_orders"} <= set(anomaly.kpis)
    assert anomaly.severity is Severity.CRITICAL
    text = anomaly.explanation
    assert text.startswith("GMV ")
    assert "below expected" in text.split(";")[0]
    assert "visitors normal" in text
    assert "conversion fell from" in text
    assert "checkouts started" in text
    # Reported as it grew: first the first hour(s), then the same id with a later end.
    assert reports[0].first
    assert not reports[-1].first
    assert reports[0].anomaly_id == reports[-1].anomaly_id
    observed = {o.kpi: o for o in anomaly.observations}
    assert observed["created_orders"].observed < observed["created_orders"].expected_low
    low, high = observed["unique_visitors"].expected_low, observed["unique_visitors"].expected_high
    assert low <= observed["unique_visitors"].observed <= high


def test_a_bot_spike_is_more_visitors_who_do_not_buy() -> None:
    def bots(h: int) -> Funnel:
        if 10 <= h < 12:
            return replace(Funnel(), visitors=1000.0, add_to_cart=0.006, checkout=0.6)
        return Funnel()

    (anomaly,) = final(judged_day(bots)).values()
    assert "unique_visitors" in anomaly.kpis
    assert "add_to_cart_rate" in anomaly.kpis
    assert "x expected" in anomaly.explanation
    assert "add-to-cart rate fell" in anomaly.explanation
    assert anomaly.severity is not Severity.INFO


def test_a_planned_mega_sale_spike_is_not_an_anomaly_but_an_outage_during_it_is() -> None:
    # Six ordinary weeks, then 9.9 with 4.5 times the visitors, who buy more than usual.
    sale = datetime(2026, 9, 9, tzinfo=ZONE).astimezone(UTC)
    first = sale - HISTORY_HOURS * HOUR
    busy = replace(Funnel(), visitors=450.0, add_to_cart=0.09)

    def hours(outage: bool) -> list[ClosedHour]:
        rng = np.random.default_rng(7)
        result = []
        for i in range(HISTORY_HOURS + 24):
            funnel = busy if i >= HISTORY_HOURS else Funnel()
            if outage and i >= HISTORY_HOURS + 14 and i < HISTORY_HOURS + 16:
                funnel = replace(busy, completion=0.02)
            result.append(hour(first + i * HOUR, funnel, rng))
        return result

    assert detector().judge(hours(outage=False)) == []
    (anomaly,) = final(detector().judge(hours(outage=True))).values()
    assert "planned: the 9.9 mega sale" in anomaly.explanation
    assert "conversion fell" in anomaly.explanation
    assert "created_orders" in anomaly.kpis


def test_a_planned_campaign_spike_is_not_an_anomaly_but_bots_during_it_are() -> None:
    start = FIRST + (HISTORY_HOURS + 12) * HOUR
    campaign = PlannedCampaign("fs-1", "Flash Sale 12:00-14:00", start, start + 2 * HOUR)
    crowd = replace(Funnel(), visitors=400.0)
    bots = replace(Funnel(), visitors=900.0, add_to_cart=0.007)
    for funnel, raised in ((crowd, False), (bots, True)):

        def during_campaign(i: int, funnel: Funnel = funnel) -> Funnel:
            return funnel if 0 <= i - HISTORY_HOURS - 12 < 2 else Funnel()

        hours = shop_hours(HISTORY_HOURS + 24, change=during_campaign)
        shop = detector()
        shop.campaigns.add([campaign])
        assert bool(shop.judge(hours)) is raised


def test_hours_of_incomplete_data_are_not_judged() -> None:
    broken = replace(Funnel(), completion=0.02)
    hours = shop_hours(
        HISTORY_HOURS + 24,
        change=lambda i: broken if 0 <= i - HISTORY_HOURS - 9 < 5 else Funnel(),
    )
    gap_start = FIRST + (HISTORY_HOURS + 9) * HOUR
    assert final(detector().judge(hours))  # judged, five hours of failed checkouts raise
    assert detector().judge(hours, [(gap_start, gap_start + 5 * HOUR)]) == []


def test_hours_without_a_single_event_are_missing_data_not_a_drop() -> None:
    """A day's history imported up to midnight and live events from the evening: the hours
    between have no event at all, where a hundred visitors an hour were expected."""
    silent = replace(Funnel(), visitors=0.0)
    hours = shop_hours(
        HISTORY_HOURS + 24, change=lambda i: silent if 0 <= i - HISTORY_HOURS < 21 else Funnel()
    )
    judging = detector()
    assert judging.judge(hours) == []
    (missing,) = judging.take_missing()
    day = FIRST + HISTORY_HOURS * HOUR
    assert (missing.start, missing.end) == (day, day + 21 * HOUR)
    assert missing.expected_visitors > 21 * 20
    assert judging.take_missing() == []
    replayed = detector()
    replayed.warm_up(hours)
    assert replayed.take_missing() == []  # said when first judged, not on a replay
    # Traffic that falls to a trickle is still judged: a few visitors are not missing data.
    trickle = replace(Funnel(), visitors=2.0)
    assert final(judged_day(lambda i: trickle if 9 <= i < 14 else Funnel()))


def test_a_restart_judges_the_next_hours_as_an_uninterrupted_run() -> None:
    broken = replace(Funnel(), completion=0.02)
    warm_up = DetectorConfig().warm_up_hours
    split = warm_up + 500  # the restart replays only the last `warm_up` hours before it
    earlier, later = split - 200, split + 10  # an outage in the replayed hours, one after

    def outages(i: int) -> Funnel:
        return broken if 0 <= i - earlier < 3 or 0 <= i - later < 3 else Funnel()

    hours = shop_hours(split + 24, seed=3, change=outages)
    uninterrupted = detector().judge(hours)
    before = detector()
    raised_before = before.judge(hours[:split])
    assert {r.bucket_start for r in raised_before} == {hours[earlier].start}
    restarted = ShopDetector("shop-1", DetectorConfig(), currency="IDR", state=before.state())
    restarted.warm_up(hours[split - warm_up : split])
    after = restarted.judge(hours[split:])
    assert after == [r for r in uninterrupted if r.bucket_end > hours[split].start]
    assert {r.bucket_start for r in after} == {hours[later].start}


def test_too_short_a_history_is_not_judged() -> None:
    broken = replace(Funnel(), completion=0.0)
    hours = shop_hours(100, change=lambda i: broken if i >= 90 else Funnel())
    assert detector().judge(hours) == []


def _outage_minutes(checkouts: list[int], failed: set[int]) -> tuple[CheckoutMinute, ...]:
    """Checkouts at the given minutes of an hour; each not in `failed` has its order a minute
    later."""
    rows = []
    for minute in checkouts:
        rows.append(CheckoutMinute(minute, 1.0, 0.0))
        if minute not in failed:
            rows.append(CheckoutMinute(minute + 1, 0.0, 1.0))
    return tuple(rows)


def test_an_outage_across_an_hour_boundary_is_found_to_the_minute() -> None:
    # 12:40 to 13:30: the eight checkouts in it became no order; the nine around it did. The
    # hours alone say 17 checkouts and 9 orders: unlikely (1e-4), not enough to raise.
    rng = np.random.default_rng(5)
    hours = shop_hours(HISTORY_HOURS + 24)
    noon = HISTORY_HOURS + 12
    for index, (at, failed) in {
        noon: ([5, 12, 20, 28, 35, 41, 47, 52, 58], {41, 47, 52, 58}),
        noon + 1: ([3, 11, 19, 26, 34, 42, 50, 56], {3, 11, 19, 26}),
    }.items():
        paid = len(at) - len(failed)
        counts = list(hours[index].counts)
        counts[4:8] = [len(at), paid, paid, float(sum(rng.integers(20_000, 120_000, paid))) * 100]
        hours[index] = replace(
            hours[index],
            counts=tuple(counts),
            checkout_minutes=_outage_minutes(at, failed),
        )
    (anomaly,) = final(detector().judge(hours)).values()
    assert anomaly.bucket_start == FIRST + noon * HOUR
    assert "created_orders" in anomaly.kpis
    assert re.search(
        r"8 checkouts in a row became no order \(usually 9\d% do\)", anomaly.explanation
    )
    hours_only = [replace(h, checkout_minutes=()) for h in hours]
    assert detector().judge(hours_only) == []


def test_a_run_in_the_open_hour_raises_early_and_changes_nothing() -> None:
    hours = shop_hours(HISTORY_HOURS + 13)
    closed, open_hour = hours[:-1], hours[-1]
    failed = _outage_minutes([5, 12, 20, 28, 35, 41], {5, 12, 20, 28, 35, 41})
    peeked, untouched = detector(), detector()
    peeked.judge(closed)
    untouched.judge(closed)
    minutes = {open_hour.start: failed}
    # At 12:45 the checkouts up to 12:39 are settled (an order may follow within 5 minutes).
    report = peeked.open_checkout_run(minutes, open_hour.start + 45 * MINUTE, ZONE)
    assert report is not None
    assert report.bucket_start == open_hour.start
    assert report.explanation.startswith("orders stopped: 5 checkouts in a row since 12:05 ")
    assert peeked.open_checkout_run(minutes, open_hour.start + 30 * MINUTE, ZONE) is None
    # The hour, once closed, raises the same anomaly, as if nobody had looked before.
    closed_hour = replace(open_hour, checkout_minutes=failed)
    after_peek = peeked.judge([closed_hour])
    assert after_peek == untouched.judge([closed_hour])
    assert [r.anomaly_id for r in after_peek] == [report.anomaly_id]
