"""One way to call an upstream gRPC service: a channel that retries UNAVAILABLE with backoff
(gRPC's own retry policy, from the service config), a deadline on every call, and gRPC statuses
turned into RFC 9457 problems the routes can raise."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import grpc
import structlog

from shopee_gateway.errors import ProblemError

log = structlog.get_logger("gateway.upstream")

ResponseT = TypeVar("ResponseT")

# Only UNAVAILABLE is retried: the call never reached a servicer or the service said "try again".
# DEADLINE_EXCEEDED is not: the deadline is the caller's whole budget, retries included.
RETRYABLE_CODES = ("UNAVAILABLE",)

# "horizon_days: must be 1 to 90, got 120": shopee_common.grpc_server's convention for naming
# the offending field in an INVALID_ARGUMENT message.
FIELD_MESSAGE = re.compile(r"^(?P<field>[a-z_][a-z0-9_.\[\]]*): (?P<message>.+)$", re.DOTALL)


def service_config(service_name: str, max_attempts: int, initial_backoff_seconds: float) -> str:
    """The gRPC service config JSON with the retry policy for every method of `service_name`."""
    policy = {
        "maxAttempts": max_attempts,
        "initialBackoff": f"{initial_backoff_seconds}s",
        "maxBackoff": f"{max(initial_backoff_seconds * 8, 1.0)}s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": list(RETRYABLE_CODES),
    }
    return json.dumps(
        {"methodConfig": [{"name": [{"service": service_name}], "retryPolicy": policy}]}
    )


def open_channel(
    target: str,
    service_name: str,
    *,
    max_attempts: int = 3,
    initial_backoff_seconds: float = 0.1,
) -> grpc.aio.Channel:
    """An insecure channel to `target` (the services sit on the private network) with retries.

    Reconnect backoff is capped low so a restarted service is reached again within seconds.
    """
    return grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.enable_retries", 1),
            (
                "grpc.service_config",
                service_config(service_name, max_attempts, initial_backoff_seconds),
            ),
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.min_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 2_000),
            ("grpc.keepalive_time_ms", 30_000),
        ],
    )


async def call(
    service: str,
    method: Callable[..., Awaitable[ResponseT]],
    request: Any,
    *,
    deadline_seconds: float,
    field_names: Mapping[str, str] | None = None,
) -> ResponseT:
    """`method(request)` with a deadline; a failed call raises the matching ProblemError.

    `field_names` maps proto field names to the HTTP request's names when they differ, so a 422
    names the field the caller sent.
    """
    try:
        return await method(request, timeout=deadline_seconds)
    except grpc.aio.AioRpcError as error:
        raise problem_for_status(
            service, error.code(), error.details() or "", field_names
        ) from None


def problem_for_status(
    service: str,
    code: grpc.StatusCode,
    message: str,
    field_names: Mapping[str, str] | None = None,
) -> ProblemError:
    """The problem details a gRPC status becomes (the service's message is the detail).

    NOT_FOUND -> 404; INVALID_ARGUMENT / OUT_OF_RANGE -> 422 naming the field; FAILED_PRECONDITION
    -> 409 (the request is valid, the shop's data is not ready for it); UNAVAILABLE /
    DEADLINE_EXCEEDED -> 503 with Retry-After; anything else -> 502 (the upstream failed).
    """
    if code == grpc.StatusCode.NOT_FOUND:
        return ProblemError(404, message or f"not found by the {service} service")
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE):
        match = FIELD_MESSAGE.match(message)
        if match is None:
            return ProblemError(422, message, errors=[{"field": "(request)", "message": message}])
        field = (field_names or {}).get(match["field"], match["field"])
        return ProblemError(
            422,
            f"{field}: {match['message']}",
            errors=[{"field": field, "message": match["message"]}],
        )
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return ProblemError(409, message, "Not enough data")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        reason = (
            "did not answer in time"
            if code == grpc.StatusCode.DEADLINE_EXCEEDED
            else "is unavailable"
        )
        log.warning("upstream unavailable", service=service, code=code.name, message=message)
        return ProblemError(
            503,
            f"the {service} service {reason}; try again shortly",
            type_="https://shopee-analytics.dev/problems/upstream-unavailable",
            headers={"Retry-After": "5"},
            service=service,
        )
    log.error("upstream failed", service=service, code=code.name, message=message)
    return ProblemError(
        502, f"the {service} service failed: {message}", "Bad gateway", service=service
    )
