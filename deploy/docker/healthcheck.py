"""Container health probe for the platform images: exit 0 when the component answers healthy.

    python /app/healthcheck.py [URL]

URL is `http://host:port/path` (healthy: a 2xx answer) or `grpc://host:port[/service]` (healthy:
SERVING from the stock grpc.health.v1 service). Without an argument it reads
SHOPEE_HEALTHCHECK_URL, which the image sets at build time; `none` marks a one-shot image with
nothing to ask. The slim runtime image has no curl and no grpc_health_probe, and this script needs
only what every image already carries (the standard library and grpcio).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 3.0
NO_ENDPOINT = "none"


def check_http(url: str, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """GET `url`; None when it answered 2xx, otherwise why not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http only)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{url} did not answer: {exc}"
    return None if 200 <= status < 300 else f"{url} answered {status}"


def check_grpc(target: str, service: str = "", timeout: float = TIMEOUT_SECONDS) -> str | None:
    """Ask grpc.health.v1 Check on `target` (host:port); None when SERVING, otherwise why not."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as exc:
            return f"grpc://{target} health check failed: {exc.code().name}"
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        status_name = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        return f"grpc://{target} is {status_name}"
    return None


def check(url: str) -> str | None:
    """Probe `url` by its scheme; None when healthy, otherwise the reason it is not."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return check_http(url)
    if parts.scheme == "grpc" and parts.netloc:
        return check_grpc(parts.netloc, parts.path.strip("/"))
    return f"unsupported health check URL {url!r}: use http://, https:// or grpc://"


def main(argv: list[str] | None = None) -> int:
    """Probe the URL from the command line or SHOPEE_HEALTHCHECK_URL; return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else os.environ.get("SHOPEE_HEALTHCHECK_URL", "")
    if url == NO_ENDPOINT:
        print("this image runs a one-shot command and has no health endpoint")
        return 0
    if not url:
        print("no health check URL: pass one or set SHOPEE_HEALTHCHECK_URL", file=sys.stderr)
        return 1
    problem = check(url)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
