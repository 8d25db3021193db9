"""deploy/docker/healthcheck.py, the images' health probe, against real HTTP and gRPC servers on
127.0.0.1."""

from __future__ import annotations

import importlib.util
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from tests.deploy.manifests import REPO


@pytest.fixture(scope="module")
def probe() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "healthcheck", REPO / "deploy" / "docker" / "healthcheck.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = {"/healthz": 200, "/readyz": 503}.get(self.path, 404)
        self.send_response(status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def grpc_health() -> Iterator[tuple[int, health.HealthServicer]]:
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port, servicer
    server.stop(grace=None)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_http_2xx_is_healthy(probe: ModuleType, http_port: int) -> None:
    assert probe.main([f"http://127.0.0.1:{http_port}/healthz"]) == 0


def test_http_503_is_unhealthy(
    probe: ModuleType, http_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert probe.main([f"http://127.0.0.1:{http_port}/readyz"]) == 1
    assert "answered 503" in capsys.readouterr().err


def test_nothing_listening_is_unhealthy(probe: ModuleType) -> None:
    assert probe.main([f"http://127.0.0.1:{unused_port()}/healthz"]) == 1
    assert probe.main([f"grpc://127.0.0.1:{unused_port()}"]) == 1


def test_grpc_follows_the_serving_status(
    probe: ModuleType, grpc_health: tuple[int, health.HealthServicer]
) -> None:
    port, servicer = grpc_health
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    assert probe.main([f"grpc://127.0.0.1:{port}"]) == 0
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    assert probe.main([f"grpc://127.0.0.1:{port}"]) == 1
    servicer.set("forecast.v1.Forecast", health_pb2.HealthCheckResponse.SERVING)
    assert probe.main([f"grpc://127.0.0.1:{port}/forecast.v1.Forecast"]) == 0
    assert probe.main([f"grpc://127.0.0.1:{port}/unknown.Service"]) == 1


def test_url_comes_from_the_environment_when_not_given(
    probe: ModuleType, http_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPEE_HEALTHCHECK_URL", f"http://127.0.0.1:{http_port}/healthz")
    assert probe.main([]) == 0
    monkeypatch.setenv("SHOPEE_HEALTHCHECK_URL", "")
    assert probe.main([]) == 1, "an image without a configured probe is not healthy"
    monkeypatch.setenv("SHOPEE_HEALTHCHECK_URL", "none")
    assert probe.main([]) == 0, "one-shot images declare they have nothing to probe"


def test_unknown_schemes_are_refused(probe: ModuleType) -> None:
    assert probe.main(["tcp://127.0.0.1:1"]) == 1
