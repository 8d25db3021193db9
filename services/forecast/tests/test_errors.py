"""Request checks and error mapping: precise INVALID_ARGUMENT messages, UNAVAILABLE on outages."""

from __future__ import annotations

from typing import Any

import asyncpg
import grpc
import pytest
import redis.exceptions

from shopee.forecast.v1 import forecast_pb2, forecast_pb2_grpc
from shopee_common.grpc_server import GrpcService, InvalidArgument, build_server
from shopee_forecast.app import OUTAGES
from shopee_forecast.domain.series import SeriesKey, Target
from shopee_forecast.servicer import inventory_policy, series_key, target_of


def _request(**fields: object) -> forecast_pb2.ForecastRequest:
    base: dict[str, object] = {
        "shop_id": "s1",
        "target": forecast_pb2.TARGET_GMV,
        "horizon_days": 30,
    }
    return forecast_pb2.ForecastRequest(**{**base, **fields})  # type: ignore[arg-type]


def test_a_good_request_names_its_series() -> None:
    assert series_key(_request()) == SeriesKey("s1", Target.GMV)
    key = series_key(_request(target=forecast_pb2.TARGET_UNITS, product_id="P1", horizon_days=90))
    assert key.model_name == "forecast/s1/units/P1"
    assert key.label == "forecast:units:P1"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"horizon_days": 120}, "horizon_days: must be 1 to 90, got 120"),
        ({"horizon_days": 0}, "horizon_days: must be 1 to 90, got 0"),
        ({"shop_id": ""}, "shop_id: required"),
        ({"target": forecast_pb2.TARGET_UNSPECIFIED}, "target: must be one of TARGET_GMV"),
        ({"target": forecast_pb2.TARGET_UNITS}, "product_id: required for TARGET_UNITS"),
        ({"product_id": "P1"}, "product_id: only TARGET_UNITS is per product"),
    ],
)
def test_bad_requests_say_which_field_and_why(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        series_key(_request(**fields))
    assert raised.value.message.startswith(message)


def test_an_unknown_target_number_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="targets: must be one of"):
        target_of(42, "targets")


class _FailingServicer(forecast_pb2_grpc.ForecastServiceServicer):
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def ListModels(self, request: Any, context: Any) -> forecast_pb2.ListModelsResponse:
        raise self.error


async def _status_of(error: Exception) -> tuple[grpc.StatusCode, str]:
    """The status a call gets from the service's real gRPC server when the servicer raises."""
    servicer = _FailingServicer(error)
    built = build_server(
        GrpcService(
            name="forecast-errors-test",
            full_names=["shopee.forecast.v1.ForecastService"],
            register=lambda server: forecast_pb2_grpc.add_ForecastServiceServicer_to_server(
                servicer, server
            ),
            outages=OUTAGES,
        )
    )
    await built.server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{built.port}") as channel:
            stub = forecast_pb2_grpc.ForecastServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await stub.ListModels(forecast_pb2.ListModelsRequest(shop_id="s"))
        return failed.value.code(), failed.value.details() or ""
    finally:
        await built.server.stop(None)


@pytest.mark.parametrize(
    "outage",
    [
        ConnectionRefusedError("refused"),
        asyncpg.CannotConnectNowError("starting up"),
        asyncpg.exceptions.AdminShutdownError(
            "terminating connection due to administrator command"
        ),
        asyncpg.exceptions.CrashShutdownError("terminating connection due to crash of another"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("connection is closed"),
        redis.exceptions.ConnectionError("redis down"),
    ],
)
async def test_store_outages_become_unavailable(outage: Exception) -> None:
    code, details = await _status_of(outage)
    assert code == grpc.StatusCode.UNAVAILABLE
    assert "a backing store is unavailable" in details


async def test_other_errors_are_internal_with_an_error_id() -> None:
    code, details = await _status_of(KeyError("bug"))
    assert code == grpc.StatusCode.INTERNAL
    assert details.startswith("internal error ")


def test_zero_in_an_inventory_request_means_the_default() -> None:
    # proto3 sends 0 for a field the caller left out.
    assert inventory_policy(forecast_pb2.InventoryRequest()) == (0.95, 7, 14)
    assert inventory_policy(forecast_pb2.InventoryRequest(review_period_days=3)) == (0.95, 7, 3)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"review_period_days": 121}, "review_period_days: must be 1 to 120, got 121"),
        ({"review_period_days": -1}, "review_period_days: must be 1 to 120, got -1"),
        ({"lead_time_days": 121}, "lead_time_days: must be 1 to 120, got 121"),
        ({"service_level": 0.3}, "service_level: must be 0.5 to 0.999, got 0.3"),
    ],
)
def test_bad_inventory_requests_say_which_field_and_why(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        inventory_policy(forecast_pb2.InventoryRequest(**fields))  # type: ignore[arg-type]
    assert raised.value.message == message
