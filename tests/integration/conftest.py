"""Fixtures for tests against the real local stack (scripts/stack up --infra starts it).

Each test gets its own topic prefix and consumer group, so tests never see each other's events.
`browser` is a headless Chromium for tests of the dashboard (tests/integration/browser.py).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from shopee_common.settings import PlatformSettings
from shopee_common.topics import ALL_TOPICS, create_topics, delete_topics
from tests.integration.browser import Browser, headless_chromium, require_chromium

pytestmark = pytest.mark.integration


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def platform_settings() -> PlatformSettings:
    settings = PlatformSettings(environment="test")
    host, port = settings.kafka_bootstrap_servers.split(",")[0].rsplit(":", 1)
    if not _port_open(host, int(port)):
        pytest.fail(
            f"Kafka is not answering on {host}:{port}; start the stack with `scripts/stack up --infra` "
            "(make test does it for you)"
        )
    return settings


@pytest.fixture(scope="session")
def kafka_bootstrap(platform_settings: PlatformSettings) -> str:
    return platform_settings.kafka_bootstrap_servers


@pytest.fixture(scope="session")
def database_url(platform_settings: PlatformSettings) -> str:
    return platform_settings.database_url.get_secret_value()


@pytest.fixture(scope="session")
def redis_url(platform_settings: PlatformSettings) -> str:
    return platform_settings.redis_url


@pytest.fixture
def unique_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def topic_prefix(kafka_bootstrap: str, unique_id: str) -> AsyncIterator[str]:
    """A private copy of every platform topic, named `t<id>.<topic>`, created for this test and
    deleted after it."""
    prefix = f"t{unique_id}."
    await create_topics(kafka_bootstrap, ALL_TOPICS, prefix=prefix)
    yield prefix
    await delete_topics(kafka_bootstrap, prefix)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Chromium for this test (tests/integration/browser.py); quits afterwards."""
    require_chromium()
    with headless_chromium() as started:
        yield started
