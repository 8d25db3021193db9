from __future__ import annotations

import hashlib
import itertools
from dataclasses import replace
from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo

from shopee.events.v1 import events_pb2
from shopee_generator import GeneratorConfig, generate_history
from shopee_generator.stream import catch_up, live_events
from shopee_generator.world import build_world

SMALL = GeneratorConfig(start=date(2025, 3, 1), days=4, shops=2, seed=11)


def _digest(config: GeneratorConfig) -> tuple[str, int]:
    digest = hashlib.sha256()
    count = 0
    for event in generate_history(config):
        digest.update(event.SerializeToString(deterministic=True))
        count += 1
    return digest.hexdigest(), count


def test_same_seed_gives_byte_identical_events() -> None:
    first, count = _digest(SMALL)
    second, _ = _digest(SMALL)
    assert count > 5_000
    assert first == second


def test_another_seed_gives_other_events() -> None:
    assert _digest(SMALL)[0] != _digest(replace(SMALL, seed=12))[0]


def _first_day(config: GeneratorConfig) -> list[bytes]:
    return [
        event.SerializeToString(deterministic=True)
        for event in generate_history(config)
        if event.occurred_at.ToDatetime(tzinfo=UTC).astimezone(ZoneInfo(event.time_zone)).date()
        == config.start
    ]


def test_a_longer_history_starts_the_same_world() -> None:
    # Catalogue, calendar, campaigns and daily draws are keyed by date, not by run length.
    short = replace(SMALL, incidents=False)
    assert _first_day(short) == _first_day(replace(short, days=9))


def test_event_ids_are_unique(november_events: list[events_pb2.Event]) -> None:
    ids = [event.event_id for event in november_events]
    assert len(set(ids)) == len(ids)


def test_events_come_in_time_order(november_events: list[events_pb2.Event]) -> None:
    stamps = [event.occurred_at.ToNanoseconds() for event in november_events]
    assert stamps == sorted(stamps)


def _live_chats(run_key: int) -> list[events_pb2.ChatEvent]:
    world = build_world(SMALL)
    catch_up(world)
    events = live_events(world, SMALL.start + timedelta(days=SMALL.days), run_key)
    return [e.chat for e in itertools.islice(events, 20_000) if e.HasField("chat")]


def test_live_runs_never_share_a_conversation_and_each_has_one_first_reply() -> None:
    first, second = _live_chats(1), _live_chats(2)
    assert first, "the live days hold chats"
    conversations = {c.conversation_id for c in first}
    assert conversations.isdisjoint(c.conversation_id for c in second)
    replies = [c.conversation_id for c in first if c.first_response_seconds]
    assert len(replies) == len(set(replies))
