"""Prometheus metrics of the live stream (registered on the app's registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class LiveMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.connections = Gauge(
            "gateway_ws_connections", "Open, authenticated WebSocket clients", registry=registry
        )
        self.messages_sent = Counter(
            "gateway_ws_messages_sent_total",
            "Frames sent to WebSocket clients, by kind (snapshot, replay, control)",
            ["kind"],
            registry=registry,
        )
        self.coalesced = Counter(
            "gateway_ws_snapshots_coalesced_total",
            "Snapshots dropped for a client because a newer one of the same shop replaced them",
            registry=registry,
        )
        self.disconnects = Counter(
            "gateway_ws_disconnects_total",
            "Closed WebSocket sessions, by reason",
            ["reason"],
            registry=registry,
        )
        self.updates_received = Counter(
            "gateway_kpi_updates_received_total",
            "kpi.updates records read, by outcome (delivered, invalid)",
            ["outcome"],
            registry=registry,
        )
        self.update_age = Histogram(
            "gateway_kpi_update_age_seconds",
            "Time from the stream job's snapshot (updated_at) to its fan-out here",
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
