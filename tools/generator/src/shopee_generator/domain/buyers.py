"""A shop's buyers: each has a daily visit propensity that a purchase lifts and time wears down.

Buyers who stop coming back (propensity decayed to nothing, or a sudden churn) leave the pool;
first-time buyers join it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from shopee_generator.domain.markets import Market

DAILY_DECAY = 0.992
DAILY_CHURN_HAZARD = 0.003
PURCHASE_LIFT = 1.25
PURCHASE_BONUS = 0.01
MAX_PROPENSITY = 0.25
GONE_BELOW = 0.0008


class UserNames:
    """Unique, plausible Shopee usernames for a shop's visitors ("putri.wijaya1043")."""

    def __init__(self, market: Market, first_number: int) -> None:
        self._first = market.first_names
        self._last = market.last_names
        self._next = first_number

    def draw(self, rng: np.random.Generator, count: int) -> list[str]:
        return self.draw_keyed(rng, count)[0]

    def draw_keyed(
        self, rng: np.random.Generator, count: int
    ) -> tuple[list[str], npt.NDArray[np.int64]]:
        """New names and their keys (the unique number in the name), which seed each person's
        taste for life (traffic.favourite_cells)."""
        firsts = rng.integers(0, len(self._first), count)
        lasts = rng.integers(0, len(self._last), count)
        start = self._next
        self._next += count
        names = [
            f"{self._first[f].replace(' ', '')}.{self._last[s]}{start + i}"
            for i, (f, s) in enumerate(zip(firsts.tolist(), lasts.tolist(), strict=True))
        ]
        return names, np.arange(start, start + count, dtype=np.int64)


class BuyerPool:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.propensity: npt.NDArray[np.float64] = np.zeros(0)
        # Each buyer's key (UserNames.draw_keyed), kept as buyers leave and positions shift.
        self.keys: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, ids: list[str], keys: npt.NDArray[np.int64], rng: np.random.Generator) -> None:
        """New buyers (with their keys), each with a propensity drawn from a skewed distribution
        (few loyal ones)."""
        if not ids:
            return
        self.ids.extend(ids)
        self.propensity = np.concatenate([self.propensity, rng.gamma(1.6, 0.012, len(ids))])
        self.keys = np.concatenate([self.keys, keys.astype(np.int64)])

    def visits(self, rng: np.random.Generator, multiplier: float) -> npt.NDArray[np.int64]:
        """Pool positions of the buyers who visit today (a buyer may come twice)."""
        counts = rng.poisson(np.minimum(self.propensity * multiplier, 3.0))
        return np.repeat(np.arange(len(self.ids)), counts)

    def purchased(self, positions: list[int]) -> None:
        if positions:
            index = np.asarray(positions)
            self.propensity[index] = np.minimum(
                self.propensity[index] * PURCHASE_LIFT + PURCHASE_BONUS, MAX_PROPENSITY
            )

    def end_of_day(self, rng: np.random.Generator) -> None:
        """Decay everyone, churn a few outright, drop those who will not come back."""
        self.propensity *= DAILY_DECAY
        self.propensity[rng.random(len(self.ids)) < DAILY_CHURN_HAZARD] = 0.0
        keep = self.propensity >= GONE_BELOW
        if not keep.all():
            self.ids = [buyer for buyer, kept in zip(self.ids, keep.tolist(), strict=True) if kept]
            self.propensity = self.propensity[keep]
            self.keys = self.keys[keep]
