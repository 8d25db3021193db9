"""A shop's recent closed hours with what was expected of each, and the baselines built on them.

The baseline of visitors is seasonal: the median of the same local hour of the week over the
last weeks (ordinary days only, anomalies left out), times a level factor from the last days so
that growth and slow drift do not look like anomalies, times a factor for the kind of day (a
mega sale, a payday) learned from the shop's own past days of that kind (memory.py). The
ratios (conversion, add-to-cart, checkout completion, AOV) are pooled over the last weeks,
scaled the same way for special days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from shopee_metrics.domain.anomalies.calendar import (
    BASELINE_KINDS,
    DAY_KINDS,
    SALE_KINDS,
    DayKind,
)
from shopee_metrics.domain.anomalies.checkout_runs import CheckoutMinute, FailedRun
from shopee_metrics.domain.anomalies.evidence import WindowSums

FloatArray = npt.NDArray[np.float64]

# The shop-level hourly KPIs the detector reads (numerators of kpi_hour rows, product_id '').
BASE_KPIS: tuple[str, ...] = (
    "unique_visitors",
    "page_views",
    "product_views",
    "add_to_carts",
    "checkout_starts",
    "created_orders",
    "paid_orders",
    "gmv",
)


class Count(IntEnum):
    VISITORS = 0
    PAGE_VIEWS = 1
    PRODUCT_VIEWS = 2
    ADD_TO_CARTS = 3
    CHECKOUT_STARTS = 4
    CREATED_ORDERS = 5
    PAID_ORDERS = 6
    GMV = 7


class Expect(IntEnum):
    """What was expected of an hour, fixed when it was judged."""

    SEASONAL = 0  # median visitors of the same hour of the week (before level and day kind)
    VISITORS_ORDINARY = 1  # seasonal x level: an ordinary day
    VISITORS = 2  # ... x the day kind's learned factor
    CONVERSION = 3
    ADD_TO_CART = 4
    CHECKOUT = 5
    AOV = 6
    TRAFFIC_VARIANCE = 7
    DISPERSION_PAID = 8
    DISPERSION_ADD_TO_CARTS = 9


class Sum(IntEnum):
    """Additive columns of an hour: a window's totals are their sums."""

    VISITORS = 0
    PRODUCT_VIEWS = 1
    ADD_TO_CARTS = 2
    CHECKOUT_STARTS = 3
    CREATED_ORDERS = 4
    PAID_ORDERS = 5
    GMV = 6
    EXPECTED_VISITORS = 7
    EXPECTED_PAID = 8  # visitors that came x expected conversion
    EXPECTED_ADD_TO_CARTS = 9  # product views x expected add-to-cart rate
    EXPECTED_CREATED = 10  # checkouts started x expected completion
    TREE_ORDERS = 11  # expected visitors x expected conversion
    EXPECTED_GMV = 12  # ... x expected AOV
    RISE_EXPECTED = 13
    FALL_EXPECTED = 14
    SALE_DAY = 15


def _additive(
    counts: tuple[float, ...],
    expect: FloatArray,
    rise_expected: bool,
    fall_expected: bool,
    kind: DayKind,
) -> FloatArray:
    tree_orders = expect[Expect.VISITORS] * expect[Expect.CONVERSION]
    return np.array(
        [
            counts[Count.VISITORS],
            counts[Count.PRODUCT_VIEWS],
            counts[Count.ADD_TO_CARTS],
            counts[Count.CHECKOUT_STARTS],
            counts[Count.CREATED_ORDERS],
            counts[Count.PAID_ORDERS],
            counts[Count.GMV],
            expect[Expect.VISITORS],
            counts[Count.VISITORS] * expect[Expect.CONVERSION],
            counts[Count.PRODUCT_VIEWS] * expect[Expect.ADD_TO_CART],
            counts[Count.CHECKOUT_STARTS] * expect[Expect.CHECKOUT],
            tree_orders,
            tree_orders * expect[Expect.AOV],
            float(rise_expected),
            float(fall_expected),
            float(kind in SALE_KINDS),
        ]
    )


# Ratios as (numerator, denominator) counts, in the order of Expect.CONVERSION...
RATIOS: tuple[tuple[Count, Count], ...] = (
    (Count.PAID_ORDERS, Count.VISITORS),
    (Count.ADD_TO_CARTS, Count.PRODUCT_VIEWS),
    (Count.CREATED_ORDERS, Count.CHECKOUT_STARTS),
    (Count.GMV, Count.PAID_ORDERS),
)
# Least pooled denominator for a ratio to be judged: visitors, product views, checkouts, orders.
MIN_DENOMINATOR = (200.0, 200.0, 20.0, 10.0)
MAX_DISPERSION = 4.0
MIN_TRAFFIC_VARIANCE = 0.01
MIN_EXPECTED_VISITORS = 0.5


@dataclass(frozen=True, slots=True)
class ClosedHour:
    """A closed local hour of one shop: its UTC start, local label and base KPI numerators."""

    start: datetime
    local: datetime
    counts: tuple[float, ...]
    # Its minutes with checkouts or orders (kpi_minute), for runs of failed checkouts; empty
    # when not read (hours replayed long after they were judged).
    checkout_minutes: tuple[CheckoutMinute, ...] = ()

    @classmethod
    def from_numerators(
        cls,
        start: datetime,
        local: datetime,
        numerators: dict[str, float],
        checkout_minutes: tuple[CheckoutMinute, ...] = (),
    ) -> ClosedHour:
        """From kpi_hour numerators by KPI name; a KPI without a row is 0."""
        return cls(
            start,
            local,
            tuple(float(numerators.get(kpi, 0.0)) for kpi in BASE_KPIS),
            checkout_minutes,
        )


SHIFT_HOURS = 7 * 24


class HourRing:
    """The last `capacity` judged hours of a shop, contiguous in time, oldest first."""

    def __init__(self, capacity: int, windows: int, feature_count: int) -> None:
        self.capacity = capacity
        # The oldest hours are dropped a week at a time: room for twice the capacity made the
        # shifts rarer but cost a shop's detector 1.1 MB instead of 0.6.
        room = capacity + SHIFT_HOURS
        self._start = np.zeros(room, dtype=np.float64)
        self._hour_of_week = np.zeros(room, dtype=np.int16)
        self._hour_of_day = np.zeros(room, dtype=np.int16)
        self._kind = np.zeros(room, dtype=np.int8)
        self._rise_expected = np.zeros(room, dtype=bool)
        self._fall_expected = np.zeros(room, dtype=bool)
        self._excluded = np.zeros(room, dtype=bool)
        self._judgeable = np.zeros(room, dtype=bool)
        self._featured = np.zeros((room, windows), dtype=bool)
        self._counts = np.zeros((room, len(BASE_KPIS)), dtype=np.float64)
        self._expect = np.full((room, len(Expect)), np.nan, dtype=np.float64)
        # Per hour, the features of the windows of 1, 2, ... hours ending with it.
        self._features = np.zeros((room, windows, feature_count), dtype=np.float64)
        # Per hour, what windows add up (observed and expected counts, occasion flags).
        self._additive = np.zeros((room, len(Sum)), dtype=np.float64)
        # Per hour, the failed-checkout run that grew in it: its start (epoch seconds, NaN for
        # none) and its checkouts.
        self._runs = np.full((room, 2), np.nan, dtype=np.float64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(
        self,
        hour: ClosedHour,
        kind: DayKind,
        rise_expected: bool,
        fall_expected: bool,
        expected: FloatArray,
        judgeable: bool,
        failed_run: FailedRun | None = None,
    ) -> None:
        if self._size == len(self._start):
            keep = self.capacity
            for array in self._arrays():
                array[:keep] = array[self._size - keep : self._size]
            self._size = keep
        index = self._size
        self._start[index] = hour.start.timestamp()
        self._hour_of_week[index] = hour.local.weekday() * 24 + hour.local.hour
        self._hour_of_day[index] = hour.local.hour
        self._kind[index] = DAY_KINDS.index(kind)
        self._rise_expected[index] = rise_expected
        self._fall_expected[index] = fall_expected
        self._excluded[index] = not judgeable
        self._judgeable[index] = judgeable
        self._featured[index] = False
        self._counts[index] = hour.counts
        self._expect[index] = expected
        self._features[index] = 0.0
        self._additive[index] = _additive(hour.counts, expected, rise_expected, fall_expected, kind)
        self._runs[index] = (
            (failed_run.start.timestamp(), failed_run.checkouts) if failed_run else (np.nan, 0.0)
        )
        self._size += 1

    def _arrays(self) -> list[np.ndarray[Any, Any]]:
        return [
            self._start,
            self._hour_of_week,
            self._hour_of_day,
            self._kind,
            self._rise_expected,
            self._fall_expected,
            self._excluded,
            self._judgeable,
            self._featured,
            self._counts,
            self._expect,
            self._features,
            self._additive,
            self._runs,
        ]

    def last_start(self) -> datetime | None:
        if not self._size:
            return None
        return datetime.fromtimestamp(self._start[self._size - 1], UTC)

    def exclude_last(self, hours: int) -> None:
        """Leave the last `hours` hours out of every baseline (they were anomalous)."""
        self._excluded[max(0, self._size - hours) : self._size] = True

    def judgeable_run(self, hours: int) -> bool:
        """Whether the newest `hours` hours exist and may all be judged."""
        return hours <= self._size and bool(self._judgeable[self._size - hours : self._size].all())

    def set_last_features(self, hours: int, values: FloatArray) -> None:
        """The features of the window of `hours` hours ending with the newest hour."""
        self._features[self._size - 1, hours - 1] = values
        self._featured[self._size - 1, hours - 1] = True

    def hour(self, back: int) -> tuple[DayKind, int, bool, FloatArray, FloatArray]:
        """(kind, local hour of day, excluded, counts, expectations) of the hour `back` hours
        before the newest (0 = newest)."""
        index = self._size - 1 - back
        return (
            DAY_KINDS[int(self._kind[index])],
            int(self._hour_of_day[index]),
            bool(self._excluded[index]),
            self._counts[index],
            self._expect[index],
        )

    def window(self, hours: int, skip: int = 0) -> WindowSums:
        """Totals of `hours` consecutive hours, ending `skip` hours before the newest."""
        newest = self._size - 1 - skip
        totals = self._additive[newest + 1 - hours : newest + 1].sum(axis=0)
        expect = self._expect[newest]
        tree_orders = float(totals[Sum.TREE_ORDERS])
        # The run that grew in the newest hour belongs to the window that starts with its hour.
        first_start = self._start[newest + 1 - hours]
        run_start, run_checkouts = self._runs[newest]
        in_window = first_start <= run_start < first_start + 3600
        return WindowSums(
            visitors=float(totals[Sum.VISITORS]),
            product_views=float(totals[Sum.PRODUCT_VIEWS]),
            add_to_carts=float(totals[Sum.ADD_TO_CARTS]),
            checkout_starts=float(totals[Sum.CHECKOUT_STARTS]),
            created_orders=float(totals[Sum.CREATED_ORDERS]),
            paid_orders=float(totals[Sum.PAID_ORDERS]),
            gmv=float(totals[Sum.GMV]),
            expected_visitors=float(totals[Sum.EXPECTED_VISITORS]),
            expected_paid=float(totals[Sum.EXPECTED_PAID]),
            expected_add_to_carts=float(totals[Sum.EXPECTED_ADD_TO_CARTS]),
            expected_created=float(totals[Sum.EXPECTED_CREATED]),
            expected_gmv=float(totals[Sum.EXPECTED_GMV]),
            expected_aov=float(totals[Sum.EXPECTED_GMV]) / tree_orders
            if tree_orders > 0
            else math.nan,
            traffic_variance=float(expect[Expect.TRAFFIC_VARIANCE]),
            dispersion_paid=float(expect[Expect.DISPERSION_PAID]),
            dispersion_add_to_carts=float(expect[Expect.DISPERSION_ADD_TO_CARTS]),
            rise_expected=bool(totals[Sum.RISE_EXPECTED] > 0),
            fall_expected=bool(totals[Sum.FALL_EXPECTED] > 0),
            sale_day=bool(totals[Sum.SALE_DAY] > 0),
            failed_run=float(run_checkouts) if in_window else 0.0,
        )

    def baseline_mask(self, since: float) -> npt.NDArray[np.bool_]:
        """Hours that may feed a baseline: ordinary kinds, not excluded, not before `since`."""
        size = self._size
        return (
            _IS_BASELINE[self._kind[:size]] & ~self._excluded[:size] & (self._start[:size] >= since)
        )

    def training_features(self, hours: int, since: float) -> FloatArray:
        """Features of the judged windows of `hours` hours with no anomalous hour, ending since
        `since` (any kind of day)."""
        size = self._size
        clean = ~self._excluded[:size]
        for back in range(1, min(hours, size)):
            clean[back:] &= ~self._excluded[: size - back]
        mask = self._featured[:size, hours - 1] & clean & (self._start[:size] >= since)
        return self._features[:size, hours - 1][mask]

    # Baselines, from the hours before the one being judged.

    def seasonal_visitors(
        self, hour_of_week: int, hour_of_day: int, now: float, weeks: int
    ) -> float:
        """The robust centre of visitors in the same local hour of the week over the last
        `weeks` weeks (falling back on the same hour of the day over a fortnight)."""
        size = self._size
        mask = self.baseline_mask(now - weeks * 7 * 86400)
        same = mask & (self._hour_of_week[:size] == hour_of_week)
        if int(same.sum()) >= 2:
            return _robust_centre(self._counts[:size][same, Count.VISITORS])
        recent = self.baseline_mask(now - 14 * 86400) & (self._hour_of_day[:size] == hour_of_day)
        if int(recent.sum()) >= 3:
            return _robust_centre(self._counts[:size][recent, Count.VISITORS])
        return math.nan

    def level(self, now: float, hours: int) -> float:
        """Visitors of the last `hours` ordinary hours (within a fortnight) over their seasonal
        expectation, for growth and drift."""
        indexes = np.flatnonzero(self.baseline_mask(now - 14 * 86400))[-hours:]
        seasonal = self._expect[indexes, Expect.SEASONAL]
        observed = self._counts[indexes, Count.VISITORS]
        known = np.isfinite(seasonal)
        expected = float(seasonal[known].sum())
        if expected < 30.0:
            return 1.0
        return float(np.clip(observed[known].sum() / expected, 0.5, 2.0))

    def traffic_variance(self, now: float, days: int) -> float:
        """Day-level variance of log visitors around their expectation (robust: MAD), beyond
        what Poisson noise explains."""
        mask = self.baseline_mask(now - days * 86400)
        expected = self._expect[: self._size][mask, Expect.VISITORS]
        observed = self._counts[: self._size][mask, Count.VISITORS]
        known = np.isfinite(expected)
        if int(known.sum()) < 48:
            return 0.25
        residuals = np.log((observed[known] + 1.0) / (expected[known] + 1.0))
        mad = float(np.median(np.abs(residuals - np.median(residuals))))
        poisson = float(np.median(1.0 / (expected[known] + 1.0)))
        return max(MIN_TRAFFIC_VARIANCE, (1.4826 * mad) ** 2 - poisson)

    def ratios(self, now: float, days: int) -> tuple[list[float], list[float]]:
        """Pooled ratios (conversion, add-to-cart, checkout completion, AOV) and the dispersion
        of paid orders and add-to-carts, over the baseline hours of the last `days` days."""
        mask = self.baseline_mask(now - days * 86400)
        counts = self._counts[: self._size][mask]
        rates: list[float] = []
        dispersions: list[float] = []
        for index, (numerator, denominator) in enumerate(RATIOS):
            total = float(counts[:, denominator].sum())
            rate = (
                float(counts[:, numerator].sum()) / total
                if total >= MIN_DENOMINATOR[index]
                else math.nan
            )
            rates.append(rate)
            if index < 2:  # paid orders and add-to-carts; see evidence.checkout for the others
                dispersions.append(_dispersion(counts[:, numerator], counts[:, denominator], rate))
        return rates, dispersions


# Lookup by day kind index.
_IS_BASELINE = np.array([kind in BASELINE_KINDS for kind in DAY_KINDS])


def _robust_centre(values: FloatArray) -> float:
    """The median; for small counts the mean without the highest and lowest value, which is as
    robust to one odd week and, unlike the median, not stuck at 0 for counts usually 0 or 1."""
    median = float(np.median(values))
    if len(values) < 4 or median >= 5:
        return max(MIN_EXPECTED_VISITORS, median)
    ordered = np.sort(values)
    return max(MIN_EXPECTED_VISITORS, float(ordered[1:-1].mean()))


def _dispersion(numerators: FloatArray, denominators: FloatArray, rate: float) -> float:
    """Pearson dispersion of hourly counts around `rate` x denominator (1 = as random as
    Poisson sampling), clipped to [1, MAX_DISPERSION]."""
    if not math.isfinite(rate):
        return 1.0
    expected = denominators * rate
    total = float(expected.sum())
    if total <= 0:
        return 1.0
    return float(np.clip(((numerators - expected) ** 2).sum() / total, 1.0, MAX_DISPERSION))


def hours_between(
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    numerators: dict[datetime, dict[str, float]],
    checkout_minutes: dict[datetime, tuple[CheckoutMinute, ...]] | None = None,
) -> list[ClosedHour]:
    """Every hour bucket from `start` to `end` (UTC bucket starts, an hour apart), with the
    numerators stored for it (hours without rows had no events: all 0) and its checkout
    minutes by hour start, where read."""
    minutes = checkout_minutes or {}
    hours = []
    bucket = start
    while bucket < end:
        local = bucket.astimezone(zone).replace(tzinfo=None)
        hours.append(
            ClosedHour.from_numerators(
                bucket, local, numerators.get(bucket, {}), minutes.get(bucket, ())
            )
        )
        bucket += timedelta(hours=1)
    return hours
