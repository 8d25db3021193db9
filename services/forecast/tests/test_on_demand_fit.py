"""An on-demand fit outlives a caller that gives up, and concurrent callers share one fit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from shopee_forecast.predictions import Predictor
from shopee_models.registry import ModelVersion

VERSION = ModelVersion(
    model_name="forecast/shop/gmv",
    version="v1",
    kind="sales_forecast",
    artefact_uri="memory://v1",
    metadata={},
    backtest_scores={},
    status="active",
    trained_at=datetime(2026, 11, 25, tzinfo=UTC),
)


class _Registry:
    def __init__(self) -> None:
        self.registered: ModelVersion | None = None

    async def active(self, name: str) -> ModelVersion | None:
        return self.registered


class _SlowTrainer:
    def __init__(self, registry: _Registry) -> None:
        self.registry = registry
        self.runs = 0

    async def run(self, tasks: list[Any]) -> list[tuple[Any, ModelVersion]]:
        self.runs += 1
        await asyncio.sleep(0.3)
        self.registry.registered = VERSION
        return [(object(), VERSION)]


async def test_a_fit_survives_an_impatient_caller_and_is_shared() -> None:
    registry = _Registry()
    trainer = _SlowTrainer(registry)
    predictor = Predictor(store=None, registry=registry, cache=None, trainer=trainer)  # type: ignore[arg-type]

    async def train() -> Any:
        return object()

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(predictor._trained(VERSION.model_name, train), 0.05)
    first, second = await asyncio.gather(
        predictor._trained(VERSION.model_name, train),
        predictor._trained(VERSION.model_name, train),
    )
    assert first == second == VERSION
    assert trainer.runs == 1


async def test_shutdown_cancels_a_fit_in_flight() -> None:
    registry = _Registry()
    trainer = _SlowTrainer(registry)
    predictor = Predictor(store=None, registry=registry, cache=None, trainer=trainer)  # type: ignore[arg-type]

    async def train() -> Any:
        return object()

    caller = asyncio.create_task(predictor._trained(VERSION.model_name, train))
    await asyncio.sleep(0.05)
    predictor.cancel_shared_work()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.sleep(0.4)
    assert registry.registered is None
    assert predictor._fits.running == []
