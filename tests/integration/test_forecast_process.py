"""`python -m shopee_forecast` as the platform runs it: ready only with its database and Redis,
gRPC health and reflection, Prometheus metrics, a precise error status, and a drain on SIGTERM;
at start-up, jobs a killed replica left running are marked failed."""

from __future__ import annotations

import tempfile

import grpc
import httpx
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shopee.forecast.v1 import forecast_pb2, forecast_pb2_grpc
from shopee_common.settings import PlatformSettings
from shopee_forecast.adapters.jobs import ABANDONED
from tests.integration.databases import migrated_database
from tests.integration.service_process import free_port, run_service

pytestmark = pytest.mark.integration


def test_the_service_process_serves_reports_and_drains(platform_settings: PlatformSettings) -> None:
    server = platform_settings.database_url.get_secret_value()
    grpc_port = free_port()
    with migrated_database(server, {"proc-shop": "Asia/Manila"}) as dsn:
        orphan = _orphan_job(dsn)
        with (
            tempfile.TemporaryDirectory() as root,
            run_service(
                "shopee_forecast",
                "",
                "SHOPEE_FORECAST_HTTP_PORT",
                '"stopped"',
                SHOPEE_DATABASE_URL=dsn,
                SHOPEE_FORECAST_GRPC_PORT=str(grpc_port),
                SHOPEE_FORECAST_ARTEFACT_ROOT=root,
            ) as service,
        ):
            ready = httpx.get(f"{service.url}/readyz", timeout=5).json()
            assert ready["ready"] is True
            assert set(ready["checks"]) == {"database", "redis"}
            with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                health = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service="shopee.forecast.v1.ForecastService"),
                    timeout=5,
                )
                assert health.status == health_pb2.HealthCheckResponse.SERVING
                stub = forecast_pb2_grpc.ForecastServiceStub(channel)
                job = stub.GetTrainingJob(
                    forecast_pb2.GetTrainingJobRequest(job_id=orphan), timeout=10
                )
                assert (job.state, job.error) == (forecast_pb2.JOB_STATE_FAILED, ABANDONED)
                with pytest.raises(grpc.RpcError) as raised:
                    stub.Forecast(
                        forecast_pb2.ForecastRequest(
                            shop_id="proc-shop", target=forecast_pb2.TARGET_GMV, horizon_days=7
                        ),
                        timeout=10,
                    )
                assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
                assert "has no daily KPIs yet" in (raised.value.details() or "")
            metrics = httpx.get(f"{service.url}/metrics", timeout=5).text
            assert (
                'grpc_server_handled_total{code="FAILED_PRECONDITION",method="Forecast"' in metrics
            )
            assert "forecast_prediction_seconds" in metrics
            assert "forecast_training_seconds" in metrics
            assert '"retrain scheduled"' in service.output()
            assert '"training jobs of stopped replicas marked failed"' in service.output()


def _orphan_job(dsn: str) -> str:
    """A job left running by a replica that was killed (no one holds its owner lock)."""
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "INSERT INTO forecast_training_jobs (shop_id, trigger, state, started_at) "
            "VALUES ('proc-shop', 'rpc', 'running', now()) RETURNING id"
        ).fetchone()
    assert row is not None
    return str(row[0])
