"""A small world around 11.11 2025, generated once per test session."""

from __future__ import annotations

from datetime import date

import pytest

from shopee.events.v1 import events_pb2
from shopee_generator import GeneratorConfig, Labels, build_labels, generate_history

NOVEMBER = GeneratorConfig(start=date(2025, 10, 29), days=16, shops=2, seed=7)


@pytest.fixture(scope="session")
def november_config() -> GeneratorConfig:
    return NOVEMBER


@pytest.fixture(scope="session")
def november_events() -> list[events_pb2.Event]:
    return list(generate_history(NOVEMBER))


@pytest.fixture(scope="session")
def november_labels() -> Labels:
    return build_labels(NOVEMBER)
