"""Benchmark and scoring of the forecast service (figures in BENCHMARKS.md, section "Forecast").

    uv run --frozen python -m bench.forecast accuracy   # generator history: sales/traffic/demand
    uv run --frozen python -m bench.forecast public     # prophet-examples and online retail
    uv run --frozen python -m bench.forecast churn      # time-split holdout vs recency-only
    uv run --frozen python -m bench.forecast latency    # cached Forecast through the real server
    uv run --frozen python -m bench.forecast training   # 100+ shop and 1,000+ product series
    uv run --frozen python -m bench.forecast intermittent  # products: the choice before/after TSB
    uv run --frozen python -m bench.forecast inventory  # products: reorder points held?
    uv run --frozen python -m bench.forecast inventory-latency  # advice on a whole catalogue

`accuracy` and `churn` read `.run/forecast-bench/history.ndjson`, written first with
`shopee-generator history --out .run/forecast-bench/history.ndjson --end 2026-11-24` (4 shops,
730 days, scale 1); `training` reads `.run/forecast-bench/scale.ndjson` (`--shops 34
--products-per-shop 30 --days 400 --scale 0.25 --no-incidents`, same --end). The daily series
are computed offline from the NDJSON with the KPI registry's definitions (bench/forecast_data.py).
`latency` needs the local stack (PostgreSQL and Redis). `intermittent` backtests the generator's
products (`--products` per shop) and Online Retail's (`--retail-products`, of varied volume) and
compares, on the same backtest, the choice before TSB and RMSSE for intermittent series (MASE
among Prophet, ETS and seasonal-naive) with the choice now.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from bench.forecast_data import GeneratedData, read_history, retail_product_units
from bench.machine import describe_machine
from shopee_common.marketplace import market_of
from shopee_forecast.csv_series import CsvFormat, read_daily_series
from shopee_forecast.domain.accuracy import Scores
from shopee_forecast.domain.campaigns import REGRESSORS, CampaignRegressors, no_regressors
from shopee_forecast.domain.churn import PAID, spend_pace, train_churn, value_at_risk
from shopee_forecast.domain.models import SEASONAL_NAIVE, SeriesContext
from shopee_forecast.domain.selection import (
    MIN_TRAIN_DAYS,
    REGULAR_MODELS,
    Backtest,
    SeriesHistory,
    backtest,
    choose,
    plan_backtest,
    served_folds,
)
from shopee_forecast.domain.series import SeriesKey, Target, daily_frame
from shopee_forecast.training import (
    ForecastArtefact,
    Outcome,
    SeriesTask,
    TrainingOptions,
    make_executor,
    run_series_task,
)

BENCH_DIR = Path(".run/forecast-bench")
DATA = Path("../shared/data")
SHOP_KPIS = {"gmv": Target.GMV, "paid_orders": Target.ORDERS, "unique_visitors": Target.VISITORS}
PUBLIC_SERIES = (
    ("prophet-examples/example_wp_log_peyton_manning.csv", CsvFormat.PROPHET, True),
    ("prophet-examples/example_wp_log_R.csv", CsvFormat.PROPHET, True),
    ("prophet-examples/example_pedestrians_covid.csv", CsvFormat.PROPHET, False),
    ("online-retail-uci-sample/online_retail_sample.csv", CsvFormat.ONLINE_RETAIL, False),
)
RETAIL = DATA / "online-retail-uci-sample/online_retail_sample.csv"


@dataclass(frozen=True)
class Job:
    """One series to backtest (picklable for the worker processes)."""

    name: str
    history: SeriesHistory
    horizon: int
    folds: int


@dataclass(frozen=True)
class Result:
    name: str
    backtest: Backtest
    # The chosen model's error on each fold's horizon total, percent (signed: forecast over
    # actual): the sum of the days' expected values, and the sum of their medians (what the
    # total was before `expected`).
    total_errors: list[float]
    total_errors_medians: list[float]
    seconds: float

    @property
    def total_ape(self) -> float:
        return _mean_abs(self.total_errors)

    @property
    def total_ape_medians(self) -> float:
        return _mean_abs(self.total_errors_medians)


def run_job(job: Job) -> Result:
    """Backtest every model on one series, in a worker process."""
    started = time.perf_counter()
    result = backtest(job.history, plan_backtest(len(job.history.frame), job.horizon, job.folds))
    # The error on the horizon's total (what a seller plans stock and budgets with), each fold
    # calibrated on the others as the served forecast is.
    folds = [
        f for f in served_folds(result.chosen, result.folds[result.chosen]) if f["actual"].sum() > 0
    ]
    return Result(
        job.name,
        result,
        _total_errors(folds, "expected"),
        _total_errors(folds, "value"),
        time.perf_counter() - started,
    )


def _total_errors(folds: list[pd.DataFrame], column: str) -> list[float]:
    return [(f[column].sum() - f["actual"].sum()) / f["actual"].sum() * 100 for f in folds]


def _mean_abs(errors: list[float]) -> float:
    return float(np.mean(np.abs(errors))) if errors else float("nan")


def shop_history(data: GeneratedData, shop: str, kpi: str, product: str = "") -> SeriesHistory:
    """A generated shop's daily series, with its market's calendar and its campaigns."""
    zone = data.time_zones[shop]
    shop_days = data.series[(data.series["shop"] == shop) & (data.series["product"] == "")]
    rows = data.series[
        (data.series["shop"] == shop)
        & (data.series["product"] == product)
        & (data.series["kpi"] == kpi)
    ]
    frame = daily_frame(
        zip(rows["date"], rows["value"], strict=True),
        shop_days["date"].min(),
        shop_days["date"].max(),
    )
    return SeriesHistory(
        frame=frame,
        context=SeriesContext(market_of(None, zone), REGRESSORS),
        time_zone=zone,
        regressors_at=CampaignRegressors(tuple(data.campaigns.get(shop, [])), zone, product),
    )


def top_products(data: GeneratedData, shop: str, count: int) -> list[str]:
    units = data.series[
        (data.series["shop"] == shop)
        & (data.series["kpi"] == "units")
        & (data.series["product"] != "")
    ]
    ranked = units.groupby("product")["value"].sum().sort_values(ascending=False)
    return [str(p) for p in ranked.index[: count if count > 0 else None]]


def run_parallel(executor: Executor, jobs: Sequence[Job]) -> list[Result]:
    """Every job in the process pool (both cores), printing a dot per finished series."""
    results = []
    for result in executor.map(run_job, jobs):
        results.append(result)
        print(".", end="", flush=True)
    print()
    return results


def _f(value: float, digits: int = 1) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}"


def print_results(title: str, results: Sequence[Result]) -> None:
    """A markdown table: every model of every series, the chosen one marked."""
    print(f"\n### {title}\n")
    print(
        "| series | model | MAPE % | sMAPE % | MASE | cover 80% | cover 95% "
        "| total APE % | total APE % (sum of medians) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for result in results:
        chosen = result.backtest.chosen
        for index, score in enumerate(result.backtest.scores):
            mark = f"**{score.model}**" if score.model == chosen else score.model
            totals = (
                f"{_f(result.total_ape)} | {_f(result.total_ape_medians)}"
                if score.model == chosen
                else " | "
            )
            print(
                f"| {result.name if index == 0 else ''} | {mark} | {_f(score.mape)} | "
                f"{_f(score.smape)} | {_f(score.mase, 2)} | {_f(score.coverage_80 * 100, 0)} | "
                f"{_f(score.coverage_95 * 100, 0)} | {totals} |"
            )


def summarise(results: Sequence[Result]) -> None:
    """How often the chosen model beats seasonal-naive on MASE, and its coverage range."""
    beats, chosen_scores = 0, []
    for result in results:
        scores = {s.model: s for s in result.backtest.scores}
        best = scores[result.backtest.chosen]
        chosen_scores.append(best)
        naive = scores[SEASONAL_NAIVE]
        beats += int(best.model != SEASONAL_NAIVE and best.mase < naive.mase)
    cover = [s.coverage_95 for s in chosen_scores]
    print(
        f"\nchosen model beats seasonal-naive on MASE: {beats}/{len(results)} series; "
        f"chosen 95% coverage {min(cover):.2f}-{max(cover):.2f} (mean {statistics.mean(cover):.2f}); "
        f"chosen: {pd.Series([s.model for s in chosen_scores]).value_counts().to_dict()}"
    )
    for label, errors in (
        ("sums of expected values", [r.total_errors for r in results]),
        ("sums of medians", [r.total_errors_medians for r in results]),
    ):
        folds = [e for series in errors for e in series]
        print(
            f"horizon totals as {label}: off by {_mean_abs(folds):.1f}% on average over "
            f"{len(folds)} series-folds, {statistics.mean(folds):+.1f}% in the mean (bias)"
        )


def noise_floor(
    data: GeneratedData, shop: str, last_days: int, draws: int = 2_000
) -> tuple[float, float]:
    """The daily MAPE (GMV, paid orders) that even the true expected value would score, from
    order-level randomness alone, by simulation: each day's orders Poisson around the day's count,
    their values drawn from the period's orders, each draw scored as the backtest scores a day,
    |S - E S| / S (a day without orders has no percentage error and is left out). Dividing by
    the draw, not by its mean, is what a closed form sqrt(2/pi) x sd / mean misses: a thin day
    has both the largest error and the smallest denominator."""
    orders = data.orders[
        (data.orders["shop"] == shop) & (data.orders["status"] == "ORDER_STATUS_PAID")
    ]
    zone = data.time_zones[shop]
    days = pd.to_datetime(orders["occurred_at"], utc=True).dt.tz_convert(zone).dt.date
    recent = orders.assign(day=days.to_numpy())
    recent = recent[recent["day"].isin(sorted(set(recent["day"]))[-last_days:])]
    values = recent["gmv_minor"].to_numpy(dtype="float64")
    rng = np.random.default_rng(0)
    gmv_errors, order_errors = [], []
    for expected_orders in recent.groupby("day").size().to_numpy(dtype="float64"):
        counts = rng.poisson(expected_orders, draws)
        counts = counts[counts > 0]
        drawn = rng.choice(values, int(counts.sum()))
        sums = np.add.reduceat(drawn, np.concatenate(([0], np.cumsum(counts)[:-1])))
        expected_gmv = expected_orders * values.mean()
        gmv_errors.append(float(np.mean(np.abs(sums - expected_gmv) / sums)))
        order_errors.append(float(np.mean(np.abs(counts - expected_orders) / counts)))
    return float(np.mean(gmv_errors) * 100), float(np.mean(order_errors) * 100)


def accuracy(args: argparse.Namespace) -> None:
    data = read_history(Path(args.history))
    jobs = []
    for shop in sorted(data.time_zones):
        for kpi in args.kpis:
            jobs.append(
                Job(f"{shop} {kpi}", shop_history(data, shop, kpi), args.horizon, args.folds)
            )
        for product in top_products(data, shop, args.products) if args.products > 0 else []:
            history = shop_history(data, shop, "units", product)
            jobs.append(Job(f"{shop} units {product}", history, args.horizon, args.folds))
    started = time.perf_counter()
    results = run_parallel(make_executor(args.workers), jobs)
    print(f"{len(jobs)} series backtested in {time.perf_counter() - started:.0f} s")
    shop_level = [r for r in results if " units " not in r.name]
    print_results(f"Shops: {args.folds} folds x {args.horizon} days", shop_level)
    summarise(shop_level)
    products = [r for r in results if " units " in r.name]
    if products:
        print_results("Products (units)", products)
        summarise(results)
    print("\nDaily noise floor (MAPE of the true mean, order-level randomness only, simulated):")
    for shop in sorted(data.time_zones):
        gmv, paid_orders = noise_floor(data, shop, args.horizon * args.folds)
        print(f"  {shop}: GMV {gmv:.1f}%, paid orders {paid_orders:.1f}%")


def public(args: argparse.Namespace) -> None:
    jobs = []
    for relative, fmt, log_values in PUBLIC_SERIES:
        frame = read_daily_series(DATA / relative, fmt, log_values)
        history = SeriesHistory(frame, SeriesContext(""), "UTC", no_regressors)
        for horizon in args.horizons:
            jobs.append(Job(f"{Path(relative).stem} h={horizon}", history, horizon, args.folds))
    results = run_parallel(make_executor(args.workers), jobs)
    print_results(f"Public series: {args.folds} folds", results)
    summarise(results)


@dataclass(frozen=True)
class Choice:
    """One series' chosen model under a choice rule, with its backtest as served."""

    scores: Scores
    folds: list[pd.DataFrame]

    @staticmethod
    def of(result: Backtest, model: str) -> Choice:
        scores = {score.model: score for score in result.scores}
        return Choice(scores[model], served_folds(model, result.folds[model]))


def choice_before(result: Backtest) -> str:
    """The choice before TSB: the lowest MASE among the three models, whatever the series."""
    return choose([score for score in result.scores if score.model in REGULAR_MODELS])


def _median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else float("nan")


def choice_row(label: str, choices: Sequence[Choice]) -> str:
    """A markdown row: the horizon totals of `expected` (mean abs % and bias over the folds that
    sold, and the bias of all the folds' sum), 95% coverage, MASE and RMSSE (median)."""
    folds = [fold for choice in choices for fold in choice.folds]
    sold = [fold for fold in folds if fold["actual"].sum() > 0]
    errors = _total_errors(sold, "expected")
    forecast = sum(float(fold["expected"].sum()) for fold in folds)
    actual = sum(float(fold["actual"].sum()) for fold in folds)
    models = pd.Series([c.scores.model for c in choices]).value_counts().to_dict()
    return (
        f"| {label} | {len(choices)} | {', '.join(f'{m} {n}' for m, n in models.items())} | "
        f"{_f(_mean_abs(errors))} ({len(errors)}) | "
        f"{_f(statistics.mean(errors) if errors else math.nan, 1)} | "
        f"{_f((forecast / actual - 1) * 100 if actual else math.nan)} | "
        f"{_f(statistics.mean(c.scores.coverage_95 for c in choices) * 100)} | "
        f"{_f(_median([c.scores.mase for c in choices]), 2)} | "
        f"{_f(_median([c.scores.rmsse for c in choices]), 3)} |"
    )


def print_choices(title: str, results: Sequence[Result]) -> None:
    """Before and after, for the intermittent series and the others, then series by series."""
    print(f"\n### {title}\n")
    print(
        "| series | n | chosen | total APE % (folds that sold) | total bias % (same folds) | "
        "bias of all folds' summed totals % | cover 95% | MASE median | RMSSE median |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for kind, intermittent in (("intermittent", True), ("not intermittent", False)):
        group = [r.backtest for r in results if r.backtest.intermittent == intermittent]
        if group:
            print(choice_row(f"{kind}, before", [Choice.of(b, choice_before(b)) for b in group]))
            print(choice_row(f"{kind}, after", [Choice.of(b, b.chosen) for b in group]))
    print("\n| series | demand days | actual units | before: model, expected | after |")
    print("|---|---:|---:|---|---|")
    for result in results:
        if not result.backtest.intermittent:
            continue
        folds = next(iter(result.backtest.folds.values()))
        actual = np.concatenate([fold["actual"].to_numpy() for fold in folds])
        cells = []
        for model in (choice_before(result.backtest), result.backtest.chosen):
            expected = sum(f["expected"].sum() for f in Choice.of(result.backtest, model).folds)
            cells.append(f"{model} {expected:.1f}")
        print(
            f"| {result.name} | {np.count_nonzero(actual)}/{len(actual)} | {actual.sum():.0f} | "
            f"{cells[0]} | {cells[1]} |"
        )


def product_jobs(args: argparse.Namespace) -> tuple[list[Job], list[Job], int]:
    """The generator's top `--products` of each shop, and `--retail-products` UCI Online Retail
    products spread evenly over the ranking by days with a sale, among those with the history for
    every fold and a few sales to learn from; and how many were eligible."""
    data = read_history(Path(args.history))
    generated = [
        Job(
            f"{shop} {product}",
            shop_history(data, shop, "units", product),
            args.horizon,
            args.folds,
        )
        for shop in sorted(data.time_zones)
        for product in top_products(data, shop, args.products)
    ]
    retail = retail_product_units(RETAIL)
    eligible = sorted(
        (
            (code, frame)
            for code, frame in retail.items()
            if len(frame) >= plan_days(args) and (frame["y"] > 0).sum() >= args.retail_min_days
        ),
        key=lambda item: -int((item[1]["y"] > 0).sum()),
    )
    picks = np.unique(np.linspace(0, len(eligible) - 1, args.retail_products).round().astype(int))
    public = [
        Job(
            f"retail {code}",
            SeriesHistory(frame, SeriesContext(""), "UTC", no_regressors),
            args.horizon,
            args.folds,
        )
        for code, frame in (eligible[i] for i in picks)
    ]
    return generated, public, len(eligible)


def intermittent(args: argparse.Namespace) -> None:
    generated, public, eligible = product_jobs(args)
    print(f"load average before: {os.getloadavg()}")
    started = time.perf_counter()
    results = run_parallel(make_executor(args.workers), generated + public)
    print(f"{len(results)} series backtested in {time.perf_counter() - started:.0f} s")
    print(f"load average after: {os.getloadavg()}")
    print_choices(f"Generator products (top {args.products} per shop)", results[: len(generated)])
    print_choices(
        f"Online Retail products ({len(public)} of the {eligible} with "
        f">= {args.retail_min_days} days with a sale)",
        results[len(generated) :],
    )


def plan_days(args: argparse.Namespace) -> int:
    """Days of history for a backtest of every fold at the full horizon."""
    return MIN_TRAIN_DAYS + args.folds * args.horizon


def churn(args: argparse.Namespace) -> None:
    data = read_history(Path(args.history))
    print(
        "\n| shop | buyers | churn rate | ROC AUC | Brier | recency-only AUC | recency-only Brier | s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    rankings = []
    for shop, zone in sorted(data.time_zones.items()):
        orders = data.orders[data.orders["shop"] == shop]
        orders = orders.assign(
            date=pd.to_datetime(orders["occurred_at"], utc=True).dt.tz_convert(zone).dt.date
        )[["buyer_id", "date", "status", "gmv_minor"]]
        visits = data.visits[data.visits["shop"] == shop][["visitor_id", "date", "visits"]]
        started = time.perf_counter()
        model = train_churn(orders, visits, orders["date"].max(), args.churn_horizon)
        h = model.holdout
        print(
            f"| {shop} | {h.buyers} | {h.churn_rate:.3f} | {h.roc_auc:.3f} | {h.brier:.4f} | "
            f"{h.baseline_roc_auc:.3f} | {h.baseline_brier:.4f} | {time.perf_counter() - started:.0f} |"
        )
        rankings += churn_rankings(shop, orders, visits, args.churn_horizon, args.churn_top)
    print(
        f"\nWho to win back: the top {args.churn_top} buyers of each ranking, scored by a model "
        f"trained on the data before the last {args.churn_horizon} days, against what they "
        "spent in those days. Shortfall: what a buyer would have spent at their pace so far "
        "minus what they spent (at least 0); captured: the top's share of all scored buyers' "
        "shortfall."
    )
    print("\n| shop | ranking | churned in the top | shortfall captured |")
    print("|---|---|---:|---:|")
    for shop, ranking, churned, captured in rankings:
        print(f"| {shop} | {ranking} | {churned:.0%} | {captured:.1%} |")


def churn_rankings(
    shop: str, orders: pd.DataFrame, visits: pd.DataFrame, horizon: int, top: int
) -> list[tuple[str, str, float, float]]:
    """The service's churn answer as of `horizon` days before the end of the data (trained on
    what came before), ranked three ways, against what the buyers then did: (shop, ranking,
    share of the top that churned, share of the total shortfall the top holds)."""
    cutoff = orders["date"].max() - timedelta(days=horizon - 1)
    model = train_churn(
        orders[orders["date"] < cutoff],
        visits[visits["date"] < cutoff],
        cutoff - timedelta(days=1),
        horizon,
    )
    scored = model.scores.assign(value_at_risk=value_at_risk(model.scores, horizon))
    paid = orders[(orders["status"] == PAID) & (orders["date"] >= cutoff)]
    spent = paid.groupby("buyer_id")["gmv_minor"].sum().reindex(scored.index, fill_value=0)
    pace = spend_pace(scored, horizon)
    shortfall = (pace - spent).clip(lower=0)
    churned = ~scored.index.isin(paid["buyer_id"])
    orderings = {
        "probability": scored["probability"],
        "spend pace alone": pace,
        "value at risk": scored["value_at_risk"],
    }
    rows = []
    for name, key in orderings.items():
        chosen = key.nlargest(top).index
        rows.append(
            (
                shop,
                name,
                float(churned[scored.index.isin(chosen)].mean()),
                float(shortfall[chosen].sum() / shortfall.sum()),
            )
        )
    return rows


def timed_series_task(task: SeriesTask) -> tuple[Outcome, float]:
    """The service's training task, with the CPU seconds its worker process spent on it."""
    started = time.process_time()
    outcome = run_series_task(task)
    return outcome, time.process_time() - started


def training(args: argparse.Namespace) -> None:
    data = read_history(Path(args.history))
    options = TrainingOptions(args.horizon, args.folds)
    tasks = []
    for shop in sorted(data.time_zones):
        for kpi, target in SHOP_KPIS.items():
            tasks.append(
                SeriesTask(SeriesKey(shop, target), shop_history(data, shop, kpi), options)
            )
        for product in top_products(data, shop, 0):
            key = SeriesKey(shop, Target.UNITS, product)
            tasks.append(SeriesTask(key, shop_history(data, shop, "units", product), options))
    shop_series = sum(1 for t in tasks if not t.key.product_id)
    print(f"training {shop_series} shop series and {len(tasks) - shop_series} product series")
    print(f"load average before: {os.getloadavg()}")
    executor = make_executor(args.workers)
    machine_before = _cpu_seconds()
    started = time.perf_counter()
    outcomes, worker_cpu = [], 0.0
    for outcome, cpu in executor.map(timed_series_task, tasks):
        outcomes.append(outcome)
        worker_cpu += cpu
        if len(outcomes) % 100 == 0:
            print(
                f"  {len(outcomes)}/{len(tasks)} after {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    wall = time.perf_counter() - started
    machine_busy = (_cpu_seconds() - machine_before) / wall
    fits = [o.seconds for o in outcomes]
    trained = [o for o in outcomes if o.result is not None]
    print(
        f"{len(outcomes)} series in {wall:.0f} s wall ({len(trained)} trained, "
        f"{len(outcomes) - len(trained)} skipped); per series median {statistics.median(fits):.2f} s, "
        f"p95 {np.percentile(fits, 95):.2f} s wall in its worker"
    )
    print(
        f"worker CPU {worker_cpu:.0f} s = {worker_cpu / wall:.2f} cores busy with training on "
        f"average; whole machine {machine_busy:.2f} of {os.cpu_count()} cores busy "
        f"(other processes included); load average after: {os.getloadavg()}"
    )
    chosen = pd.Series(
        [o.result.trained.chosen for o in trained if isinstance(o.result, ForecastArtefact)]
    )
    print(f"chosen models: {chosen.value_counts().to_dict()}")


def _cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [float(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / 100  # USER_HZ


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "section",
        choices=[
            "accuracy",
            "public",
            "churn",
            "latency",
            "training",
            "intermittent",
            "inventory",
            "inventory-latency",
        ],
    )
    parser.add_argument("--history", default=str(BENCH_DIR / "history.ndjson"))
    parser.add_argument("--horizon", type=int, default=30)
    parser.add_argument("--horizons", type=int, nargs="+", default=[7, 30, 90])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument(
        "--products", type=int, default=5, help="top products per shop (accuracy, intermittent)"
    )
    parser.add_argument("--retail-products", type=int, default=50, help="(intermittent)")
    parser.add_argument(
        "--retail-min-days", type=int, default=5, help="days with a sale (intermittent)"
    )
    parser.add_argument("--kpis", nargs="+", default=list(SHOP_KPIS), choices=list(SHOP_KPIS))
    parser.add_argument("--workers", type=int, default=-1)
    parser.add_argument("--churn-horizon", type=int, default=30)
    parser.add_argument("--churn-top", type=int, default=100, help="buyers a ranking lists (churn)")
    parser.add_argument("--requests", type=int, default=2000, help="cached calls (latency)")
    parser.add_argument(
        "--catalog", type=int, default=200, help="products of the shop (inventory-latency)"
    )
    args = parser.parse_args()
    print(describe_machine())
    if args.section == "latency":
        from bench.forecast_latency import latency

        latency(args)
    elif args.section == "inventory-latency":
        from bench.forecast_latency import inventory_latency

        inventory_latency(args)
    elif args.section == "inventory":
        from bench.forecast_inventory import inventory

        inventory(args)
    else:
        {
            "accuracy": accuracy,
            "public": public,
            "churn": churn,
            "training": training,
            "intermittent": intermittent,
        }[args.section](args)


if __name__ == "__main__":
    main()
