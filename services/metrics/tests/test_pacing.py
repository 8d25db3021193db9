"""Paced background work: in order, handing the loop back, keeping to its share."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest

from shopee_metrics.adapters.pacing import SLICE_SECONDS, DutyCycle, Slicer


@dataclass(frozen=True)
class RecordedDuty(DutyCycle):
    """A duty cycle that notes the busy time of each rest it is asked for."""

    rests: list[float] = field(default_factory=list)

    async def rest(self, busy: float) -> None:
        self.rests.append(busy)
        await super().rest(busy)


def test_sliced_work_hands_the_loop_back_in_slices_and_keeps_the_order() -> None:
    def slow_double(value: int) -> list[int]:
        until = time.perf_counter() + SLICE_SECONDS / 2
        while time.perf_counter() < until:
            pass
        return [2 * value]

    async def scenario(duty: DutyCycle) -> tuple[list[int], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0)
                ticks += 1

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        started = ticks
        results = await Slicer(duty).map(range(40), slow_double)
        task.cancel()
        return results, ticks - started

    duty = RecordedDuty(0.25)
    results, ticks = asyncio.run(scenario(duty))
    assert results == [2 * value for value in range(40)]
    # 40 items of half a slice each: the loop ran about every second item, after a rest.
    assert ticks >= 10
    assert 20 <= len(duty.rests) <= 40  # a rest after every second item, or every item if slowed
    assert all(busy >= SLICE_SECONDS for busy in duty.rests)


def test_a_rest_leaves_the_loop_the_rest_of_the_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wall time, not measured here (a loaded machine stretches it): the rest asked for."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    for share in (1.0, 0.5, 0.25):
        asyncio.run(DutyCycle(share).rest(0.1))
    assert slept == pytest.approx([0.0, 0.1, 0.3])


@pytest.mark.parametrize("share", [0.0, -0.5, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match=r"share must be in \(0, 1\]"):
        DutyCycle(share)
