"""A fit (a series' or a shop's churn model) that runs past SHOPEE_FORECAST_FIT_SECONDS_LIMIT is
given up as skipped, so that it cannot hold its training job (and every later scheduled
retrain) for ever."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from shopee_forecast.domain.selection import SeriesHistory
from shopee_forecast.domain.series import SeriesKey, Target
from shopee_forecast.training import (
    ChurnTask,
    FitTooLong,
    SeriesTask,
    Trainer,
    TrainingOptions,
    make_executor,
    run_churn_task,
    run_series_task,
    time_limit,
)


def test_a_block_past_its_limit_is_interrupted_and_the_timer_before_it_kept() -> None:
    """The timer before the block (pytest-timeout's, on this test) is set again after it."""
    before = signal.getsignal(signal.SIGALRM)
    outer = signal.getitimer(signal.ITIMER_REAL)[0]
    started = time.perf_counter()
    with pytest.raises(FitTooLong, match=r"longer than 0\.05 s"), time_limit(0.05):
        time.sleep(5)
    assert time.perf_counter() - started < 1
    assert signal.getsignal(signal.SIGALRM) is before
    with time_limit(5):
        pass
    after = signal.getitimer(signal.ITIMER_REAL)[0]
    if outer > 0:
        assert 0 < after <= outer
    else:
        assert after == 0


def test_no_limit_outside_the_main_thread_or_at_zero() -> None:
    """Signals reach only a process's main thread: in a thread (the tests' in-process pools) the
    fit runs without a limit rather than failing."""
    finished: list[bool] = []

    def fit() -> None:
        with time_limit(0.01):
            time.sleep(0.05)
        finished.append(True)

    thread = threading.Thread(target=fit)
    thread.start()
    thread.join()
    with time_limit(0):
        time.sleep(0.02)
    assert finished == [True]


def test_a_series_whose_fit_runs_too_long_is_skipped_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, sales_history: Callable[..., SeriesHistory]
) -> None:
    def endless(*_: Any) -> None:
        while True:
            time.sleep(0.01)

    monkeypatch.setattr("shopee_forecast.training.train_series", endless)
    task = SeriesTask(
        SeriesKey("s1", Target.GMV, ""),
        sales_history(120),
        TrainingOptions(fit_seconds_limit=0.1),
    )
    outcome = run_series_task(task)
    assert outcome.result is None
    assert outcome.skipped == "the fit took longer than 0.1 s and was given up"
    assert outcome.seconds < 2


def test_a_churn_fit_that_runs_too_long_is_skipped_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def endless(*_: Any) -> None:
        while True:
            time.sleep(0.01)

    monkeypatch.setattr("shopee_forecast.training.train_churn", endless)
    empty = pd.DataFrame()
    outcome = run_churn_task(ChurnTask("s1", empty, empty, None, 30, fit_seconds_limit=0.1))
    assert (outcome.name, outcome.result) == ("forecast/s1/churn", None)
    assert outcome.skipped == "the fit took longer than 0.1 s and was given up"
    assert outcome.seconds < 2


async def test_the_limit_holds_in_the_pools_worker_processes(
    sales_history: Callable[..., SeriesHistory],
) -> None:
    """Where the service fits: a loky worker process, whose main thread runs the fit. A limit no
    real fit can meet skips the series; the worker is still there for the next fit."""
    executor = make_executor(1)
    trainer = Trainer(None, None, executor, TrainingOptions())  # type: ignore[arg-type]
    history = sales_history(120)
    key = SeriesKey("s1", Target.GMV, "")
    try:
        [(outcome, version)] = await trainer.run(
            [SeriesTask(key, history, TrainingOptions(fit_seconds_limit=0.001))]
        )
        assert (outcome.result, version) == (None, None)
        assert outcome.skipped == "the fit took longer than 0.001 s and was given up"
        fitted = await asyncio.get_running_loop().run_in_executor(
            executor, run_series_task, SeriesTask(key, history, TrainingOptions(folds=1))
        )
        assert fitted.result is not None
    finally:
        executor.shutdown(wait=True)
