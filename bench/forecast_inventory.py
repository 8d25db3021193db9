"""Inventory advice scored on the backtest: does the reorder point hold the service level?

    uv run --frozen python -m bench.forecast inventory --products 40 --retail-products 50

For each product of `bench.forecast intermittent`'s set (the generator's top products per shop,
UCI Online Retail products of varied volume) and each backtest fold, the advice the service
would have given at the fold's origin, from the chosen model's forecast as served (intervals
cross-fitted on the other folds), against what sold over the lead time after it. A reorder point
at service level s should cover the lead time's demand in a share s of the cycles (the cycle
service level, Silver, Pyke & Peterson ch. 6); a method that covers more holds stock it did not
need, one that covers less runs out. Beside it, on the same origins: the textbook reorder point
on the same forecast (normal, the days independent: what the service served before), and on the
mean and spread of the last 28 days (the service's fallback for a product without a model).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm  # type: ignore[import-untyped]

from bench.forecast import Job, Result, product_jobs, run_parallel
from shopee_forecast.domain.accuracy import FloatArray
from shopee_forecast.domain.inventory import RECENT_DEMAND_WINDOW_DAYS, DemandForecast, advise
from shopee_forecast.domain.selection import served_folds
from shopee_forecast.predictions import RECENT_DEMAND_DAYS
from shopee_forecast.training import make_executor

LEAD_TIMES = (7, 14)
SERVICE_LEVELS = (0.9, 0.95, 0.99)
REVIEW_PERIOD_DAYS = 14
SERVED = "model, negative binomial (served)"
INDEPENDENT = "model, normal, days independent"
FALLBACK = "last 28 days, normal"


@dataclass(frozen=True)
class Cycle:
    """One reorder decision: a series' fold origin, a lead time, a service level, a method."""

    group: str
    series: str
    lead_time: int
    service_level: float
    method: str
    reorder_point: float
    demand: float


def normal_reorder_point(mean: FloatArray, sigma: FloatArray, level: float) -> float:
    """The textbook reorder point: the lead time's mean plus z x its sigma, the days taken as
    independent normal variables (what the service did before the negative binomial)."""
    return float(mean.sum() + norm.ppf(level) * math.sqrt(float(np.sum(sigma**2))))


def cycles(group: str, job: Job, result: Result) -> list[Cycle]:
    chosen = result.backtest.chosen
    frame = job.history.frame
    rows = []
    for fold in served_folds(chosen, result.backtest.folds[chosen]):
        origin = pd.Timestamp(fold["ds"].iloc[0])
        before = frame[frame["ds"] < origin]["y"].to_numpy(dtype=np.float64)
        forecast = DemandForecast(
            history_end=origin.date(),
            mean=fold["expected"].to_numpy(dtype=np.float64),
            lower_95=fold["lower_95"].to_numpy(dtype=np.float64),
            upper_95=fold["upper_95"].to_numpy(dtype=np.float64),
            recent=before[-RECENT_DEMAND_WINDOW_DAYS:],
        )
        last_days = before[-RECENT_DEMAND_DAYS:]
        actual = fold["actual"].to_numpy(dtype=np.float64)
        for lead_time in LEAD_TIMES:
            demand = float(actual[:lead_time].sum())
            flat_mean = np.full(lead_time, last_days.mean())
            flat_sigma = np.full(lead_time, last_days.std(ddof=1))
            for level in SERVICE_LEVELS:
                points = {
                    SERVED: advise(forecast, 0, level, lead_time, REVIEW_PERIOD_DAYS).reorder_point,
                    INDEPENDENT: normal_reorder_point(
                        forecast.mean[:lead_time], forecast.sigma()[:lead_time], level
                    ),
                    FALLBACK: normal_reorder_point(flat_mean, flat_sigma, level),
                }
                rows.extend(
                    Cycle(group, job.name, lead_time, level, method, point, demand)
                    for method, point in points.items()
                )
    return rows


def report(table: pd.DataFrame) -> None:
    """Per group, lead time and method: the share of cycles covered at each service level, the
    units short as a share of the demand, and the reorder point against the mean demand."""
    print(
        "\n| products | lead time | method | cycles | "
        + " | ".join(f"covered at {level:.0%}" for level in SERVICE_LEVELS)
        + " | short at 95% | reorder point at 95% / mean demand |"
    )
    print("|---|---:|---|---:|" + "---:|" * (len(SERVICE_LEVELS) + 2))
    for (group, lead_time, method), rows in table.groupby(
        ["group", "lead_time", "method"], sort=False
    ):
        covered = rows.assign(hit=rows["reorder_point"] >= rows["demand"])
        at = {level: covered[covered["service_level"] == level] for level in SERVICE_LEVELS}
        at_95 = at[0.95]
        short = (at_95["demand"] - at_95["reorder_point"]).clip(lower=0).sum()
        print(
            f"| {group} | {lead_time} | {method} | {len(at_95)} | "
            + " | ".join(f"{at[level]['hit'].mean():.1%}" for level in SERVICE_LEVELS)
            + f" | {short / at_95['demand'].sum():.1%} | "
            f"{at_95['reorder_point'].mean() / at_95['demand'].mean():.2f} |"
        )


def inventory(args: argparse.Namespace) -> None:
    generated, public, eligible = product_jobs(args)
    jobs: Sequence[Job] = generated + public
    print(f"load average before: {os.getloadavg()}")
    started = time.perf_counter()
    results = run_parallel(make_executor(args.workers), jobs)
    print(f"{len(results)} series backtested in {time.perf_counter() - started:.0f} s")
    print(f"load average after: {os.getloadavg()}")
    rows: list[Cycle] = []
    for index, (job, result) in enumerate(zip(jobs, results, strict=True)):
        source = "generator" if index < len(generated) else "Online Retail"
        kind = "intermittent" if result.backtest.intermittent else "regular"
        rows.extend(cycles(f"{source}, {kind}", job, result))
    print(
        f"{len(generated)} generator products, {len(public)} Online Retail products of the "
        f"{eligible} eligible; {args.folds} folds each"
    )
    report(pd.DataFrame(rows))
