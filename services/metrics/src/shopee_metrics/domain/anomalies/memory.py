"""What a shop's past special days drew, to expect the next one (pure, serialisable)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from shopee_metrics.domain.anomalies.calendar import DayKind
from shopee_metrics.domain.anomalies.history import Count, Expect, FloatArray

# Least ordinary-expected visitors behind a learned factor of a kind and hour.
MIN_MEMORY_VISITORS = 20.0


@dataclass
class CalendarMemory:
    """How many visitors the shop's past special days and campaign hours drew compared with the
    ordinary baseline of their time: per kind and local hour, decayed sums of observed and
    ordinary-expected visitors. Serialisable, so the job keeps it across restarts.

    Only visitors: the ratios are judged against ordinary days, whatever the occasion. Sales
    lift conversion and add-to-cart, so a fall below an ordinary day is a fall on any day, and a
    learned lift pooled over a sale's very different hours would only make false alarms."""

    half_life_days: float
    visitors: dict[str, list[list[float]]] = field(default_factory=dict)  # kind -> [obs, exp]

    def factor_visitors(self, kind: DayKind, hour_of_day: int) -> float:
        sums = self.visitors.get(kind)
        if sums is None or sums[1][hour_of_day] < MIN_MEMORY_VISITORS:
            return math.nan
        return sums[0][hour_of_day] / sums[1][hour_of_day]

    def learn(
        self, kind: DayKind, hour_of_day: int, counts: FloatArray, expect: FloatArray
    ) -> None:
        """Add one closed, non-anomalous hour of a non-ordinary kind."""
        ordinary = float(expect[Expect.VISITORS_ORDINARY])
        if not math.isfinite(ordinary):
            return
        decay = 0.5 ** (1.0 / (24.0 * self.half_life_days))
        visitors = self.visitors.setdefault(kind.value, [[0.0] * 24, [0.0] * 24])
        for row in visitors:
            row[:] = [value * decay for value in row]
        visitors[0][hour_of_day] += float(counts[Count.VISITORS])
        visitors[1][hour_of_day] += ordinary

    def to_json(self) -> dict[str, Any]:
        return {"visitors": self.visitors}

    @classmethod
    def from_json(cls, half_life_days: float, data: dict[str, Any]) -> CalendarMemory:
        return cls(half_life_days, dict(data.get("visitors", {})))
