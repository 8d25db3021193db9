"""Ingest's own Prometheus metrics (one registry per app, so tests can build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events_published = Counter(
            "ingest_events_published_total",
            "Events Kafka acknowledged, by topic",
            ["topic"],
            registry=registry,
        )
        self.records_rejected = Counter(
            "ingest_records_rejected_total",
            "Records refused with an error, by entry point",
            ["entry"],
            registry=registry,
        )
        self.publish_seconds = Histogram(
            "ingest_publish_seconds",
            "Time from send to Kafka acknowledgement of a batch",
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.imports = Counter(
            "ingest_imports_total",
            "Seller Centre imports by final status",
            ["status"],
            registry=registry,
        )
