"""The detector of one shop: closed hours in, anomalies out, in time order (pure).

For each closed hour it fixes what was expected (history.py), then looks at the windows of the
last 1 to `max_window_hours` hours ending with it: a window raises when a component of the KPI
tree moved the harmful way by at least `min_change` with evidence (-log10 tail probability) of
at least `min_evidence`, and its first and last hours each moved that way too (so a window
neither starts nor ends with ordinary hours; a run of failed checkouts spans its own window,
from the hour it started). The window's outlier model (model.py, refit when used and older than
`refit_hours`) gives half of the score. Overlapping or adjacent raising windows make one
episode: one anomaly, with a stable id, re-reported as it grows. Anomalous hours are left out of
later baselines.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from shopee_metrics.domain.anomalies.calendar import (
    BASELINE_KINDS,
    QUIET_KINDS,
    SALE_KINDS,
    CampaignCalendar,
    DayKind,
    PlannedCampaign,
    day_kind,
)
from shopee_metrics.domain.anomalies.checkout_runs import CheckoutMinute, CheckoutRuns
from shopee_metrics.domain.anomalies.completeness import SILENT_MIN_EXPECTED_VISITORS
from shopee_metrics.domain.anomalies.evidence import (
    FEATURES,
    MAX_COMPLETION,
    Component,
    components,
    failed_run,
    features,
)
from shopee_metrics.domain.anomalies.explain import (
    explanation,
    moved_kpis,
    observation,
    observations,
)
from shopee_metrics.domain.anomalies.history import ClosedHour, Expect, FloatArray, HourRing
from shopee_metrics.domain.anomalies.memory import CalendarMemory
from shopee_metrics.domain.anomalies.model import OutlierModel
from shopee_metrics.domain.anomalies.reports import (
    AnomalyReport,
    Episode,
    episode_id,
    occasion,
    score,
    severity,
)

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class DetectorConfig:
    baseline_weeks: int = 6
    rate_days: int = 28
    level_hours: int = 72
    min_history_hours: int = 7 * 24
    max_window_hours: int = 6
    # Evidence (-log10 tail probability) that raises; see docs/metrics.md for how it was chosen.
    min_evidence: float = 4.5
    # Evidence at which the count half of the score is full.
    strong_evidence: float = 8.0
    min_change: float = 0.5
    model_days: int = 28
    refit_hours: int = 24
    model_contamination: float = 0.01
    memory_half_life_days: float = 8.0
    # An order is created within this many minutes of its checkout (checkout_runs.py).
    order_lag_minutes: int = 5

    @property
    def ring_hours(self) -> int:
        days = max(self.baseline_weeks * 7, self.rate_days, self.model_days)
        return days * 24 + self.max_window_hours

    @property
    def warm_up_hours(self) -> int:
        """Hours to replay after a restart: an hour's expectations build on the expectations
        kept for the weeks before it, so twice the memory span makes them all as they were."""
        return 2 * self.ring_hours


@dataclass(frozen=True, slots=True)
class MissingData:
    """A stretch of closed hours without a single funnel event where visitors were expected:
    the shop's events are missing, which is said as data incomplete, not as a drop."""

    start: datetime
    end: datetime
    expected_visitors: float

    @property
    def reason(self) -> str:
        hours = round((self.end - self.start) / HOUR)
        return (
            f"no events for {hours} h where {self.expected_visitors:,.0f} visitors were "
            "expected: events missing, not judged"
        )


@dataclass(frozen=True, slots=True)
class _Window:
    hours: int
    evidence: float
    judged: dict[str, Component]
    raised: set[str]
    vector: FloatArray


class ShopDetector:
    """Judges one shop's closed hours in time order. Not thread-safe; one caller at a time."""

    def __init__(
        self,
        shop_id: str,
        config: DetectorConfig,
        currency: str = "",
        market: str = "",
        state: dict[str, Any] | None = None,
    ) -> None:
        state = state or {}
        self.shop_id = shop_id
        self.config = config
        self.currency = currency
        self.market = market
        self.campaigns = CampaignCalendar()
        self.memory = CalendarMemory.from_json(
            config.memory_half_life_days, state.get("memory", {})
        )
        episode = state.get("episode")
        self.episode = Episode.from_json(episode) if episode else None
        self._ring = HourRing(config.ring_hours, config.max_window_hours, len(FEATURES) + 1)
        self._models = _unfitted_models(config)
        # The single-hour components of the newest hours, newest first.
        self._singles: deque[dict[str, Component]] = deque(maxlen=config.max_window_hours)
        self._checkout_runs = CheckoutRuns(config.order_lag_minutes)
        # The silent stretch going on (its start and the visitors expected so far), and the
        # ones that ended since the caller last took them (`take_missing`).
        self._silent: tuple[datetime, float] | None = None
        self._missing: list[MissingData] = []

    def __getstate__(self) -> dict[str, Any]:
        """For a checkpoint (adapters/detector_checkpoints.py): everything but the outlier
        models, which are refit from the ring when next used, as after a replay (a fitted model
        holds its training windows: about as large as the rest)."""
        state = self.__dict__.copy()
        del state["_models"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._models = _unfitted_models(self.config)

    @property
    def last_hour(self) -> datetime | None:
        return self._ring.last_start()

    def state(self) -> dict[str, Any]:
        """What must survive a restart (the hours themselves are read back from kpi_hour)."""
        return {
            "memory": self.memory.to_json(),
            "episode": self.episode.to_json() if self.episode else None,
        }

    def judge(
        self,
        hours: Sequence[ClosedHour],
        unjudgeable: Iterable[tuple[datetime, datetime]] = (),
    ) -> list[AnomalyReport]:
        """Judge the next closed hours (contiguous, oldest first). Hours overlapping an
        `unjudgeable` interval (the shop's data was incomplete) are kept out of everything."""
        gaps = list(unjudgeable)
        reports = []
        for hour in hours:
            judgeable = not any(a < hour.start + HOUR and hour.start < b for a, b in gaps)
            report = self._judge_hour(hour, judgeable, replaying=False)
            if report is not None:
                reports.append(report)
        return reports

    def expected_visitors(self, start: datetime, end: datetime, zone: ZoneInfo) -> float | None:
        """The visitors the seasonal baseline (at the newest hour's level) expects over
        [start, end), or None before it has one: how much traffic a silence has missed."""
        newest = self._ring.last_start()
        if newest is None:
            return None
        now = newest.timestamp()
        level = self._ring.level(now, self.config.level_hours)
        seasonal: dict[int, float] = {}  # by local hour of the week: a long silence repeats them
        total, known = 0.0, False
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour < end:
            local = hour.astimezone(zone)
            hour_of_week = local.weekday() * 24 + local.hour
            if hour_of_week not in seasonal:
                seasonal[hour_of_week] = self._seasonal_visitors(local, now)
            if math.isfinite(seasonal[hour_of_week]):
                overlap = (min(hour + HOUR, end) - max(hour, start)) / HOUR
                total += overlap * seasonal[hour_of_week] * level
                known = True
            hour += HOUR
        return total if known else None

    def take_missing(self) -> list[MissingData]:
        """The stretches of missing data that ended since the last call (each is given once)."""
        missing, self._missing = self._missing, []
        return missing

    @property
    def ready(self) -> bool:
        """Whether it has the history to raise anything yet."""
        return len(self._ring) >= self.config.min_history_hours

    def warm_up(self, hours: Sequence[ClosedHour]) -> None:
        """Rebuild the recent history after a restart (see `replaying`)."""
        with self.replaying() as replay:
            for hour in hours:
                replay(hour)

    @contextmanager
    def replaying(self) -> Iterator[Callable[[ClosedHour], None]]:
        """A function that replays one hour already judged, oldest first: the hours go through
        the same path, without reports and without teaching the calendar memory again. A
        context, so that a caller can replay a few hours at a time between other work."""
        saved = self.episode
        self.episode = None  # whatever was open twelve weeks ago has long ended

        def replay(hour: ClosedHour) -> None:
            self._judge_hour(hour, judgeable=True, replaying=True)

        try:
            yield replay
        finally:
            self.episode = saved

    def open_checkout_run(
        self,
        minutes: dict[datetime, tuple[CheckoutMinute, ...]],
        known_until: datetime,
        zone: ZoneInfo,
    ) -> AnomalyReport | None:
        """The run of failed checkouts going on in the hour after the newest judged one (its
        minutes before `known_until`, keyed by hour start as `hours_between` takes them), as an
        anomaly if it already raises: a checkout outage is called within minutes, not when its
        hour closes. Pure: the detector's state is not changed. When the hour closes, the same
        run raises the same anomaly id (its window starts with the run's hour), which the
        hour's judgement then completes."""
        newest = self._ring.last_start()
        if newest is None or not self.ready:
            return None
        open_hour = newest + HOUR
        run = copy.deepcopy(self._checkout_runs).add_minutes(
            open_hour, minutes.get(open_hour, ()), known_until
        )
        rate = min(float(self._ring.hour(0)[4][Expect.CHECKOUT]), MAX_COMPLETION)
        judged = failed_run(run.checkouts, rate) if run is not None else None
        if run is None or judged is None or -judged.evidence < self.config.min_evidence:
            return None
        start = open_hour + (run.start - open_hour) // HOUR * HOUR  # the run's hour bucket
        if self.episode is not None and start < self.episode.end:
            return None
        anomaly_score = score(-judged.evidence, 0.5, self.config.strong_evidence)
        return AnomalyReport(
            anomaly_id=episode_id(self.shop_id, start),
            shop_id=self.shop_id,
            kpis=(judged.kpi,),
            bucket_start=start,
            bucket_end=newest + 2 * HOUR,
            observations=(observation(judged),),
            score=anomaly_score,
            # Every checkout of the run lost its order.
            severity=severity(anomaly_score, gmv_loss=1.0),
            explanation=(
                f"orders stopped: {run.checkouts:,.0f} checkouts in a row since "
                f"{run.start.astimezone(zone):%H:%M} became no order (usually {rate:.0%} do); "
                "the rest of the KPI tree is judged when the hour closes"
            ),
            first=True,
        )

    def _judge_hour(
        self, hour: ClosedHour, judgeable: bool, replaying: bool
    ) -> AnomalyReport | None:
        config = self.config
        now = hour.start.timestamp()
        kind = day_kind(hour.local.date(), self.market)
        active = self.campaigns.active(hour.start, hour.start + HOUR)
        if active and kind in BASELINE_KINDS:
            kind = DayKind.CAMPAIGN
        ready = self.ready
        expected = self._expectations(hour, kind, now)
        silent = not any(hour.counts)
        if silent and (
            self._silent is not None or expected[Expect.VISITORS] >= SILENT_MIN_EXPECTED_VISITORS
        ):
            # Not one visit or order where dozens of visitors were expected (or in a stretch
            # that began so): the events are missing (a feed that stopped, a history imported
            # up to a day and live events from hours later), which the issue asks not to call
            # a drop; kept out like an incomplete period, and said as data incomplete once the
            # events are back.
            judgeable = False
            since, visitors = self._silent or (hour.start, 0.0)
            self._silent = (since, visitors + float(expected[Expect.VISITORS]))
        elif self._silent is not None:
            since, visitors = self._silent
            self._silent = None
            if not replaying:
                self._missing.append(MissingData(since, hour.start, visitors))
        self._ring.append(
            hour,
            kind,
            rise_expected=kind in SALE_KINDS or bool(active),
            fall_expected=kind in QUIET_KINDS,
            expected=expected,
            judgeable=judgeable,
            failed_run=self._checkout_runs.add_hour(hour.start, hour.checkout_minutes),
        )
        if not replaying:
            self._learn_settled_hour()
        self._singles.appendleft(
            components(self._ring.window(1), config.min_change) if judgeable else {}
        )
        if not (judgeable and ready):
            return None
        window = self._raising_window(hour.start)
        if window is None:
            return None
        self._ring.exclude_last(window.hours)
        return self._raise(window, hour, kind, active, now, replaying)

    def _expectations(self, hour: ClosedHour, kind: DayKind, now: float) -> FloatArray:
        config = self.config
        ring = self._ring
        expected = np.full(len(Expect), math.nan)
        local = hour.local
        seasonal = self._seasonal_visitors(local, now)
        ordinary = seasonal * ring.level(now, config.level_hours)
        expected[Expect.SEASONAL] = seasonal
        expected[Expect.VISITORS_ORDINARY] = ordinary
        expected[Expect.VISITORS] = ordinary * _lift(
            self.memory.factor_visitors(kind, local.hour), kind
        )
        rates, dispersions = ring.ratios(now, config.rate_days)
        expected[Expect.CONVERSION : Expect.AOV + 1] = rates
        expected[Expect.TRAFFIC_VARIANCE] = ring.traffic_variance(now, config.rate_days)
        expected[Expect.DISPERSION_PAID : Expect.DISPERSION_ADD_TO_CARTS + 1] = dispersions
        return expected

    def _seasonal_visitors(self, local: datetime, now: float) -> float:
        """The baseline's visitors for the local hour `local` (its hour of the week), as of
        `now`: before the level, the calendar and campaigns."""
        return self._ring.seasonal_visitors(
            local.weekday() * 24 + local.hour, local.hour, now, self.config.baseline_weeks
        )

    def _learn_settled_hour(self) -> None:
        """Hours older than the longest window can no longer be marked anomalous: the ones of
        special days and campaigns teach the calendar memory."""
        back = self.config.max_window_hours
        if len(self._ring) <= back:
            return
        kind, hour_of_day, excluded, counts, expect = self._ring.hour(back)
        if kind is not DayKind.ORDINARY and not excluded:
            self.memory.learn(kind, hour_of_day, counts, expect)

    def _raising_window(self, newest: datetime) -> _Window | None:
        """The window ending with the newest hour with the strongest harmful evidence, if any
        raises (recording every window's features for the outlier models on the way). Windows
        start after the open anomaly; it grows only while each new hour strengthens it."""
        config = self.config
        ring = self._ring
        singles = self._singles
        episode = self.episode
        best: _Window | None = None
        for hours in range(1, config.max_window_hours + 1):
            if not ring.judgeable_run(hours):
                break
            sums = ring.window(hours)
            judged = components(sums, config.min_change)
            vector = features(judged, sums)
            ring.set_last_features(hours, vector)
            if episode is not None and newest - (hours - 1) * HOUR < episode.end:
                continue
            raised = {
                name
                for name, component in judged.items()
                if component.harmful
                and abs(component.evidence) >= config.min_evidence
                and (
                    component.consecutive
                    or (
                        _moved_alike(singles[0].get(name), component)
                        and _moved_alike(singles[hours - 1].get(name), component)
                    )
                )
            }
            if raised:
                evidence = max(abs(judged[name].evidence) for name in raised)
                if best is None or evidence > best.evidence:
                    best = _Window(hours, evidence, judged, raised, vector)
        if best is None and episode is not None and episode.end == newest:
            return self._continuation(episode)
        return best

    def _continuation(self, episode: Episode) -> _Window | None:
        """The open anomaly with the newest hour added, if that hour moved the same way and
        makes the anomaly's evidence stronger."""
        hours = round((episode.end - episode.start) / HOUR) + 1
        if hours > len(self._ring) or not self._ring.judgeable_run(hours):
            return None
        sums = self._ring.window(hours)
        judged = components(sums, self.config.min_change)
        raised = {
            name
            for name in episode.raised
            if name in judged
            and judged[name].harmful
            and abs(judged[name].evidence) >= episode.evidence
            and (judged[name].consecutive or _moved_alike(self._singles[0].get(name), judged[name]))
        }
        if not raised:
            return None
        evidence = max(abs(judged[name].evidence) for name in raised)
        return _Window(hours, evidence, judged, raised, features(judged, sums))

    def _raise(
        self,
        window: _Window,
        hour: ClosedHour,
        kind: DayKind,
        active: list[PlannedCampaign],
        now: float,
        replaying: bool,
    ) -> AnomalyReport | None:
        """Open or grow the episode; report it unless replaying."""
        probability = 0.5 if replaying else self._probability(window, now)
        start = hour.start - (window.hours - 1) * HOUR
        end = hour.start + HOUR
        episode = self.episode
        first = episode is None or start > episode.end
        if episode is None or first:
            episode = Episode.open(
                self.shop_id, start, end, window.evidence, probability, window.raised
            )
            self.episode = episode
        else:
            episode.grow(end, window.evidence, probability, window.raised)
        return None if replaying else self._report(episode, kind, hour, active, first)

    def _probability(self, window: _Window, now: float) -> float:
        """The outlier probability of the window among the shop's recent windows of its length
        (0.5 while there are too few to fit a model)."""
        config = self.config
        # A grown anomaly is longer than any model's windows: the longest one judges it.
        length = min(window.hours, config.max_window_hours)
        model = self._models[length - 1]
        if model.fitted_at is None or now - model.fitted_at >= config.refit_hours * 3600:
            since = now - config.model_days * 86400
            model.fit(self._ring.training_features(length, since), now)
        probability = model.probability(window.vector)
        return 0.5 if probability is None else probability

    def _report(
        self,
        episode: Episode,
        kind: DayKind,
        hour: ClosedHour,
        active: list[PlannedCampaign],
        first: bool,
    ) -> AnomalyReport:
        config = self.config
        span = min(len(self._ring), round((episode.end - episode.start) / HOUR))
        sums = self._ring.window(span)
        judged = components(sums, config.min_change)
        raised = {name for name in episode.raised if name in judged}
        kpis = moved_kpis(judged, raised, sums) or sorted(judged[n].kpi for n in raised)
        anomaly_score = score(episode.evidence, episode.probability, config.strong_evidence)
        gmv_loss = 1 - sums.gmv / sums.expected_gmv if sums.expected_gmv > 0 else 0.0
        return AnomalyReport(
            anomaly_id=episode.anomaly_id,
            shop_id=self.shop_id,
            kpis=tuple(kpis),
            bucket_start=episode.start,
            bucket_end=episode.end,
            observations=tuple(observations(judged, sums)),
            score=anomaly_score,
            severity=severity(anomaly_score, gmv_loss),
            explanation=explanation(
                judged, raised, sums, self.currency, occasion(kind, hour.local, active)
            ),
            first=first,
        )


def _unfitted_models(config: DetectorConfig) -> list[OutlierModel]:
    """One outlier model per window length."""
    return [OutlierModel(config.model_contamination) for _ in range(config.max_window_hours)]


def _lift(learned: float, kind: DayKind) -> float:
    """The learned lift of an occasion, never below an ordinary day: a quiet day's shape varies
    too much from one to the next (a holiday's first days are far quieter than its last) for a
    learned dip to be an expectation; its falls are excused instead."""
    if kind is DayKind.ORDINARY or kind in QUIET_KINDS or not math.isfinite(learned):
        return 1.0
    return max(1.0, learned)


def _moved_alike(hour: Component | None, window: Component) -> bool:
    """Whether one hour of a window moved the harmful way the window did."""
    return hour is not None and hour.harmful and (hour.evidence < 0) == (window.evidence < 0)
