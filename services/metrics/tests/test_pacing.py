"""Paced background work: in order, handing the loop back, keeping to its share."""

from __future__ import annotations

import asyncio
import time

import pytest

from shopee_metrics.adapters.pacing import SLICE_SECONDS, DutyCycle, Slicer


def test_sliced_work_hands_the_loop_back_keeps_the_order_and_its_share() -> None:
    def slow_double(value: int) -> list[int]:
        until = time.perf_counter() + SLICE_SECONDS / 2
        while time.perf_counter() < until:
            pass
        return [2 * value]

    async def scenario(share: float) -> tuple[list[int], int, float]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0)
                ticks += 1

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        started, began = ticks, time.perf_counter()
        results = await Slicer(DutyCycle(share)).map(range(40), slow_double)
        took = time.perf_counter() - began
        task.cancel()
        return results, ticks - started, took

    results, ticks, alone = asyncio.run(scenario(1.0))
    assert results == [2 * value for value in range(40)]
    assert ticks >= 10  # 40 items of half a slice each: the loop ran about every second item
    results, _, shared = asyncio.run(scenario(0.25))
    assert results == [2 * value for value in range(40)]
    # 0.1 s of work with a quarter of the loop: about 0.4 s.
    assert shared >= 3 * alone


@pytest.mark.parametrize("share", [0.0, -0.5, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match=r"share must be in \(0, 1\]"):
        DutyCycle(share)
