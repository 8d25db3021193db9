"""Runs of checkouts that became no order, at minute resolution (pure).

An hour bucket mixes a checkout outage with the ordinary minutes around it: a two-hour outage
from 10:45 shares its first and last buckets with the orders of 10:00-10:45 and after it ends,
so the hour windows see "9 checkouts, 4 orders" where the outage itself was "5 checkouts in a
row, no order". The minute rows keep the difference.

A checkout minute counts as failed when no order was created in it or in the `lag_minutes`
after it (an order follows its checkout within a few minutes); a run is the checkouts of
consecutive failed checkout minutes, and any checkout minute followed by an order ends it.
Minutes with orders and no checkout do not matter. A checkout minute is settled only once the
minutes after it up to the lag are known, so the last `lag_minutes` of the newest hour wait for
the next one.

Under ordinary operation, with completion rate p, a run of n checkouts has probability
(1 - p)^n, hence evidence n x -log10(1 - p) (evidence.checkout weighs it against the hour
windows' binomial tail).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MINUTE = 60
# The shop-level kpi_minute rows a run is read from: (checkouts, orders).
CHECKOUT_KPIS = ("checkout_starts", "created_orders")


@dataclass(frozen=True, slots=True)
class CheckoutMinute:
    """A minute of one shop's hour with a checkout started or an order created."""

    minute: int  # of the hour, 0 to 59
    checkouts: float
    orders: float


@dataclass(frozen=True, slots=True)
class FailedRun:
    """Consecutive checkouts with no order after them, from the minute `start` (UTC)."""

    start: datetime
    checkouts: float


class CheckoutRuns:
    """Follows one shop's failed-checkout run across its closed hours, in time order."""

    def __init__(self, lag_minutes: int) -> None:
        self._lag = lag_minutes
        # Known minutes not yet settled or still inside a later minute's lag: (epoch minute,
        # checkouts, orders), oldest first.
        self._recent: deque[tuple[int, float, float]] = deque()
        self._run_start: int | None = None
        self._run_checkouts = 0.0

    def add_hour(self, start: datetime, minutes: tuple[CheckoutMinute, ...]) -> FailedRun | None:
        """Take a closed hour's minutes; the longest run that grew or ended with a checkout
        settled in this hour (None if no checkout was settled in a run)."""
        return self.add_minutes(start, minutes, start + timedelta(hours=1))

    def add_minutes(
        self, hour: datetime, minutes: tuple[CheckoutMinute, ...], known_until: datetime
    ) -> FailedRun | None:
        """Take minutes of the hour starting at `hour`, every minute before `known_until` being
        closed (an open hour's minutes so far: the caller works on a copy, as the rest of the
        hour has still to come); the longest run that grew or ended with them."""
        first = int(hour.timestamp()) // MINUTE
        self._recent.extend((first + m.minute, m.checkouts, m.orders) for m in minutes)
        known = int(known_until.timestamp()) // MINUTE  # minutes before this one are known
        longest: FailedRun | None = None
        while self._recent and self._recent[0][0] + self._lag < known:
            minute, checkouts, orders = self._recent.popleft()
            if checkouts <= 0:
                continue
            if orders > 0 or self._orders_after(minute) > 0:
                self._run_start, self._run_checkouts = None, 0.0
                continue
            if self._run_start is None:
                self._run_start = minute
            self._run_checkouts += checkouts
            if longest is None or self._run_checkouts > longest.checkouts:
                longest = FailedRun(
                    datetime.fromtimestamp(self._run_start * MINUTE, UTC), self._run_checkouts
                )
        return longest

    def _orders_after(self, minute: int) -> float:
        """Orders created in the `lag_minutes` after `minute` (all known by now)."""
        total = 0.0
        for other, _, orders in self._recent:
            if other > minute + self._lag:
                break
            total += orders
        return total
