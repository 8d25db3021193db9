"""`shopee-forecast train | evaluate | serve`: the command line of the forecast service."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shopee_common.logging import configure_logging
from shopee_forecast.csv_series import CsvFormat, read_daily_series
from shopee_forecast.domain.campaigns import no_regressors
from shopee_forecast.domain.models import SeriesContext
from shopee_forecast.domain.selection import Backtest, SeriesHistory, backtest, plan_backtest
from shopee_forecast.domain.series import Target
from shopee_forecast.settings import ForecastSettings

app = typer.Typer(
    help="Forecast service: train and register models, score them against the baselines, serve "
    "the gRPC API. Connection settings come from SHOPEE_* variables (see .env.example).",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
)
console = Console()
TARGET_HELP = "Series to train: gmv, orders, visitors, units (per product). Repeat for several."
SHOP_HELP = "Shop id in the database; repeat for several (default: every shop)."
CSV_HELP = "Read one series from this CSV instead of the database."
LOG_HELP = "--csv holds log values (Prophet's Wikipedia examples): exponentiate them."
MARKET_HELP = "Marketplace calendar for --csv: ID, MY, PH, TH, SG or VN ('' = none)."
TARGETS = {
    "gmv": Target.GMV,
    "orders": Target.ORDERS,
    "visitors": Target.VISITORS,
    "units": Target.UNITS,
}


def _targets(names: list[str]) -> list[Target]:
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        raise typer.BadParameter(f"unknown target {unknown[0]!r}; one of {', '.join(TARGETS)}")
    return [TARGETS[n] for n in names] if names else list(TARGETS.values())


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if not math.isfinite(value) else f"{value:.{digits}f}"


def score_table(title: str, rows: list[tuple[str, Backtest | None]]) -> Table:
    """A per-series report: every model's MAPE, sMAPE, MASE, RMSSE and coverage; * marks the
    choice (None: a series that was skipped)."""
    table = Table(
        title=title,
        caption="* the model the backtest chooses (lowest MASE; for intermittent series, "
        "lowest RMSSE of the mean)",
    )
    for column in (
        "series",
        "model",
        "MAPE %",
        "sMAPE %",
        "MASE",
        "RMSSE",
        "cover 80%",
        "cover 95%",
        "folds x days",
    ):
        table.add_column(column, justify="left" if column in ("series", "model") else "right")
    for series, result in rows:
        for index, score in enumerate(result.scores if result else []):
            table.add_row(
                series if index == 0 else "",
                score.model + (" *" if result and score.model == result.chosen else ""),
                _fmt(score.mape),
                _fmt(score.smape),
                _fmt(score.mase, 2),
                _fmt(score.rmsse, 2),
                _fmt(score.coverage_80 * 100, 0),
                _fmt(score.coverage_95 * 100, 0),
                f"{score.folds} x {score.horizon_days}",
            )
        table.add_section()
    return table


@app.callback(invoke_without_command=True)
def default(context: typer.Context) -> None:
    """With no command, serve (as `python -m shopee_forecast` does in containers)."""
    if context.invoked_subcommand is None:
        serve()


@app.command()
def serve() -> None:
    """Run the gRPC service (SHOPEE_FORECAST_GRPC_PORT, default 18091) with /healthz, /readyz and
    /metrics on SHOPEE_FORECAST_HTTP_PORT (18092) and the retrain schedule; SIGTERM drains."""
    from shopee_forecast.app import run

    settings = ForecastSettings()
    configure_logging("forecast", settings.log_level)
    asyncio.run(run(settings))


@app.command()
def train(
    shop: Annotated[list[str] | None, typer.Option(help=SHOP_HELP)] = None,
    target: Annotated[list[str] | None, typer.Option(help=TARGET_HELP)] = None,
    churn: Annotated[bool, typer.Option(help="Also train each shop's churn model.")] = True,
    products: Annotated[
        int, typer.Option(help="Most products per shop (best sellers first; 0 = all).")
    ] = 0,
) -> None:
    """Backtest, choose and register models for shops in the database, in parallel processes."""
    from shopee_forecast.training_cli import train_shops

    settings = ForecastSettings()
    configure_logging("forecast", "WARNING")
    results = asyncio.run(
        train_shops(settings, shop or [], _targets(target or []), churn, products, _progress())
    )
    table = Table(title="Registered models")
    for column in ("model", "kind", "chosen", "version / skipped because", "fit s"):
        table.add_column(column)
    for outcome, version in sorted(results, key=lambda r: r[0].name):
        chosen = version.metadata.get("model", "") if version else ""
        detail = version.version if version else outcome.skipped
        table.add_row(outcome.name, outcome.kind, str(chosen), detail, f"{outcome.seconds:.1f}")
    console.print(table)


@app.command()
def evaluate(
    csv: Annotated[Path | None, typer.Option(help=CSV_HELP)] = None,
    csv_format: Annotated[CsvFormat, typer.Option(help="Layout of --csv.")] = CsvFormat.PROPHET,
    log_values: Annotated[bool, typer.Option(help=LOG_HELP)] = False,
    market: Annotated[str, typer.Option(help=MARKET_HELP)] = "",
    shop: Annotated[list[str] | None, typer.Option(help=SHOP_HELP)] = None,
    target: Annotated[list[str] | None, typer.Option(help=TARGET_HELP)] = None,
    products: Annotated[
        int, typer.Option(help="Products per shop for units (best sellers first).")
    ] = 3,
    horizon: Annotated[
        int, typer.Option(min=1, max=90, help="Days forecast per backtest fold.")
    ] = 30,
    folds: Annotated[int, typer.Option(min=1, max=20, help="Rolling origins.")] = 3,
) -> None:
    """Per-series report of MAPE, sMAPE, MASE and 80%/95% interval coverage of Prophet against
    the ETS and seasonal-naive baselines, by rolling-origin backtest. Nothing is registered."""
    if csv is not None:
        frame = read_daily_series(csv, csv_format, log_values)
        history = SeriesHistory(frame, SeriesContext(market), "UTC", no_regressors)
        with _progress() as progress:
            task = progress.add_task(f"backtesting {csv.name}", total=1)
            result = backtest(history, plan_backtest(len(frame), horizon, folds))
            progress.advance(task)
        console.print(score_table(f"{csv.name}: {len(frame)} days", [(csv.name, result)]))
        return
    from shopee_forecast.training_cli import evaluate_shops

    settings = ForecastSettings()
    configure_logging("forecast", "WARNING")
    rows = asyncio.run(
        evaluate_shops(
            settings, shop or [], _targets(target or []), products, horizon, folds, _progress()
        )
    )
    console.print(score_table("Backtest by series", rows))


def main() -> None:
    """Console script entry point."""
    app()
