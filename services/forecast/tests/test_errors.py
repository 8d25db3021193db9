"""Request checks and error mapping: precise INVALID_ARGUMENT messages, UNAVAILABLE on outages."""

from __future__ import annotations

import asyncpg
import pytest
import redis.exceptions

from shopee.forecast.v1 import forecast_pb2
from shopee_common.grpc_server import InvalidArgument, Unavailable
from shopee_forecast.domain.series import SeriesKey, Target
from shopee_forecast.servicer import series_key, target_of, unavailable_on_outage


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


@pytest.mark.parametrize(
    "outage",
    [
        ConnectionRefusedError("refused"),
        asyncpg.CannotConnectNowError("starting up"),
        redis.exceptions.ConnectionError("redis down"),
    ],
)
async def test_store_outages_become_unavailable(outage: Exception) -> None:
    @unavailable_on_outage
    async def rpc() -> None:
        raise outage

    with pytest.raises(Unavailable, match="a backing store is unavailable"):
        await rpc()


async def test_other_errors_are_left_to_the_server() -> None:
    @unavailable_on_outage
    async def rpc() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await rpc()
