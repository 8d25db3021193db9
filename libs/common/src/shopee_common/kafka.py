"""Kafka clients built the one way the platform uses them."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def make_producer(bootstrap_servers: str, client_id: str, **overrides: object) -> AIOKafkaProducer:
    """An idempotent producer that waits for all in-sync replicas (acks=all).

    A send that resolves is durable; retries cannot duplicate or reorder within a partition.
    """
    options: dict[str, object] = {
        "bootstrap_servers": bootstrap_servers,
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "max_request_size": 8 * 1024 * 1024,
        "request_timeout_ms": 30_000,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(
    *topics: str, bootstrap_servers: str, group_id: str | None, client_id: str, **overrides: object
) -> AIOKafkaConsumer:
    """A consumer that commits only when told to (at-least-once), reading from the start."""
    options: dict[str, object] = {
        "bootstrap_servers": bootstrap_servers,
        "group_id": group_id,
        "client_id": client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
    }
    options.update(overrides)
    return AIOKafkaConsumer(*topics, **options)
