"""Runs the real ingest service (`python -m shopee_ingest`) as a process for a test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

TEST_API_KEY = "sk_test_integration_key_0123456789abcdef"


@dataclass(frozen=True)
class RunningIngest:
    url: str
    api_key: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def run_ingest(topic_prefix: str, **env: str) -> Iterator[RunningIngest]:
    """Start ingest on a free port with private topics; SIGTERM it afterwards and expect a drained
    shutdown (uvicorn re-raises SIGTERM after its graceful shutdown, so the exit code is -15)."""
    port = free_port()
    environment = {
        **os.environ,
        "SHOPEE_ENVIRONMENT": "test",
        "SHOPEE_TOPIC_PREFIX": topic_prefix,
        "SHOPEE_INGEST_PORT": str(port),
        "SHOPEE_INGEST_API_KEYS": TEST_API_KEY,
        "SHOPEE_LOG_LEVEL": "INFO",
        **env,
    }
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, "-m", "shopee_ingest"], env=environment, stdout=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield RunningIngest(url, TEST_API_KEY, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    log.seek(0)
    output = log.read().decode()
    log.close()
    assert code in (0, -signal.SIGTERM), f"ingest exited with {code} after SIGTERM:\n{output[-2000:]}"
    assert '"ingest stopped"' in output, f"ingest did not drain on SIGTERM:\n{output[-2000:]}"


def _wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ingest exited early with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"ingest was not ready within {seconds}s")
