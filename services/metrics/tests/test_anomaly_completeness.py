"""Which hours are closed, and when a shop's data is incomplete instead of anomalous."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from shopee_metrics.domain.anomalies import SourceMark, closed_until, incompleteness

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
QUIET = timedelta(minutes=2)
CAUGHT_UP: frozenset[str] = frozenset()


def mark(source: str, behind: timedelta, counted_ago: timedelta) -> SourceMark:
    """A source whose newest event is `behind` the wall clock, counted `counted_ago`."""
    return SourceMark(source, NOW - behind, NOW - counted_ago)


def test_nothing_is_closed_without_orders_or_traffic() -> None:
    assert closed_until([], NOW, QUIET, CAUGHT_UP) is None
    assert closed_until([mark("chat", timedelta(0), timedelta(0))], NOW, QUIET, CAUGHT_UP) is None


def test_a_busy_source_holds_the_shop_back_a_quiet_one_does_not() -> None:
    traffic = mark("traffic", timedelta(minutes=1), timedelta(seconds=5))
    busy_orders = mark("order", timedelta(hours=3), timedelta(seconds=5))
    quiet_orders = mark("order", timedelta(hours=3), timedelta(minutes=30))
    # Orders counted moments ago may be followed by more: they decide.
    assert closed_until([traffic, busy_orders], NOW, QUIET, CAUGHT_UP) == busy_orders.watermark
    # No order counted for half an hour while traffic flows, every topic read to its end: a
    # quiet night or an outage; the hours close on traffic, so an outage gets judged.
    assert closed_until([traffic, quiet_orders], NOW, QUIET, CAUGHT_UP) == traffic.watermark


def test_a_source_with_unread_records_is_never_quiet() -> None:
    traffic = mark("traffic", timedelta(minutes=1), timedelta(seconds=1))
    # A replay reading the traffic topic ahead of a stalled orders topic: however long since an
    # order was counted, the unread orders decide.
    stalled_orders = mark("order", timedelta(hours=3), timedelta(minutes=30))
    assert closed_until([traffic, stalled_orders], NOW, QUIET, {"order"}) == (
        stalled_orders.watermark
    )
    # A source never counted may only not have been read yet: nothing closes while it has
    # unread records; with its topic read to the end, the shop has none.
    assert closed_until([traffic], NOW, QUIET, {"order"}) is None
    assert closed_until([traffic], NOW, QUIET, CAUGHT_UP) == traffic.watermark


def test_campaign_events_hold_hours_open_only_while_being_read() -> None:
    traffic = mark("traffic", timedelta(minutes=1), timedelta(seconds=1))
    orders = mark("order", timedelta(minutes=2), timedelta(seconds=1))
    campaigns = mark("campaign", timedelta(hours=5), timedelta(seconds=1))
    assert closed_until([traffic, orders, campaigns], NOW, QUIET, CAUGHT_UP) == (
        campaigns.watermark
    )
    idle = mark("campaign", timedelta(hours=5), timedelta(hours=1))
    assert closed_until([traffic, orders, idle], NOW, QUIET, CAUGHT_UP) == orders.watermark
    assert closed_until([traffic, orders, idle], NOW, QUIET, {"campaign"}) == idle.watermark


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


def test_a_silence_is_a_stall_only_where_the_baseline_expected_enough_visitors() -> None:
    stopped = [mark("traffic", timedelta(hours=2), timedelta(hours=2))]
    windows: list[tuple[datetime, datetime]] = []

    def baseline(visitors: float | None) -> Callable[[datetime, datetime], float | None]:
        def expected(start: datetime, end: datetime) -> float | None:
            windows.append((start, end))
            return visitors

        return expected

    quiet = incompleteness(stopped, NOW, timedelta(hours=1), timedelta(minutes=30), baseline(12.0))
    assert quiet is None, "a small shop's quiet night"
    assert windows == [(NOW - timedelta(hours=2), NOW)], "asked about the silence itself"
    any_silence = incompleteness(
        stopped, NOW, timedelta(hours=1), timedelta(minutes=30), baseline(12.0), 0.0
    )
    assert any_silence is not None, "with no bar, the time rule alone"
    busy = incompleteness(
        stopped, NOW, timedelta(hours=1), timedelta(minutes=30), baseline(1_234.0)
    )
    assert busy is not None
    assert busy.reason == "no events for 2.0 h where 1,234 visitors were expected"
    unknown = incompleteness(
        stopped, NOW, timedelta(hours=1), timedelta(minutes=30), baseline(None)
    )
    assert unknown is not None
    assert unknown.reason == "no events for 2.0 h"


def test_a_short_stall_is_said_in_seconds() -> None:
    """With a stall threshold under two minutes (a test's, an impatient operator's)."""
    stopped = [mark("order", timedelta(seconds=75), timedelta(seconds=75))]
    signal = incompleteness(stopped, NOW, timedelta(hours=1), timedelta(seconds=30))
    assert signal is not None
    assert signal.reason == "no events for 75 s"


def test_a_live_shop_within_the_threshold_is_complete() -> None:
    flowing = [mark("traffic", timedelta(minutes=5), timedelta(minutes=5))]
    assert incompleteness(flowing, NOW, timedelta(hours=1), timedelta(minutes=30)) is None
