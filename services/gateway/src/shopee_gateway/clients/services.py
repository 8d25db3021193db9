"""The forecast and insights stubs the ML routes call, built once per app in its lifespan."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from pydantic import BaseModel

from shopee.forecast.v1 import forecast_pb2_grpc
from shopee.insights.v1 import insights_pb2_grpc
from shopee_gateway.clients.upstream import ResponseT, call, open_channel

FORECAST_SERVICE = "shopee.forecast.v1.ForecastService"
INSIGHTS_SERVICE = "shopee.insights.v1.InsightsService"
AnswerT = TypeVar("AnswerT", bound=BaseModel)


@dataclass
class Upstreams:
    """Stubs of the upstream services and the deadline every call gets."""

    forecast: forecast_pb2_grpc.ForecastServiceAsyncStub
    insights: insights_pb2_grpc.InsightsServiceAsyncStub
    deadline_seconds: float
    channels: tuple[grpc.aio.Channel, ...]

    @classmethod
    def connect(
        cls,
        forecast_target: str,
        insights_target: str,
        deadline_seconds: float,
        max_attempts: int = 3,
    ) -> Upstreams:
        """Channels connect lazily: a service that is down makes its routes answer 503, it does
        not stop the gateway from starting."""
        forecast_channel = open_channel(
            forecast_target, FORECAST_SERVICE, max_attempts=max_attempts
        )
        insights_channel = open_channel(
            insights_target, INSIGHTS_SERVICE, max_attempts=max_attempts
        )
        return cls(
            # grpc ships no types, so the stubs' overload on aio.Channel cannot be picked.
            forecast=cast(
                "forecast_pb2_grpc.ForecastServiceAsyncStub",
                forecast_pb2_grpc.ForecastServiceStub(forecast_channel),
            ),
            insights=cast(
                "insights_pb2_grpc.InsightsServiceAsyncStub",
                insights_pb2_grpc.InsightsServiceStub(insights_channel),
            ),
            deadline_seconds=deadline_seconds,
            channels=(forecast_channel, insights_channel),
        )

    async def call(
        self, service: str, method: Callable[..., Awaitable[ResponseT]], request: Any
    ) -> ResponseT:
        """`method(request)` with the upstream deadline; a failure raises its problem."""
        return await call(service, method, request, deadline_seconds=self.deadline_seconds)

    async def answer(
        self,
        service: str,
        method: Callable[..., Awaitable[Message]],
        request: Any,
        model: type[AnswerT],
    ) -> AnswerT:
        """The call's response as the route's response model."""
        return model.model_validate(message_dict(await self.call(service, method, request)))

    async def close(self, grace_seconds: float = 1.0) -> None:
        """Let in-flight calls finish for up to `grace_seconds`, then close the channels."""
        for channel in self.channels:
            await channel.close(grace=grace_seconds)


def message_dict(message: Message) -> dict[str, Any]:
    """A response as a dict with the proto field names and every field present (int64 as
    strings and enums as names, which the response models convert)."""
    return MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
