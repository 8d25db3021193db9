"""`shopee-generator`: demo shops' history, live stream, labels and Seller Centre exports."""

from __future__ import annotations

import asyncio
import math
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from shopee.events.v1 import events_pb2
from shopee_common.kafka import client_security
from shopee_common.settings import PlatformSettings
from shopee_common.topics import EVENT_TOPICS, create_topics
from shopee_generator.export.aggregate import collect
from shopee_generator.export.writers import write_shop_exports
from shopee_generator.labels import build_labels
from shopee_generator.sinks.kafka import history_producer, publish
from shopee_generator.sinks.ndjson import write_ndjson_file
from shopee_generator.stream import catch_up, live_events, stream_live, stream_on_time
from shopee_generator.world import (
    DEFAULT_DAYS,
    DEFAULT_SEED,
    GeneratorConfig,
    build_world,
    iter_world,
)

app = typer.Typer(
    help="Deterministic demo data for the Shopee analytics platform: shops in several markets, their "
    "traffic, orders, campaigns, chats and reviews, injected incidents with true labels.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)

Seed = Annotated[
    int, typer.Option(help="Random seed: the same seed and options give the same events.")
]
Shops = Annotated[
    int, typer.Option(min=1, max=60, help="Number of shops (markets cycle ID, MY, PH, TH, SG, VN).")
]
Products = Annotated[int, typer.Option(min=1, max=500, help="Products in each shop's catalogue.")]
Scale = Annotated[
    float, typer.Option(min=0.01, max=100, help="Traffic multiplier (orders, chats... follow).")
]
Days = Annotated[int, typer.Option(min=1, help="Days of history.")]
End = Annotated[
    datetime | None,
    typer.Option(
        formats=["%Y-%m-%d"],
        help="Last day of history (shop-local date). Default: yesterday (UTC), "
        "the last complete day, so no event lies in the future.",
    ),
]
EndFile = Annotated[
    Path | None,
    typer.Option(
        dir_okay=False,
        help="A file holding the last day of history (YYYY-MM-DD): read if it exists, else "
        "written with the default, yesterday (UTC). Commands run on later days (a live stream "
        "restarted) then describe the same world as the first. Not with --end.",
    ),
]
NoIncidents = Annotated[
    bool, typer.Option("--no-incidents", help="Leave out the injected incidents.")
]
Bootstrap = Annotated[
    str | None,
    typer.Option(help="Kafka bootstrap servers (default: SHOPEE_KAFKA_BOOTSTRAP_SERVERS)."),
]
TopicPrefix = Annotated[
    str | None, typer.Option(help="Prefix for every topic name (default: SHOPEE_TOPIC_PREFIX).")
]


def _last_day(end: datetime | None, end_file: Path | None) -> date:
    """The history's last day: --end, the day kept in --end-file (kept there the first time),
    or yesterday (UTC), the last complete day."""
    if end is not None and end_file is not None:
        raise typer.BadParameter("give --end or --end-file, not both", param_hint="--end-file")
    if end is not None:
        return end.date()
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    if end_file is None:
        return yesterday
    if not end_file.exists():
        end_file.parent.mkdir(parents=True, exist_ok=True)
        end_file.write_text(f"{yesterday.isoformat()}\n", encoding="utf-8")
        return yesterday
    kept = end_file.read_text(encoding="utf-8").strip()
    try:
        return date.fromisoformat(kept)
    except ValueError:
        raise typer.BadParameter(
            f"{end_file} holds {kept!r}, not a date (YYYY-MM-DD)", param_hint="--end-file"
        ) from None


def _config(
    seed: int,
    shops: int,
    products: int,
    scale: float,
    days: int,
    end: datetime | None,
    end_file: Path | None,
    no_incidents: bool,
) -> GeneratorConfig:
    last_day = _last_day(end, end_file)
    return GeneratorConfig.ending(
        last_day,
        days,
        seed=seed,
        shops=shops,
        products_per_shop=products,
        scale=scale,
        incidents=not no_incidents,
    )


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _counted(
    events: Iterator[events_pb2.Event], counts: Counter[str]
) -> Iterator[events_pb2.Event]:
    for event in events:
        counts[event.WhichOneof("payload") or "none"] += 1
        yield event


def _kafka(bootstrap: str | None, topic_prefix: str | None) -> tuple[str, str, dict[str, object]]:
    """Brokers, topic prefix and connection security (SHOPEE_KAFKA_* as the services read it)."""
    settings = PlatformSettings()
    return (
        bootstrap or settings.kafka_bootstrap_servers,
        settings.topic_prefix if topic_prefix is None else topic_prefix,
        client_security(settings),
    )


def _summary(counts: Counter[str], seconds: float, where: str) -> None:
    total = sum(counts.values())
    detail = ", ".join(f"{name} {count:,}" for name, count in counts.most_common())
    console.print(
        f"[green]{total:,} events[/] to {where} in {seconds:.1f} s "
        f"({total / max(seconds, 1e-9):,.0f} events/s): {detail}"
    )


@app.command()
def history(
    out: Annotated[
        Path | None, typer.Option(help="Write NDJSON (proto3 JSON lines) here instead of Kafka.")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Labels file (default: beside --out, or ./labels.json).")
    ] = None,
    bootstrap: Bootstrap = None,
    topic_prefix: TopicPrefix = None,
    seed: Seed = DEFAULT_SEED,
    shops: Shops = 4,
    products_per_shop: Products = 40,
    scale: Scale = 1.0,
    days: Days = DEFAULT_DAYS,
    end: End = None,
    end_file: EndFile = None,
    no_incidents: NoIncidents = False,
) -> None:
    """Write DAYS days of history ending with END, in time order, to Kafka or an NDJSON file, and
    the labels file. Defaults (4 shops, 730 days) make about 3.4 million events.

    Kafka: each event goes to the topic of its payload (events.orders, events.traffic, ...), key =
    shop id, value = protobuf Event, header content-type=application/x-protobuf. Missing topics
    are created first.
    """
    config = _config(seed, shops, products_per_shop, scale, days, end, end_file, no_incidents)
    labels_path = labels or (out.with_suffix(".labels.json") if out else Path("labels.json"))
    labels_path.parent.mkdir(parents=True, exist_ok=True)
    labels_path.write_text(build_labels(config).to_json(), encoding="utf-8")
    console.print(
        f"{config.shops} shops, {config.start} to {config.last_day}; labels -> {labels_path}"
    )
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("simulating shop-days", total=config.days * config.shops, rate="")

        def advance() -> None:
            elapsed = time.perf_counter() - started
            progress.update(
                task, advance=1, rate=f"{sum(counts.values()) / max(elapsed, 1e-9):,.0f} ev/s"
            )

        world = build_world(config)
        events = _counted(iter_world(world, config.start, config.days, advance), counts)
        if out is not None:
            write_ndjson_file(events, out)
            where = str(out)
        else:
            servers, prefix, security = _kafka(bootstrap, topic_prefix)
            asyncio.run(_publish_history(events, servers, prefix, security))
            where = f"Kafka {servers} (prefix {prefix!r})"
    _summary(counts, time.perf_counter() - started, where)


async def _publish_history(
    events: Iterator[events_pb2.Event], bootstrap: str, prefix: str, security: dict[str, object]
) -> None:
    await create_topics(bootstrap, EVENT_TOPICS, prefix=prefix, security=security)
    producer = history_producer(bootstrap, security=security)
    await producer.start()
    try:
        await publish(producer, events, prefix)
    finally:
        await producer.stop()


ON_TIME = "on-time"


def _pace(value: str) -> str:
    """`on-time`, or a positive number of events per second."""
    if value == ON_TIME:
        return value
    try:
        rate = float(value)
    except ValueError:
        rate = math.nan
    if not rate > 0 or math.isinf(rate):
        raise typer.BadParameter(f"{value!r}: give on-time or a positive number of events/s")
    return value


@app.command()
def stream(
    pace: Annotated[
        str,
        typer.Option(
            parser=_pace,
            metavar="on-time|EVENTS_PER_SECOND",
            help="on-time: every event when the clock reaches its time (those already past at "
            "once). A number: the days after the history replayed at that many events per "
            "second, time-compressed (a load demo).",
        ),
    ] = ON_TIME,
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds.")
    ] = None,
    bootstrap: Bootstrap = None,
    topic_prefix: TopicPrefix = None,
    seed: Seed = DEFAULT_SEED,
    shops: Shops = 4,
    products_per_shop: Products = 40,
    scale: Scale = 1.0,
    days: Days = DEFAULT_DAYS,
    end: End = None,
    end_file: EndFile = None,
    no_incidents: NoIncidents = False,
) -> None:
    """Stream live events into Kafka after the history (give the same world options as `history`,
    END included): the days after END, each event when the clock reaches its time (the ones
    already past at once, so the live days follow the history without a gap), or replayed at
    PACE events/s with occurred_at = now. Until Ctrl-C, SIGTERM or DURATION; the producer is
    flushed before exit."""
    config = _config(seed, shops, products_per_shop, scale, days, end, end_file, no_incidents)
    world = build_world(config)
    with _progress() as progress:
        task = progress.add_task(
            "catching up with the history", total=config.days * config.shops, rate=""
        )
        catch_up(world, lambda: progress.update(task, advance=1))
    servers, prefix, security = _kafka(bootstrap, topic_prefix)
    first_day = config.last_day + timedelta(days=1)
    rate = None if pace == ON_TIME else float(pace)
    if rate is None:
        events = live_events(world, first_day)
        said = f"events on time from {first_day} (those already past at once)"
    else:
        events = live_events(world, first_day, run_key=int(time.time()))
        said = f"{rate:g} events/s"
    console.print(f"streaming {said} to Kafka {servers} (prefix {prefix!r}); Ctrl-C stops")
    started = time.perf_counter()
    sent = asyncio.run(_stream(events, servers, prefix, security, rate, duration))
    elapsed = time.perf_counter() - started
    console.print(
        f"[green]{sent:,} live events[/] in {elapsed:.1f} s ({sent / max(elapsed, 1e-9):,.1f} events/s)"
    )


async def _stream(
    events: Iterator[events_pb2.Event],
    bootstrap: str,
    prefix: str,
    security: dict[str, object],
    rate: float | None,
    duration: float | None,
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await create_topics(bootstrap, EVENT_TOPICS, prefix=prefix, security=security)
    producer = history_producer(bootstrap, client_id="shopee-generator-live", security=security)
    await producer.start()
    try:
        if rate is None:
            return await stream_on_time(producer, events, stop, prefix, duration)
        return await stream_live(producer, events, rate, stop, prefix, duration)
    finally:
        await producer.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


@app.command("labels")
def labels_command(
    out: Annotated[Path, typer.Option(help="Where to write the labels JSON.")] = Path(
        "labels.json"
    ),
    seed: Seed = DEFAULT_SEED,
    shops: Shops = 4,
    products_per_shop: Products = 40,
    scale: Scale = 1.0,
    days: Days = DEFAULT_DAYS,
    end: End = None,
    end_file: EndFile = None,
    no_incidents: NoIncidents = False,
) -> None:
    """Write the true labels of a world (same options as `history`): incidents with UTC windows
    and affected KPIs, planned campaigns and double-date sales, price elasticities per product,
    ads response curves. Instant: it needs no simulation."""
    config = _config(seed, shops, products_per_shop, scale, days, end, end_file, no_incidents)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_labels(config).to_json(), encoding="utf-8")
    console.print(f"labels for {config.shops} shops, {config.start} to {config.last_day} -> {out}")


@app.command()
def export(
    out_dir: Annotated[
        Path, typer.Option(help="Folder for the files (one sub-folder per shop).")
    ] = Path("exports"),
    last: Annotated[int, typer.Option(min=1, help="Export the last N days of the history.")] = 30,
    shop: Annotated[
        list[str] | None, typer.Option(help="Only these shop ids (repeatable).")
    ] = None,
    file_format: Annotated[
        list[str] | None, typer.Option("--format", help="csv and/or xlsx (repeatable).")
    ] = None,
    seed: Seed = DEFAULT_SEED,
    shops: Shops = 4,
    products_per_shop: Products = 40,
    scale: Scale = 1.0,
    days: Days = DEFAULT_DAYS,
    end: End = None,
    end_file: EndFile = None,
    no_incidents: NoIncidents = False,
) -> None:
    """Write Seller Centre exports (orders: one row per order line; traffic: one row per day) for
    the last LAST days of the history, as CSV and XLSX. The world is simulated from its first day,
    so the files agree with the events `history` writes."""
    formats = tuple(file_format or ["csv", "xlsx"])
    if not set(formats) <= {"csv", "xlsx"}:
        raise typer.BadParameter("--format must be csv or xlsx")
    config = _config(seed, shops, products_per_shop, scale, days, end, end_file, no_incidents)
    first_export_day = max(config.start, config.last_day - timedelta(days=last - 1))
    world = build_world(config)
    unknown = set(shop or []) - {s.shop_id for s in world.shops}
    if unknown:
        raise typer.BadParameter(
            f"no such shop in this world: {', '.join(sorted(unknown))}", param_hint="--shop"
        )
    with _progress() as progress:
        task = progress.add_task("simulating shop-days", total=config.days * config.shops, rate="")
        rows = collect(
            iter_world(world, config.start, config.days, lambda: progress.update(task, advance=1)),
            first_export_day,
            config.last_day,
        )
    for one_shop in world.shops:
        if shop and one_shop.shop_id not in shop:
            continue
        if one_shop.shop_id not in rows:
            continue
        for path in write_shop_exports(
            rows[one_shop.shop_id], one_shop, out_dir, first_export_day, config.last_day, formats
        ):
            console.print(f"wrote {path}")
