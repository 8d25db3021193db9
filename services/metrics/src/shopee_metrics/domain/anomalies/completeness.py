"""Which hours of a shop are complete enough to judge, and when a shop's data is incomplete (pure).

The job knows, per shop and source (order, traffic, ...), the newest event time counted (the
watermark) and the wall time it was counted (`stream_watermarks`). From those:

- An hour is *closed* when every source the detector reads (orders and traffic for the KPI tree,
  campaigns for the planned windows) is past its end plus the late grace. A source that has been
  quiet (its topic read and stored to the end, and nothing counted for a while) has nothing more
  to add, so it does not hold the others back: at night a small shop has no orders for hours,
  and a checkout outage stops orders altogether; neither must stop the hours from being judged.
  A source whose topic still has records the job has not stored is never quiet, however long
  since its last event was counted: judging hours whose orders are still unread would learn
  false baselines (a replay reads one topic ahead of another, a loaded worker stalls).
- A *live* shop (its events were counted close to when they happened) whose newest event falls
  behind the wall clock is *incomplete*: its events are late or have stopped. The job says so
  with the lag instead of judging the hours it has not seen. A replay of old history is not live:
  its hours close on event time alone. Where the shop's baseline is known, a silence is a stall
  only if the visitors it expected in it make none by chance implausible: a small shop's quiet
  night is not one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

JUDGED_SOURCES = ("order", "traffic", "campaign")
# A silence (closed hours without a single funnel event, or a live shop's events stopping) is
# missing data, not a quiet spell, when at least this many visitors were expected in it: none by
# chance is then below e^-20.
SILENT_MIN_EXPECTED_VISITORS = 20.0


@dataclass(frozen=True, slots=True)
class SourceMark:
    """One row of `stream_watermarks`."""

    source: str
    watermark: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Incomplete:
    since: datetime
    lag_seconds: float
    reason: str


def closed_until(
    marks: Iterable[SourceMark],
    now: datetime,
    quiet: timedelta,
    unfinished: Collection[str],
) -> datetime | None:
    """The event time up to which the shop's orders, traffic and campaigns are complete, or
    None if the job cannot tell yet. Hours ending at least the late grace before it are closed.

    `unfinished` names the sources whose topic (the shop's partition) still holds records the
    job has not stored."""
    by_source = {m.source: m for m in marks if m.source in JUDGED_SOURCES}
    if not by_source:
        return None
    horizon = max(m.watermark for m in by_source.values())
    for source in JUDGED_SOURCES:
        mark = by_source.get(source)
        if mark is None:
            # Never counted: the shop has none, unless the job has not read them yet.
            if source in unfinished:
                return None
            continue
        if source in unfinished or now - mark.updated_at < quiet:
            horizon = min(horizon, mark.watermark)
    return horizon


def incompleteness(
    marks: Iterable[SourceMark],
    now: datetime,
    live_window: timedelta,
    stall_after: timedelta,
    expected_visitors: Callable[[datetime, datetime], float | None] | None = None,
    min_expected_visitors: float = SILENT_MIN_EXPECTED_VISITORS,
) -> Incomplete | None:
    """Whether a live shop's data is behind the wall clock by more than `stall_after`, and,
    where `expected_visitors(start, end)` knows the shop's baseline, by at least
    `min_expected_visitors` of its traffic: enough to tell a stall from a quiet spell."""
    marks = list(marks)
    if not marks:
        return None
    newest = max(m.watermark for m in marks)
    last_counted = max(m.updated_at for m in marks)
    if last_counted - newest > live_window:
        return None  # a replay of history: judged on event time, never "late"
    lag = now - newest
    if lag <= stall_after:
        return None
    expected = expected_visitors(newest, now) if expected_visitors is not None else None
    if expected is not None and expected < min_expected_visitors:
        return None
    if now - last_counted > stall_after:
        reason = f"no events for {_duration(now - last_counted)}"
        if expected is not None:
            reason += f" where {expected:,.0f} visitors were expected"
    else:
        reason = f"events arrive {_duration(lag)} late"
    return Incomplete(since=newest, lag_seconds=lag.total_seconds(), reason=reason)


def _duration(span: timedelta) -> str:
    seconds = span.total_seconds()
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
