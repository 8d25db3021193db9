"""HTTP plumbing for the FastAPI services: health and readiness that can fail, Prometheus metrics,
and the platform's one error format (RFC 9457 problem details)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
)

ReadinessCheck = Callable[[], Awaitable[None]]
PROBLEM_JSON = "application/problem+json"


def problem(
    status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any
) -> JSONResponse:
    """An RFC 9457 problem details response."""
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def health_router(timeout_seconds: float = 2.0) -> APIRouter:
    """`/healthz` (the process answers) and `/readyz` (every dependency answered in time).

    The checks are read from `app.state.readiness_checks` (name -> async callable), which the
    app's lifespan sets once its clients are connected; until then the app is not ready.
    """
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: Kafka and the other dependencies answer")
    async def readyz(request: Request) -> Response:
        checks: dict[str, ReadinessCheck] | None = getattr(
            request.app.state, "readiness_checks", None
        )
        if not checks:
            return JSONResponse(
                {"ready": False, "checks": {"startup": "not finished"}}, status_code=503
            )
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), timeout_seconds)
                results[name] = "ok"
            except Exception as exc:  # a failed check is the answer, not an error
                results[name] = f"failing: {type(exc).__name__}: {exc}"[:300]
        ready = all(v == "ok" for v in results.values())
        return JSONResponse({"ready": ready, "checks": results}, status_code=200 if ready else 503)

    return router


def instrument(app: FastAPI, service: str, registry: CollectorRegistry = REGISTRY) -> None:
    """Count and time every request by route template, and serve `/metrics`."""
    latency = Histogram(
        "http_request_duration_seconds",
        "HTTP request latency by route and status",
        ["service", "method", "route", "status"],
        registry=registry,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    )

    @app.middleware("http")
    async def _observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        latency.labels(service, request.method, template, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class BodySizeLimit:
    """ASGI middleware: a body over `max_bytes` gets 413 before it is read into memory.

    Checks Content-Length up front and counts chunked bodies as they arrive.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._reject(scope, receive, send)

    async def _reject(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        response = problem(
            413, "Payload too large", f"the request body is larger than {self.max_bytes} bytes"
        )
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass
