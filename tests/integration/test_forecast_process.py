"""`python -m shopee_forecast` as the platform runs it: ready only with its database and Redis,
gRPC health and reflection, Prometheus metrics, a precise error status, and a drain on SIGTERM;
at start-up, a scheduled job a killed replica left running is taken up, and other jobs it left
running are marked failed."""

from __future__ import annotations

import tempfile
import time

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
        orphan = _orphan_job(dsn, "rpc")
        scheduled = _orphan_job(dsn, "schedule")
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
                # Tonight's scheduled job, whose replica was killed, is taken up and finished.
                job = _finished(stub, scheduled)
                assert job.state == forecast_pb2.JOB_STATE_SUCCEEDED
                assert (job.series_done, job.series_total) == (1, 1)  # the churn model
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
            assert '"joined the running scheduled retrain"' in service.output()


def _orphan_job(dsn: str, trigger: str) -> str:
    """A job with one shop left running by a replica that was killed (no one holds its locks)."""
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "INSERT INTO forecast_training_jobs (shop_id, trigger, state, started_at, series_total) "
            "VALUES ('proc-shop', %s, 'running', now(), 1) RETURNING id",
            (trigger,),
        ).fetchone()
        assert row is not None
        connection.execute(
            "INSERT INTO forecast_training_shops (job_id, shop_id, state, series_total) "
            "VALUES (%s, 'proc-shop', 'running', 1)",
            (row[0],),
        )
    return str(row[0])


def _finished(stub: forecast_pb2_grpc.ForecastServiceStub, job_id: str) -> forecast_pb2.TrainingJob:
    request = forecast_pb2.GetTrainingJobRequest(job_id=job_id)
    deadline = time.monotonic() + 60
    job: forecast_pb2.TrainingJob = stub.GetTrainingJob(request, timeout=10)
    while job.state == forecast_pb2.JOB_STATE_RUNNING and time.monotonic() < deadline:
        time.sleep(0.2)
        job = stub.GetTrainingJob(request, timeout=10)
    return job
