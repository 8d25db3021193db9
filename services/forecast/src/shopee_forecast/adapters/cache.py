"""Forecasts cached in Redis, keyed by the model version that made them: a retrained model has a
new version, so its forecasts never meet the old ones; the TTL lets newly announced campaigns in."""

from __future__ import annotations

from redis.asyncio import Redis

from shopee.forecast.v1 import forecast_pb2

# v2: responses carry `expected` and `expected_total`; v1 entries lack them.
PREFIX = "shopee:forecast:v2"


def cache_key(model_name: str, version: str, horizon_days: int) -> str:
    return f"{PREFIX}:{model_name}:{version}:{horizon_days}"


class ForecastCache:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def get(self, key: str) -> forecast_pb2.ForecastResponse | None:
        data = await self._redis.get(key)
        if data is None:
            return None
        if isinstance(data, str):
            data = data.encode()
        response = forecast_pb2.ForecastResponse()
        response.ParseFromString(data)
        return response

    async def put(self, key: str, response: forecast_pb2.ForecastResponse) -> None:
        await self._redis.set(key, response.SerializeToString(), ex=self._ttl)

    async def ping(self) -> None:
        await self._redis.ping()
