"""Read the generator's NDJSON (proto3 JSON lines of `Event`) into per-shop tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from shopee_insights.domain.shop_data import EVENT_KINDS, ShopData, build_shop_data, read

Triple = tuple[str, datetime, Mapping[str, Any]]


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as source:
        for line in source:
            if line.strip():
                yield orjson.loads(line)


def shops_from_events(
    events: Iterable[Mapping[str, Any]], shop_ids: set[str] | None = None
) -> dict[str, ShopData]:
    """Tables per shop from proto3 JSON `Event` dicts; `shop_ids` keeps only those shops."""
    grouped: dict[str, list[Triple]] = defaultdict(list)
    zones: dict[str, str] = {}
    for event in events:
        shop = read(event, "shop_id", "")
        if shop_ids is not None and shop not in shop_ids:
            continue
        zones.setdefault(shop, read(event, "time_zone", "UTC"))
        for kind in EVENT_KINDS:
            if kind in event:
                at = datetime.fromisoformat(read(event, "occurred_at").replace("Z", "+00:00"))
                grouped[shop].append((kind, at, event[kind]))
                break
    return {shop: build_shop_data(shop, zones[shop], rows) for shop, rows in grouped.items()}


def read_event_file(path: Path, shop_ids: set[str] | None = None) -> dict[str, ShopData]:
    """Tables per shop from an NDJSON file of events."""
    return shops_from_events(_lines(path), shop_ids)
