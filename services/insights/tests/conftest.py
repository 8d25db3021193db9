"""Small generated shops for the unit tests (the generator's Python API, in memory)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from shopee_generator import GeneratorConfig, build_labels, generate_history
from shopee_generator.sinks.ndjson import ProtoJsonEncoder
from shopee_insights.adapters.event_files import shops_from_events
from shopee_insights.domain.shop_data import ShopData

CONFIG = GeneratorConfig.ending(date(2026, 9, 30), days=120, shops=1, scale=0.5, seed=5)


@pytest.fixture(scope="session")
def shop() -> ShopData:
    """One generated shop as tables, read from proto3 JSON (camelCase) events."""
    encoder = ProtoJsonEncoder()
    [data] = shops_from_events(
        encoder.to_dict(event) for event in generate_history(CONFIG)
    ).values()
    return data


@pytest.fixture(scope="session")
def true_elasticities(shop: ShopData) -> dict[str, float]:
    labels = json.loads(build_labels(CONFIG).to_json())
    return {str(k): float(v) for k, v in labels["elasticities"][shop.shop_id].items()}
