"""Kafka clients built the one way the platform uses them."""

from __future__ import annotations

import ssl

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.helpers import create_ssl_context

from shopee_common.settings import PlatformSettings


def client_security(settings: PlatformSettings) -> dict[str, object]:
    """aiokafka's connection options for the settings' security protocol: pass them to every
    client (`make_producer`, `make_consumer`, the admin client). Nothing for PLAINTEXT."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, object] = {"security_protocol": protocol}
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if protocol.startswith("SASL_"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def ssl_context(settings: PlatformSettings) -> ssl.SSLContext | None:
    """The TLS context of the SSL and SASL_SSL protocols (None for the others). It checks the
    brokers' certificates and hostnames, against `kafka_ssl_cafile` or the system's CAs."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.kafka_ssl_cafile or None,
        certfile=settings.kafka_ssl_certfile or None,
        keyfile=settings.kafka_ssl_keyfile or None,
    )
    return context


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
