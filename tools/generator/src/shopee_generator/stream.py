"""Live events after the history: the same world carries on, paced to a chosen rate.

The days after the history are simulated as usual and replayed in order at `rate` events per
second with `occurred_at` set to the moment of sending (so a simulated day passes in minutes at
the default rate). Campaign windows move with their events. Event ids also depend on the start
time, so two live runs never share an id.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import date

from aiokafka import AIOKafkaProducer

from shopee.events.v1 import events_pb2
from shopee_generator.sinks.kafka import send_event
from shopee_generator.world import World, iter_world

# Pace in ticks of at most this long; each tick sends the events due in it.
MAX_TICK_SECONDS = 0.1
ACK_BATCH = 1_000


def catch_up(world: World, on_day: Callable[[], None] | None = None) -> None:
    """Run the history days without emitting them, so live days start from the history's state."""
    for day in world.config.dates():
        for simulator in world.simulators:
            simulator.simulate_day(day)
            if on_day is not None:
                on_day()


def _retime(event: events_pb2.Event, now_ms: int) -> None:
    shift = now_ms - event.occurred_at.ToMilliseconds()
    event.occurred_at.FromMilliseconds(now_ms)
    if event.WhichOneof("payload") == "campaign":
        campaign = event.campaign
        for stamp in (campaign.starts_at, campaign.ends_at):
            if stamp.seconds or stamp.nanos:
                stamp.FromMilliseconds(stamp.ToMilliseconds() + shift)


def live_events(world: World, first_day: date, run_key: int) -> Iterator[events_pb2.Event]:
    """Endless events of the days from `first_day` on, ids keyed by `run_key`."""
    return iter_world(world, first_day, None, id_key=(run_key,))


async def stream_live(
    producer: AIOKafkaProducer,
    events: Iterator[events_pb2.Event],
    rate: float,
    stop: asyncio.Event,
    topic_prefix: str = "",
    duration: float | None = None,
    on_sent: Callable[[int], None] | None = None,
) -> int:
    """Send `events` at `rate` per second, `occurred_at` = now, until `stop` is set or `duration`
    seconds pass; wait for every acknowledgement before returning the count sent."""
    tick = min(MAX_TICK_SECONDS, 1.0 / rate)
    started = time.monotonic()
    deadline = None if duration is None else started + duration
    pending: list[asyncio.Future[object]] = []
    sent = 0
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        due = int((time.monotonic() - started) * rate) + 1 - sent
        for _ in range(max(0, due)):
            event = next(events)
            _retime(event, int(time.time() * 1000))
            pending.append(await send_event(producer, event, topic_prefix))
            sent += 1
        if on_sent is not None and due > 0:
            on_sent(due)
        if len(pending) >= ACK_BATCH:
            await asyncio.gather(*pending)
            pending.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=tick)
    await producer.flush()
    await asyncio.gather(*pending)
    return sent
