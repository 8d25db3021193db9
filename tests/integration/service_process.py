"""Runs a real platform service (`python -m shopee_<name>`) as a process for a test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

TEST_API_KEY = "sk_test_integration_key_0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    """A service process with its log; `kill()` and `start()` simulate crashes and restarts."""

    module: str
    env: dict[str, str]
    url: str
    log: IO[bytes]
    process: subprocess.Popen[bytes] | None = None

    def start(self, wait_ready: bool = True) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.module} exited early with {self.process.returncode}:\n{self.output()}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.module} was not ready within {seconds}s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM and wait: the graceful shutdown path."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


@contextmanager
def run_service(
    module: str, topic_prefix: str, port_variable: str, drained_line: str, **env: str
) -> Iterator[ServiceProcess]:
    """Start a service on a free port with private topics; SIGTERM it afterwards and check that it
    drained: exit 0 or -15 (uvicorn re-raises SIGTERM after a clean stop) and `drained_line` in
    its log."""
    port = free_port()
    environment = {
        **os.environ,
        "SHOPEE_ENVIRONMENT": "test",
        "SHOPEE_TOPIC_PREFIX": topic_prefix,
        port_variable: str(port),
        "SHOPEE_LOG_LEVEL": "INFO",
        **env,
    }
    with tempfile.TemporaryFile() as log:
        service = ServiceProcess(module, environment, f"http://127.0.0.1:{port}", log)
        service.start()
        try:
            yield service
        finally:
            code = service.terminate()
        output = service.output()
        assert code in (0, -signal.SIGTERM), (
            f"{module} exited with {code} after SIGTERM:\n{output[-3000:]}"
        )
        assert drained_line in output, f"{module} did not drain on SIGTERM:\n{output[-3000:]}"


@contextmanager
def run_ingest(topic_prefix: str, **env: str) -> Iterator[ServiceProcess]:
    env = {"SHOPEE_INGEST_API_KEYS": TEST_API_KEY, **env}
    with run_service(
        "shopee_ingest", topic_prefix, "SHOPEE_INGEST_PORT", '"ingest stopped"', **env
    ) as service:
        yield service


@contextmanager
def run_metrics(topic_prefix: str, database_url: str, **env: str) -> Iterator[ServiceProcess]:
    env = {
        "SHOPEE_DATABASE_URL": database_url,
        "SHOPEE_METRICS_APP_ID": f"metrics-{topic_prefix.strip('.')}",
        "SHOPEE_METRICS_DATA_DIR": tempfile.mkdtemp(prefix="metrics-state-"),
        **env,
    }
    with run_service(
        "shopee_metrics", topic_prefix, "SHOPEE_METRICS_WEB_PORT", "metrics job stopped", **env
    ) as service:
        yield service


@contextmanager
def run_gateway(topic_prefix: str, database_url: str, **env: str) -> Iterator[ServiceProcess]:
    """The gateway process with a signing key and Redis keys of its own (`env` may set them)."""
    env = {
        "SHOPEE_DATABASE_URL": database_url,
        "SHOPEE_GATEWAY_JWT_SIGNING_KEY": signing_key_pem(),
        "SHOPEE_GATEWAY_REDIS_PREFIX": f"gw{uuid.uuid4().hex[:10]}:",
        **env,
    }
    with run_service(
        "shopee_gateway", topic_prefix, "SHOPEE_GATEWAY_PORT", "gateway stopped", **env
    ) as service:
        yield service


def signing_key_pem() -> str:
    """A fresh Ed25519 private key in PEM."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
