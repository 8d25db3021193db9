"""The platform's gRPC server: errors become statuses, calls are counted, health answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from shopee.forecast.v1 import forecast_pb2, forecast_pb2_grpc
from shopee_common.grpc_server import BuiltServer, GrpcService, NotFound, build_server

SERVICE_NAME = "shopee.forecast.v1.ForecastService"


class _Servicer(forecast_pb2_grpc.ForecastServiceServicer):
    async def Forecast(
        self, request: forecast_pb2.ForecastRequest, context: grpc.aio.ServicerContext
    ) -> forecast_pb2.ForecastResponse:
        if request.shop_id != "known":
            raise NotFound(f"shop {request.shop_id!r} is not registered")
        return forecast_pb2.ForecastResponse(shop_id=request.shop_id, model="seasonal_naive")

    async def PredictChurn(
        self, request: forecast_pb2.ChurnRequest, context: grpc.aio.ServicerContext
    ) -> forecast_pb2.ChurnResponse:
        raise ConnectionRefusedError("the database refused the connection")

    async def ListModels(
        self, request: forecast_pb2.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> forecast_pb2.ListModelsResponse:
        raise RuntimeError("a bug")


@pytest.fixture
async def running() -> AsyncIterator[BuiltServer]:
    servicer = _Servicer()
    service = GrpcService(
        name="grpc-server-test",
        full_names=[SERVICE_NAME],
        register=lambda server: forecast_pb2_grpc.add_ForecastServiceServicer_to_server(
            servicer, server
        ),
    )
    built = build_server(service)
    await built.server.start()
    await built.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    yield built
    await built.server.stop(None)


def _count(method: str, code: str) -> float:
    value = REGISTRY.get_sample_value(
        "grpc_server_handled_total",
        {"service": "grpc-server-test", "method": method, "code": code},
    )
    return value or 0.0


async def test_errors_become_statuses_and_are_counted(running: BuiltServer) -> None:
    before_ok = _count("Forecast", "OK")
    before_missing = _count("Forecast", "NOT_FOUND")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = forecast_pb2_grpc.ForecastServiceStub(channel)
        answer = await stub.Forecast(forecast_pb2.ForecastRequest(shop_id="known"))
        assert answer.model == "seasonal_naive"
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.Forecast(forecast_pb2.ForecastRequest(shop_id="nope"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        assert missing.value.details() == "shop 'nope' is not registered"
        with pytest.raises(grpc.aio.AioRpcError) as bug:
            await stub.ListModels(forecast_pb2.ListModelsRequest(shop_id="known"))
        assert bug.value.code() == grpc.StatusCode.INTERNAL
        assert "internal error" in (bug.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as outage:
            await stub.PredictChurn(forecast_pb2.ChurnRequest(shop_id="known"))
        assert outage.value.code() == grpc.StatusCode.UNAVAILABLE
        # The server survives a bug and keeps answering.
        again = await stub.Forecast(forecast_pb2.ForecastRequest(shop_id="known"))
        assert again.shop_id == "known"
    assert _count("Forecast", "OK") == before_ok + 2
    assert _count("Forecast", "NOT_FOUND") == before_missing + 1
    assert _count("ListModels", "INTERNAL") >= 1


async def test_health_service_answers(running: BuiltServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        answer = await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
