"""`shopee-insights train | evaluate | serve`: the command line (typer, rich progress bars)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from shopee_common.grpc_server import serve as serve_grpc
from shopee_common.logging import configure_logging
from shopee_insights.adapters.event_files import read_event_file
from shopee_insights.bootstrap import refresh_scheduler, wired
from shopee_insights.engine import SCHEDULED_AREAS
from shopee_insights.evaluation import evaluate_all
from shopee_insights.settings import InsightsSettings

app = typer.Typer(
    help="Insights service: buyer segments, recommendations, price and marketing-mix "
    "optimisation, review and chat sentiment. Settings come from SHOPEE_* and SHOPEE_INSIGHTS_*.",
    no_args_is_help=False,
    invoke_without_command=True,
)
console = Console(stderr=True)


@app.callback()
def default(context: typer.Context) -> None:
    """With no command, serve (the container entry point)."""
    if context.invoked_subcommand is None:
        serve()


@app.command()
def serve() -> None:
    """Run the gRPC service (SHOPEE_INSIGHTS_GRPC_PORT) with /healthz, /readyz and /metrics on
    SHOPEE_INSIGHTS_HTTP_PORT, retraining every shop on the refresh schedule."""
    settings = InsightsSettings()
    configure_logging("insights", settings.log_level)
    asyncio.run(_serve(settings))


async def _serve(settings: InsightsSettings) -> None:
    async with wired(settings) as wiring:
        scheduler = None
        if wiring.engine.options.refresh_every is not None:
            scheduler = refresh_scheduler(wiring.engine, wiring.engine.options.refresh_every)
            scheduler.start()
        if settings.insights_refresh_on_start:
            asyncio.get_running_loop().create_task(wiring.engine.refresh_all())

        async def database() -> None:
            await wiring.engine.repository.ping()

        async def stop_scheduler() -> None:
            wiring.engine.stop_refreshing()
            if scheduler is not None:
                scheduler.shutdown(wait=False)

        await serve_grpc(
            wiring.service,
            grpc_port=settings.insights_grpc_port,
            http_port=settings.insights_http_port,
            readiness_checks={"database": database},
            on_shutdown=stop_scheduler,
        )


@app.command()
def train(
    what: Annotated[
        str,
        typer.Argument(help="'all' (every shop's models and sentiment), 'shops' or 'sentiment'"),
    ] = "all",
    shop: Annotated[list[str] | None, typer.Option(help="only these shops (repeatable)")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="public corpora for sentiment (e.g. /work/shared/data); overrides "
            "SHOPEE_INSIGHTS_DATA_DIR"
        ),
    ] = None,
) -> None:
    """Train models from the events in PostgreSQL and activate them in the model registry."""
    if what not in ("all", "shops", "sentiment"):
        raise typer.BadParameter("must be all, shops or sentiment", param_hint="WHAT")
    overrides = {"insights_data_dir": str(data_dir)} if data_dir else {}
    settings = InsightsSettings(**overrides)  # type: ignore[arg-type]
    configure_logging("insights", settings.log_level)
    asyncio.run(_train(settings, what, shop or []))


async def _train(settings: InsightsSettings, what: str, shops: list[str]) -> None:
    async with wired(settings) as wiring:
        engine = wiring.engine
        if what in ("all", "sentiment"):
            version = await engine.train_sentiment()
            console.print(f"sentiment {version.version}: {json.dumps(version.backtest_scores)}")
        if what in ("all", "shops"):
            chosen = shops or await engine.repository.shop_ids()
            with Progress(console=console) as progress:
                task = progress.add_task("training shops", total=len(chosen) * len(SCHEDULED_AREAS))
                for shop_id in chosen:
                    for area in SCHEDULED_AREAS:
                        progress.update(task, description=f"{shop_id} {area}")
                        await engine.train_shop(shop_id, (area,))
                        progress.advance(task)


@app.command()
def evaluate(
    events: Annotated[Path, typer.Option(help="generator NDJSON (shopee-generator history --out)")],
    labels: Annotated[Path, typer.Option(help="its labels file (shopee-generator labels)")],
    data_dir: Annotated[Path, typer.Option(help="public data sets")] = Path("../shared/data"),
    out: Annotated[Path | None, typer.Option(help="write the scores as JSON here")] = None,
) -> None:
    """Score every model offline: recommendations against popularity (generator holdout and
    Online Retail), elasticities against the generator's truth, sentiment macro-F1 against a
    lexicon baseline. No database needed."""
    with Progress(console=console) as progress:
        progress.add_task(f"reading {events}", total=None)
        shops = read_event_file(events)
    with Progress(console=console) as progress:
        scores = evaluate_all(shops, labels, data_dir, progress)
    text = json.dumps(scores, indent=2)
    if out is not None:
        out.write_text(text + "\n")
    typer.echo(text)
