"""The alert rules and dashboards query metrics the platform really serves: each service's
/metrics, built by its own factory and scraped in-process (no broker, no database: the factories
connect only when started)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from faust.contrib.asgi import AsgiService
from prometheus_client.parser import text_string_to_metric_families

from shopee_common.grpc_server import HANDLED, HANDLING_SECONDS
from shopee_gateway.app import create_app as create_gateway_app
from shopee_gateway.settings import GatewaySettings
from shopee_ingest.app import create_app as create_ingest_app
from shopee_ingest.settings import IngestSettings
from shopee_metrics.app import create_app as create_metrics_app
from shopee_metrics.settings import MetricsSettings
from tests.deploy.manifests import (
    ANOMALY_DETECTION_SERIES,
    PROMETHEUS,
    dashboards,
    load_yaml,
    prometheus_queries,
    promql_metric_names,
)

RULES = PROMETHEUS / "rules" / "platform-alerts.yml"
# Series Prometheus makes itself.
MADE_BY_PROMETHEUS = {"up"}
SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
}


def series_names(exposition: str) -> set[str]:
    """Every series name a Prometheus text exposition offers, labelled families without samples
    yet included (a counter `x` is scraped as `x_total`, a histogram as `x_bucket`, ...)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names |= {family.name + suffix for suffix in SERIES_SUFFIXES.get(family.type, ("",))}
    return names


async def scrape(asgi_app: Any) -> set[str]:
    transport = httpx.ASGITransport(app=asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return series_names(response.text)


@pytest.fixture
async def served() -> dict[str, set[str]]:
    """Series names per Prometheus job, as the running services would serve them."""
    stream_job = create_metrics_app(MetricsSettings())
    # serve_asgi registered a service class carrying the job's FastAPI app as the worker's web
    # server; the app itself is not returned by the factory.
    web_server = stream_job._web_server_service
    assert isinstance(web_server, type)
    assert issubclass(web_server, AsgiService)
    # The forecast and insights services serve, on their HTTP side, the gRPC call metrics of
    # shopee_common.grpc_server and the HTTP metrics of its operations app.
    grpc_service = {
        family.name + suffix
        for metric in (HANDLED, HANDLING_SECONDS)
        for family in metric.describe()
        for suffix in SERIES_SUFFIXES[family.type]
    } | {f"http_request_duration_seconds{suffix}" for suffix in SERIES_SUFFIXES["histogram"]}
    return {
        "metrics": await scrape(web_server.asgi_app),
        "ingest": await scrape(create_ingest_app(IngestSettings())),
        "gateway": await scrape(create_gateway_app(GatewaySettings())),
        "forecast": grpc_service,
        "insights": grpc_service,
    }


def rule_expressions() -> dict[str, str]:
    return {
        rule["alert"]: rule["expr"]
        for group in load_yaml(RULES)["groups"]
        for rule in group["rules"]
    }


def dashboard_expressions() -> dict[str, str]:
    return {
        f"{board['title']}: {expression}": expression
        for board in dashboards().values()
        for expression in prometheus_queries(board)
    }


def test_the_stream_job_serves_its_own_and_fausts_metrics_with_the_expected_names(
    served: dict[str, set[str]],
) -> None:
    names = served["metrics"]
    for name in (
        "metrics_events_total",
        "metrics_dead_letters_total",
        "metrics_batch_seconds_bucket",
        "metrics_batch_events_sum",
        "metrics_processing_latency_seconds_bucket",
        "metrics_consumer_lag",
        "metrics_last_commit_timestamp_seconds",
        "faust_metrics_topic_partition_end_offset",
        "faust_metrics_topic_partition_offset_commited",
        "faust_metrics_messages_received_per_topic_total",
        "http_request_duration_seconds_bucket",
        *ANOMALY_DETECTION_SERIES,
        "metrics_anomaly_checkpoints_saved_total",
        "metrics_anomaly_failures_total",
    ):
        assert name in names, name


@pytest.mark.parametrize("source", ["alert rules", "dashboards"])
def test_every_queried_metric_is_served(source: str, served: dict[str, set[str]]) -> None:
    expressions = rule_expressions() if source == "alert rules" else dashboard_expressions()
    known = set().union(*served.values()) | MADE_BY_PROMETHEUS
    assert expressions
    for where, expression in expressions.items():
        unknown = promql_metric_names(expression) - known
        assert not unknown, f"{where} queries {sorted(unknown)}, which nothing serves"


def test_queries_selecting_a_job_use_only_metrics_that_job_serves(
    served: dict[str, set[str]],
) -> None:
    expressions = {**rule_expressions(), **dashboard_expressions()}
    for where, expression in expressions.items():
        if 'job="metrics"' not in expression:
            continue
        unknown = promql_metric_names(expression) - served["metrics"]
        assert not unknown, f"{where}: the metrics job does not serve {sorted(unknown)}"
