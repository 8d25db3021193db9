"""Runs of failed checkouts, to the minute: what ends a run, what waits for the next hour, and
how a run weighs against the hour windows' counts."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from shopee_metrics.domain.anomalies.checkout_runs import CheckoutMinute, CheckoutRuns, FailedRun
from shopee_metrics.domain.anomalies.evidence import WindowSums, checkout

NOON = datetime(2026, 5, 4, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def minutes(*rows: tuple[int, float, float]) -> tuple[CheckoutMinute, ...]:
    return tuple(CheckoutMinute(*row) for row in rows)


def test_checkouts_without_an_order_after_them_make_a_run_that_an_order_ends() -> None:
    runs = CheckoutRuns(lag_minutes=5)
    # 12:10 converts (order at 12:12); 12:20, 12:30 (two) and 12:40 do not; 12:50 converts.
    hour = minutes((10, 1, 0), (12, 0, 1), (20, 1, 0), (30, 2, 0), (40, 1, 0), (50, 1, 0))
    hour += minutes((51, 0, 1))
    assert runs.add_hour(NOON, hour) == FailedRun(NOON + timedelta(minutes=20), 4)


def test_the_last_minutes_of_an_hour_wait_for_the_next_hour_s_orders() -> None:
    runs = CheckoutRuns(lag_minutes=5)
    assert runs.add_hour(NOON, minutes((30, 1, 0), (57, 1, 0))) == FailedRun(
        NOON + timedelta(minutes=30), 1
    )
    # 12:57's order came at 13:01: it was no failure, and it ends the run.
    assert runs.add_hour(NOON + HOUR, minutes((1, 0, 1), (20, 1, 0))) == FailedRun(
        NOON + HOUR + timedelta(minutes=20), 1
    )


def test_a_run_grows_across_hours_and_minutes_with_only_orders_do_not_end_it() -> None:
    runs = CheckoutRuns(lag_minutes=5)
    runs.add_hour(NOON, minutes((40, 2, 0), (50, 1, 0)))
    # An order at 13:30 comes long after any checkout of the run: it says nothing of them.
    second = runs.add_hour(NOON + HOUR, minutes((10, 1, 0), (30, 0, 1), (45, 2, 0)))
    assert second == FailedRun(NOON + timedelta(minutes=40), 6)
    assert runs.add_hour(NOON + 2 * HOUR, ()) is None


def test_an_order_in_the_checkout_s_own_minute_counts_as_its_order() -> None:
    runs = CheckoutRuns(lag_minutes=5)
    assert runs.add_hour(NOON, minutes((10, 1, 1))) is None


def test_a_run_is_judged_when_it_says_more_than_the_window_s_counts(
    ordinary: WindowSums,
) -> None:
    # 12 checkouts, 5 orders: the hours alone are unusual, not alarming.
    window = replace(ordinary, checkout_starts=12, created_orders=5, expected_created=10.8)
    hours_only = checkout(window, 0.5)
    with_run = checkout(replace(window, failed_run=7), 0.5)
    assert hours_only is not None
    assert with_run is not None
    assert not hours_only.consecutive
    # Seven failures in a row at 90% completion: (0.1)^7.
    assert with_run.consecutive
    assert math.isclose(with_run.evidence, -7.0)
    assert with_run.evidence < hours_only.evidence
    assert (with_run.observed, with_run.attempts, with_run.harmful) == (0.0, 7.0, True)
    assert math.isclose(with_run.expected, 6.3)


def test_a_short_run_never_stands_for_the_window(ordinary: WindowSums) -> None:
    # Two failed checkouts in a row is a buyer retrying a declined card, whatever the rate.
    almost_certain = replace(
        ordinary, checkout_starts=12, created_orders=11, expected_created=11.9, failed_run=2
    )
    judged = checkout(almost_certain, 0.5)
    assert judged is not None
    assert not judged.consecutive
