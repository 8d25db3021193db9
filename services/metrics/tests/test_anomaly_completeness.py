"""Which hours are closed, and when a shop's data is incomplete instead of anomalous."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shopee_metrics.domain.anomalies import SourceMark, closed_until, incompleteness

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
QUIET = timedelta(minutes=2)
SETTLED = timedelta(hours=1)


def mark(source: str, behind: timedelta, counted_ago: timedelta) -> SourceMark:
    """A source whose newest event is `behind` the wall clock, counted `counted_ago`."""
    return SourceMark(source, NOW - behind, NOW - counted_ago)


def test_nothing_is_closed_without_orders_or_traffic() -> None:
    assert closed_until([], NOW, QUIET, SETTLED) is None
    assert closed_until([mark("chat", timedelta(0), timedelta(0))], NOW, QUIET, SETTLED) is None


def test_a_busy_source_holds_the_shop_back_a_quiet_one_does_not() -> None:
    traffic = mark("traffic", timedelta(minutes=1), timedelta(seconds=5))
    busy_orders = mark("order", timedelta(hours=3), timedelta(seconds=5))
    quiet_orders = mark("order", timedelta(hours=3), timedelta(minutes=30))
    # A replay reading the orders topic behind the traffic topic: orders decide.
    assert closed_until([traffic, busy_orders], NOW, QUIET, SETTLED) == busy_orders.watermark
    # No order counted for half an hour while traffic flows: a quiet night or an outage; the
    # hours close on traffic, so an outage gets judged.
    assert closed_until([traffic, quiet_orders], NOW, QUIET, SETTLED) == traffic.watermark


def test_just_after_a_start_every_source_counts_as_busy() -> None:
    traffic = mark("traffic", timedelta(minutes=1), timedelta(minutes=30))
    orders = mark("order", timedelta(hours=3), timedelta(minutes=30))
    campaigns = mark("campaign", timedelta(hours=1), timedelta(minutes=30))
    just_started = timedelta(seconds=10)
    assert closed_until([traffic, orders, campaigns], NOW, QUIET, just_started) == (
        orders.watermark
    )
    # A source never seen may not have been read yet: nothing closes until the job settled.
    assert closed_until([traffic], NOW, QUIET, just_started) is None
    assert closed_until([traffic], NOW, QUIET, SETTLED) == traffic.watermark


def test_campaign_events_hold_hours_open_only_while_being_read() -> None:
    traffic = mark("traffic", timedelta(minutes=1), timedelta(seconds=1))
    orders = mark("order", timedelta(minutes=2), timedelta(seconds=1))
    campaigns = mark("campaign", timedelta(hours=5), timedelta(seconds=1))
    assert closed_until([traffic, orders, campaigns], NOW, QUIET, SETTLED) == campaigns.watermark
    idle = mark("campaign", timedelta(hours=5), timedelta(hours=1))
    assert closed_until([traffic, orders, idle], NOW, QUIET, SETTLED) == orders.watermark


def test_a_replay_of_history_is_never_incomplete() -> None:
    replayed = [mark("traffic", timedelta(days=30), timedelta(days=2))]
    assert incompleteness(replayed, NOW, timedelta(hours=1), timedelta(minutes=30)) is None


def test_a_live_shop_that_stopped_is_incomplete_with_its_lag() -> None:
    stopped = [
        mark("traffic", timedelta(hours=2), timedelta(hours=2) - timedelta(seconds=3)),
        mark("order", timedelta(hours=3), timedelta(hours=3)),
    ]
    signal = incompleteness(stopped, NOW, timedelta(hours=1), timedelta(minutes=30))
    assert signal is not None
    assert signal.since == NOW - timedelta(hours=2)
    assert signal.lag_seconds == 7200
    assert signal.reason == "no events for 119 min"


def test_a_live_shop_whose_events_come_late_is_incomplete() -> None:
    late = [mark("traffic", timedelta(minutes=50), timedelta(seconds=2))]
    signal = incompleteness(late, NOW, timedelta(hours=1), timedelta(minutes=30))
    assert signal is not None
    assert signal.reason == "events arrive 50 min late"


def test_a_live_shop_within_the_threshold_is_complete() -> None:
    flowing = [mark("traffic", timedelta(minutes=5), timedelta(minutes=5))]
    assert incompleteness(flowing, NOW, timedelta(hours=1), timedelta(minutes=30)) is None
