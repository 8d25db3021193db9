"""The generator's Python API: configure a world of shops and read its events, in time order.

    config = GeneratorConfig(seed=7, start=date(2025, 1, 1), days=30)
    for event in generate_history(config):
        ...

Events come ordered by `occurred_at` (ties keep shop order), so a consumer sees them as they
happened. The same config gives the same events, byte for byte, whenever and wherever it runs.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from shopee.events.v1 import events_pb2
from shopee_generator.domain.incidents import Incident, plan_incidents
from shopee_generator.domain.records import Record, build_event
from shopee_generator.domain.seeds import Stream, rng_for, uuid_strings
from shopee_generator.domain.shop import Shop, build_shop
from shopee_generator.domain.simulation import ShopSimulator

DEFAULT_SEED = 20251111
DEFAULT_DAYS = 730


@dataclass(frozen=True)
class GeneratorConfig:
    """What world to generate: which shops, which days (local dates, inclusive), how busy."""

    start: date
    days: int = DEFAULT_DAYS
    seed: int = DEFAULT_SEED
    shops: int = 4
    products_per_shop: int = 40
    # Multiplies every shop's traffic (and so orders, chats, reviews and ad budgets).
    scale: float = 1.0
    incidents: bool = True

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if not 1 <= self.shops <= 60:
            raise ValueError("shops must be 1 to 60")
        if not 1 <= self.products_per_shop <= 500:
            raise ValueError("products_per_shop must be 1 to 500")
        if not 0 < self.scale <= 100:
            raise ValueError("scale must be above 0 and at most 100")

    @classmethod
    def ending(cls, last_day: date, days: int = DEFAULT_DAYS, **options: Any) -> GeneratorConfig:
        """The config for `days` days ending with `last_day` (inclusive); `options` as the fields."""
        return cls(start=last_day - timedelta(days=days - 1), days=days, **options)

    @property
    def last_day(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(self.days)]


@dataclass
class World:
    """The shops of a config, their planned incidents, and one simulator per shop."""

    config: GeneratorConfig
    shops: list[Shop]
    incidents: list[Incident]
    simulators: list[ShopSimulator] = field(default_factory=list)


def build_world(config: GeneratorConfig) -> World:
    """Shops, catalogues, incident plan and fresh simulators, all from the config's seed."""
    shops = [
        build_shop(config.seed, index, config.products_per_shop, config.scale)
        for index in range(config.shops)
    ]
    incidents = (
        plan_incidents(config.seed, shops, config.start, config.days) if config.incidents else []
    )
    simulators = [ShopSimulator(config.seed, shop, incidents, config.start) for shop in shops]
    return World(config, shops, incidents, simulators)


def day_events(
    world: World, shop_index: int, day: date, records: list[Record], id_key: tuple[int, ...] = ()
) -> Iterator[events_pb2.Event]:
    """Protobuf events for one shop-day's records, with ids drawn from the seed (and `id_key`).

    With an `id_key` (a live run), conversation ids carry it too: every live run replays the
    same simulated days after the history, and a conversation id of an earlier run would merge
    two conversations into one in the distinct count of conversations (the chat response rate
    of the demo's today read 160% after a restart)."""
    shop = world.shops[shop_index]
    id_rng = rng_for(world.config.seed, Stream.EVENT_IDS, shop_index, day.toordinal(), *id_key)
    ids = uuid_strings(id_rng, len(records))
    run = "".join(f"-{part}" for part in id_key)
    for record, event_id in zip(records, ids, strict=True):
        event = build_event(record, event_id, shop.shop_id, shop.time_zone)
        if run and event.HasField("chat"):
            event.chat.conversation_id += run
        yield event


def _shop_events(
    world: World,
    shop_index: int,
    days: Iterable[date],
    on_day: Callable[[], None] | None,
    id_key: tuple[int, ...],
) -> Iterator[tuple[int, events_pb2.Event]]:
    simulator = world.simulators[shop_index]
    for day in days:
        records = simulator.simulate_day(day)
        if on_day is not None:
            on_day()
        for record, event in zip(
            records, day_events(world, shop_index, day, records, id_key), strict=True
        ):
            yield record[0], event


def following_days(first_day: date, count: int | None = None) -> Iterator[date]:
    """`count` consecutive dates from `first_day`, or endless ones if `count` is None."""
    offsets = itertools.count() if count is None else range(count)
    return (first_day + timedelta(days=offset) for offset in offsets)


def iter_world(
    world: World,
    first_day: date,
    days: int | None,
    on_day: Callable[[], None] | None = None,
    id_key: tuple[int, ...] = (),
) -> Iterator[events_pb2.Event]:
    """Simulate `days` days (None: without end) from `first_day` for every shop of the world and
    yield the events merged in time order."""
    streams = [
        _shop_events(world, index, following_days(first_day, days), on_day, id_key)
        for index in range(len(world.shops))
    ]
    for _, event in heapq.merge(*streams, key=lambda pair: pair[0]):
        yield event


def generate_history(
    config: GeneratorConfig, on_day: Callable[[], None] | None = None
) -> Iterator[events_pb2.Event]:
    """Every event of the configured days, in time order. `on_day` is called after each shop-day."""
    world = build_world(config)
    yield from iter_world(world, config.start, config.days, on_day)
