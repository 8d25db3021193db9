"""Background work that must leave the job's loop and database to the batches: it rests after
each piece in proportion to the time the piece took (anomaly detection, member pruning)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
# Detection is Python CPU work. Run in a thread, it held the GIL against the loop that writes the
# batches (every socket call of theirs then waited for it): with 60 shops' history to judge, the
# p99 latency to `kpi.updates` went from about 0.2 s to 1 to 4 s. On the loop, in slices this
# long, a batch waits at most a slice at each of its awaits.
SLICE_SECONDS = 0.005


@dataclass(frozen=True)
class DutyCycle:
    """Work at most `share` of the time: after `busy` seconds of work, rest the rest."""

    share: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise ValueError(f"share must be in (0, 1], got {self.share}")

    async def rest(self, busy: float) -> None:
        await asyncio.sleep(busy * (1 - self.share) / self.share)


@dataclass(frozen=True)
class Slicer:
    """Runs CPU work on the loop in slices of `SLICE_SECONDS`, resting after each as `duty`
    says."""

    duty: DutyCycle = DutyCycle()

    async def map(self, items: Iterable[T], work: Callable[[T], Iterable[R] | None]) -> list[R]:
        """`work` on each item in order; what the calls return, concatenated."""
        results: list[R] = []
        started = time.perf_counter()
        for item in items:
            found = work(item)
            if found:
                results.extend(found)
            busy = time.perf_counter() - started
            if busy >= SLICE_SECONDS:
                await self.duty.rest(busy)
                started = time.perf_counter()
        return results
