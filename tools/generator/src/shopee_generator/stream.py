"""Live events after the history: the same world carries on, in one of two paces.

- **On time** (`stream_on_time`): each event is sent when the wall clock reaches its own
  `occurred_at`; the ones already past (the days since the history's end) are sent at once.
  Every hour then holds the traffic the world's calendar gives it, so today's KPIs compare with
  yesterday's and the anomaly detector judges live hours as it judged the history. Event ids
  are the world's own: a second run re-sends the past ones, which the stream job counts once.
- **At a rate** (`stream_live`): the days after the history replayed at `rate` events per
  second with `occurred_at` set to the moment of sending, so a simulated day passes in minutes
  (a load demo: an hour of it holds weeks of the shops' traffic). Campaign windows move with
  their events. Event ids also depend on the start time, so two runs never share an id.
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


def live_events(
    world: World, first_day: date, run_key: int | None = None
) -> Iterator[events_pb2.Event]:
    """Endless events of the days from `first_day` on; ids keyed by `run_key` if given (a
    replay at a rate), else the world's own."""
    return iter_world(world, first_day, None, id_key=() if run_key is None else (run_key,))


async def stream_live(
    producer: AIOKafkaProducer,
    events: Iterator[events_pb2.Event],
    rate: float,
    stop: asyncio.Event,
    topic_prefix: str = "",
    duration: float | None = None,
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
        if len(pending) >= ACK_BATCH:
            await asyncio.gather(*pending)
            pending.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=tick)
    await producer.flush()
    await asyncio.gather(*pending)
    return sent


async def stream_on_time(
    producer: AIOKafkaProducer,
    events: Iterator[events_pb2.Event],
    stop: asyncio.Event,
    topic_prefix: str = "",
    duration: float | None = None,
) -> int:
    """Send each of `events` (in time order) when the wall clock reaches its `occurred_at`,
    unchanged; those already past at once. Until `stop` is set or `duration` seconds pass; every
    acknowledgement is awaited before returning the count sent."""
    deadline = None if duration is None else time.monotonic() + duration
    pending: list[asyncio.Future[object]] = []
    sent = 0
    for event in events:
        wait = event.occurred_at.ToMilliseconds() / 1000 - time.time()
        if wait > 0:
            # Nothing is due before this event: what was sent is delivered before the pause.
            await asyncio.gather(*pending)
            pending.clear()
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(wait, 0))
            if event.occurred_at.ToMilliseconds() / 1000 > time.time():
                break  # stopped, or out of time, before the event was due
        if stop.is_set() or (deadline is not None and time.monotonic() >= deadline):
            break
        pending.append(await send_event(producer, event, topic_prefix))
        sent += 1
        if len(pending) >= ACK_BATCH:
            await asyncio.gather(*pending)
            pending.clear()
    await producer.flush()
    await asyncio.gather(*pending)
    return sent
