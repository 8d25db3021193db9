"""Every Kafka topic of the platform, declared once: name, partitions, configs.

`shopee-topics create` (run by `scripts/stack up` and by the deploy jobs) creates the missing ones
and leaves existing ones alone; `shopee-topics list` prints the declarations.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shopee_common.kafka import client_security
from shopee_common.settings import PlatformSettings

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    description: str
    configs: dict[str, str] = field(default_factory=dict)


def _events(name: str, partitions: int, what: str) -> TopicSpec:
    return TopicSpec(
        name=name,
        partitions=partitions,
        description=f"{what}; key = shop_id; value = shopee.events.v1.Event (protobuf or proto3 JSON)",
        configs={"retention.ms": str(7 * DAY_MS), "compression.type": "producer"},
    )


ORDERS = _events("events.orders", 12, "order state changes")
TRAFFIC = _events("events.traffic", 12, "page and product views, add-to-cart, checkout starts")
CAMPAIGNS = _events("events.campaigns", 3, "flash sales, vouchers, live streams, ads spend")
CHATS = _events("events.chats", 6, "chat messages, first-response times, CSAT")
REVIEWS = _events("events.reviews", 3, "product reviews")
CATALOG = _events("events.catalog", 3, "product catalogue: price, cost, stock")
DLQ = TopicSpec(
    "events.dlq",
    3,
    "rejected events, original bytes; headers dlq.reason, dlq.source.topic/partition/offset",
    {"retention.ms": str(30 * DAY_MS)},
)
KPI_UPDATES = TopicSpec(
    "kpi.updates", 6, "KPI snapshots per shop, at most 1/s per shop", {"retention.ms": str(DAY_MS)}
)
ANOMALIES = TopicSpec("anomalies", 3, "detected anomalies", {"retention.ms": str(30 * DAY_MS)})

EVENT_TOPICS: tuple[TopicSpec, ...] = (ORDERS, TRAFFIC, CAMPAIGNS, CHATS, REVIEWS, CATALOG)
ALL_TOPICS: tuple[TopicSpec, ...] = (*EVENT_TOPICS, DLQ, KPI_UPDATES, ANOMALIES)

# Which public topic each `Event.payload` case goes to.
TOPIC_BY_PAYLOAD: dict[str, str] = {
    "order": ORDERS.name,
    "traffic": TRAFFIC.name,
    "traffic_summary": TRAFFIC.name,
    "campaign": CAMPAIGNS.name,
    "chat": CHATS.name,
    "review": REVIEWS.name,
    "catalog": CATALOG.name,
}


async def create_topics(
    bootstrap_servers: str,
    specs: tuple[TopicSpec, ...] = ALL_TOPICS,
    replication_factor: int = 1,
    prefix: str = "",
    security: Mapping[str, object] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created.

    `prefix` lets tests make a private copy of the topic set (a unique topic per test);
    `security` is `client_security(settings)` for a cluster that asks for TLS or SASL.
    """
    async with _admin(bootstrap_servers, security) as admin:
        existing = set(await admin.list_topics())
        wanted = [spec for spec in specs if prefix + spec.name not in existing]
        created = []
        for spec in wanted:
            topic = NewTopic(
                prefix + spec.name, spec.partitions, replication_factor, topic_configs=spec.configs
            )
            try:
                await admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        return created


async def delete_topics(
    bootstrap_servers: str, prefix: str, security: Mapping[str, object] | None = None
) -> list[str]:
    """Delete every topic whose name starts with `prefix` (a test's or a benchmark's private
    copy, `t<id>.`); return the names deleted. A broker keeps each partition's files open, so
    copies left behind by thousands of test runs exhausted its file descriptors."""
    if not prefix:
        raise ValueError("a prefix is required: this never deletes the platform's own topics")
    async with _admin(bootstrap_servers, security) as admin:
        names = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
        return names


@asynccontextmanager
async def _admin(
    bootstrap_servers: str, security: Mapping[str, object] | None
) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=30_000, **(security or {})
    )
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@contextmanager
def private_topics(
    bootstrap_servers: str, specs: tuple[TopicSpec, ...], prefix: str
) -> Iterator[str]:
    """A private copy of `specs` named `prefix<topic>` for the block, deleted after it (for
    benchmarks, which run from synchronous code)."""
    asyncio.run(create_topics(bootstrap_servers, specs, prefix=prefix))
    try:
        yield prefix
    finally:
        asyncio.run(delete_topics(bootstrap_servers, prefix))


def main() -> None:
    parser = argparse.ArgumentParser(prog="shopee-topics", description=__doc__)
    parser.add_argument("action", choices=["create", "list"])
    parser.add_argument("--replication-factor", type=int, default=1)
    options = parser.parse_args()
    if options.action == "list":
        for spec in ALL_TOPICS:
            print(f"{spec.name:18} partitions={spec.partitions:<3} {spec.description}")
        return
    settings = PlatformSettings()
    created = asyncio.run(
        create_topics(
            settings.kafka_bootstrap_servers,
            replication_factor=options.replication_factor,
            security=client_security(settings),
        )
    )
    print(f"created {len(created)} topics: {', '.join(created) or '(all existed)'}")
