"""EventRepository against a stand-in asyncpg pool: rows are fetched on the event loop, parsed
and turned into tables off it."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from shopee_insights.adapters.repository import EventRepository
from shopee_insights.domain.shop_data import ShopData, build_shop_data

AT = datetime(2026, 5, 1, 9, tzinfo=UTC)


class RowsPool:
    """What `load_shop` uses of an asyncpg pool: a connection with a transaction and a cursor
    over `rows`, each iterated on the calling thread."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.fetched_on: set[int] = set()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[RowsPool]:
        yield self

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield

    async def cursor(self, query: str, *args: Any, prefetch: int) -> AsyncIterator[dict[str, Any]]:
        for row in self.rows:
            self.fetched_on.add(threading.get_ident())
            yield row


async def test_load_shop_parses_and_builds_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    review = {"review_id": "r1", "product_id": "p1", "rating": 5, "text": "bagus", "language": "id"}
    pool = RowsPool(
        [{"kind": "review", "occurred_at": AT, "payload": orjson.dumps(review).decode()}]
    )
    parsed_on: set[int] = set()
    built_on: list[int] = []
    parse = orjson.loads

    def parsed(text: str) -> Any:
        parsed_on.add(threading.get_ident())
        return parse(text)

    def recorded(
        shop_id: str, time_zone: str, events: Iterable[tuple[str, datetime, Mapping[str, Any]]]
    ) -> ShopData:
        built_on.append(threading.get_ident())
        return build_shop_data(shop_id, time_zone, events)

    monkeypatch.setattr(orjson, "loads", parsed)
    monkeypatch.setattr("shopee_insights.adapters.repository.build_shop_data", recorded)

    data = await EventRepository(pool).load_shop("s", "Asia/Jakarta", ("review",))

    loop_thread = threading.get_ident()
    assert pool.fetched_on == {loop_thread}
    assert len(built_on) == 1
    assert built_on[0] != loop_thread
    assert parsed_on == set(built_on)
    assert data.reviews[["review_id", "product_id", "text"]].values.tolist() == [
        ["r1", "p1", "bagus"]
    ]
