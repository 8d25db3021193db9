"""Run a gRPC service the platform's way (the forecast and insights services use this).

One grpc.aio server with the standard health service, server reflection and a Prometheus
interceptor; beside it a small HTTP server with /healthz, /readyz and /metrics, so operators and
Kubernetes probe every service the same way. SIGTERM or SIGINT marks the service NOT_SERVING,
lets calls in flight finish (a grace period), then closes.

Servicers report bad input by raising a `ServiceError` subclass (`NotFound("shop 'x' is not
registered")`); the interceptor turns it into that gRPC status with the message. An exception the
service lists as an outage of a backing store (`GrpcService.outages`) becomes UNAVAILABLE, which
callers retry. Any other exception becomes INTERNAL with an error id that is also logged, so a
bug answers a call with an error instead of taking the process down.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
import uvicorn
from fastapi import FastAPI
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import Counter, Histogram

from shopee_common.http import ReadinessCheck, health_router, instrument

HANDLED = Counter(
    "grpc_server_handled_total",
    "gRPC calls completed, by method and status code",
    ["service", "method", "code"],
)
HANDLING_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "gRPC call latency by method",
    ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class ServiceError(Exception):
    """An answer that is an error the caller can act on; `code` is its gRPC status."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE


@dataclass(frozen=True)
class GrpcService:
    """What `serve` runs: a name for logs and metrics, the full proto service names (for health
    and reflection) and a function that adds the servicers to a server."""

    name: str
    full_names: Sequence[str]
    register: Callable[[grpc.aio.Server], None]
    # Exceptions that mean a backing store (database, cache) cannot be reached right now.
    outages: tuple[type[BaseException], ...] = (OSError,)


@dataclass(frozen=True)
class BuiltServer:
    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer


class _Observe(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Count and time each unary call, and turn exceptions into statuses."""

    def __init__(self, service: str, outages: tuple[type[BaseException], ...]) -> None:
        self.service = service
        self.outages = outages
        self.log = structlog.get_logger(service)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = str(details.method).rsplit("/", 1)[-1]
        inner = handler.unary_unary

        async def observed(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                response = await inner(request, context)
                code = context.code() or grpc.StatusCode.OK
                return response
            except ServiceError as exc:
                code = exc.code
                await context.abort(exc.code, exc.message)
            except self.outages as exc:
                code = grpc.StatusCode.UNAVAILABLE
                await context.abort(
                    code, f"a backing store is unavailable: {type(exc).__name__}: {exc}"
                )
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception:
                code = grpc.StatusCode.INTERNAL
                error_id = uuid.uuid4().hex[:12]
                self.log.exception("rpc failed", method=method, error_id=error_id)
                await context.abort(
                    grpc.StatusCode.INTERNAL, f"internal error {error_id}; the service logged it"
                )
            finally:
                HANDLED.labels(self.service, method, _code_name(code)).inc()
                HANDLING_SECONDS.labels(self.service, method).observe(time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            observed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _code_name(code: Any) -> str:
    return code.name if isinstance(code, grpc.StatusCode) else str(code)


def build_server(service: GrpcService, *, host: str = "127.0.0.1", port: int = 0) -> BuiltServer:
    """A grpc.aio server with the service, health and reflection, bound (port 0: any free port)
    but not started; tests use it to run the real service in-process."""
    server = grpc.aio.server(interceptors=[_Observe(service.name, service.outages)])
    service.register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*service.full_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    return BuiltServer(server=server, port=bound, health=health_servicer)


class _HttpServer(uvicorn.Server):
    """uvicorn without its own signal handling: `serve` owns SIGTERM for both servers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _set_health(built: BuiltServer, service: GrpcService, status: int) -> None:
    for name in ("", *service.full_names):
        await built.health.set(name, status)


def operations_app(name: str, readiness_checks: Mapping[str, ReadinessCheck]) -> FastAPI:
    """The HTTP side of a gRPC service: /healthz, /readyz and /metrics (the process's registry,
    which holds the gRPC call metrics above)."""
    app = FastAPI(title=f"{name} operations", docs_url=None, redoc_url=None)
    app.state.readiness_checks = dict(readiness_checks)
    app.include_router(health_router())
    instrument(app, name)
    return app


async def serve(
    service: GrpcService,
    *,
    grpc_port: int,
    http_port: int,
    readiness_checks: Mapping[str, ReadinessCheck],
    host: str = "0.0.0.0",  # noqa: S104 - a service in a container listens on all interfaces
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
    grace_seconds: float = 10.0,
) -> None:
    """Run the gRPC service and its HTTP side until SIGTERM or SIGINT, then drain and close."""
    log = structlog.get_logger(service.name)
    built = build_server(service, host=host, port=grpc_port)
    await built.server.start()
    await _set_health(built, service, health_pb2.HealthCheckResponse.SERVING)

    http_server = _HttpServer(
        uvicorn.Config(
            operations_app(service.name, readiness_checks),
            host=host,
            port=http_port,
            log_config=None,
            access_log=False,
        )
    )
    http_task = asyncio.create_task(http_server.serve())

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    log.info("serving", grpc_port=built.port, http_port=http_port)
    try:
        await stopping.wait()
    finally:
        log.info("shutting down", grace_seconds=grace_seconds)
        await _set_health(built, service, health_pb2.HealthCheckResponse.NOT_SERVING)
        await built.server.stop(grace_seconds)
        http_server.should_exit = True
        await http_task
        if on_shutdown is not None:
            await on_shutdown()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        log.info("stopped")
