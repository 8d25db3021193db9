"""`shopee-dlq summary | redrive`: why the stream job refused records, and sending chosen ones
to their topics again once what refused them is fixed (a shop registered, a decoder taught)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shopee_common.kafka import client_security, make_consumer, make_producer
from shopee_common.topics import DLQ
from shopee_metrics.adapters.dead_letters import Redriver, read_dead_letters
from shopee_metrics.domain.dead_letters import (
    DeadLetterSummary,
    ReasonCount,
    Selection,
    StoredDeadLetter,
)
from shopee_metrics.settings import MetricsSettings

app = typer.Typer(
    help="The dead-letter topic (events.dlq): what the stream job refused and why, and sending "
    "chosen records to their source topics again. Connection settings come from SHOPEE_* "
    "variables, as the stream job's.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
console = Console()
SINCE_HELP = "Only records dead-lettered at or after this time (ISO 8601, UTC without a zone)."
REASON_HELP = (
    'Only this reason, or reasons starting with it ("invalid value" takes every field); repeat '
    "for several. The reasons are the summary's."
)
SHOP_HELP = "Only records with this key (the shop id); repeat for several."
TOPIC_HELP = "Only records from this source topic (events.orders, ...); repeat for several."


@app.command()
def summary(since: Annotated[datetime | None, typer.Option(help=SINCE_HELP)] = None) -> None:
    """Count the dead letters by reason and source topic, with an example error and the shops
    with the most of them."""
    counts = DeadLetterSummary()

    async def add(letter: StoredDeadLetter) -> None:
        counts.add(letter)

    asyncio.run(each_dead_letter(MetricsSettings(), since, Selection(), add, "reading"))
    rows = counts.rows()
    if not rows:
        console.print("events.dlq holds no record" + (f" since {since}" if since else "") + ".")
        return
    console.print(_report(rows), highlight=False, markup=False)


@app.command()
def redrive(
    reason: Annotated[list[str] | None, typer.Option(help=REASON_HELP)] = None,
    shop: Annotated[list[str] | None, typer.Option(help=SHOP_HELP)] = None,
    topic: Annotated[list[str] | None, typer.Option(help=TOPIC_HELP)] = None,
    since: Annotated[datetime | None, typer.Option(help=SINCE_HELP)] = None,
    dry_run: Annotated[bool, typer.Option(help="Count what would be sent; send nothing.")] = False,
) -> None:
    """Send the chosen dead letters to their source topics again, as their producer sent them.

    Event ids make it safe: an event counted before counts once, and a record still invalid is
    dead-lettered again. An event more than the late grace behind the newest counted event of
    its shop and kind is recorded as late (late_events), not counted, as any late event."""
    if not (reason or shop or topic or since):
        raise typer.BadParameter("choose what to send: --reason, --shop, --topic or --since")
    selection = Selection(tuple(reason or ()), tuple(shop or ()), tuple(topic or ()))
    sent, unsendable = asyncio.run(
        redrive_dead_letters(MetricsSettings(), since, selection, dry_run)
    )
    console.print(f"{'would send' if dry_run else 'sent'} {sent:,} record(s) to their topics.")
    if unsendable:
        console.print(f"left {unsendable:,} chosen record(s) that name no source topic.")


async def redrive_dead_letters(
    settings: MetricsSettings, since: datetime | None, selection: Selection, dry_run: bool
) -> tuple[int, int]:
    """Send the selected dead letters again (or only count them): how many, and how many were
    left because they name no source topic (records the job did not write)."""
    sent = unsendable = 0
    async with _sender(settings, dry_run) as send_one:

        async def send(letter: StoredDeadLetter) -> None:
            nonlocal sent, unsendable
            if not letter.source_topic:
                unsendable += 1
                return
            await send_one(letter)
            sent += 1

        await each_dead_letter(
            settings, since, selection, send, "choosing from" if dry_run else "sending from"
        )
    return sent, unsendable


@asynccontextmanager
async def _sender(
    settings: MetricsSettings, dry_run: bool
) -> AsyncIterator[Callable[[StoredDeadLetter], Awaitable[None]]]:
    """What sends one dead letter again (nothing on a dry run); every send acknowledged on exit."""
    if dry_run:

        async def nothing(_: StoredDeadLetter) -> None:
            return None

        yield nothing
        return
    producer = make_producer(
        settings.kafka_bootstrap_servers, client_id="shopee-dlq", **client_security(settings)
    )
    await producer.start()
    try:
        redriver = Redriver(producer)
        yield redriver.send
        await redriver.flush()
    finally:
        await producer.stop()


async def each_dead_letter(
    settings: MetricsSettings,
    since: datetime | None,
    selection: Selection,
    act: Callable[[StoredDeadLetter], Awaitable[None]],
    doing: str,
) -> None:
    """`act` on each selected record of the DLQ, with a progress bar over the records read."""
    topic = settings.topic_prefix + DLQ.name
    consumer = make_consumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        client_id="shopee-dlq",
        **client_security(settings),
    )
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    await consumer.start()
    try:
        with Progress(
            TextColumn(f"{doing} events.dlq"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(doing, total=None)
            letters = read_dead_letters(
                consumer, topic, since, lambda total: progress.update(task, total=total)
            )
            async for letter in letters:
                if selection.takes(letter, settings.topic_prefix):
                    await act(letter)
                progress.advance(task)
    finally:
        await consumer.stop()


def _report(rows: list[ReasonCount]) -> str:
    """A few lines a reason: it, its source topic, how many and when; the shops with the most;
    an example error."""
    blocks = []
    for row in rows:
        first, last = (f"{t:%Y-%m-%d %H:%M}" if t else "" for t in (row.first, row.last))
        when = first if last == first else f"{first} to {last}"
        shops = ", ".join(f"{shop or '(no key)'} {n:,}" for shop, n in row.shops.most_common(3))
        more = len(row.shops) - 3
        blocks.append(
            f"{row.reason} · {row.source_topic or '(no source topic)'} · {row.count:,} record(s), "
            f"{when} UTC\n  shops: {shops}"
            + (f" and {more:,} more" if more > 0 else "")
            + (f"\n  e.g. {row.example}" if row.example else "")
        )
    return "\n\n".join(blocks)


def main() -> None:
    app()
