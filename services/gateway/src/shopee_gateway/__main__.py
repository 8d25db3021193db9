"""Entry point: `python -m shopee_gateway` (or `shopee-gateway`)."""

from __future__ import annotations

import uvicorn

from shopee_common.logging import configure_logging
from shopee_gateway.app import create_app
from shopee_gateway.settings import GatewaySettings


def main() -> None:
    """Serve the gateway until SIGTERM, then drain."""
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    # uvicorn handles SIGTERM: stops accepting, finishes requests in flight (up to the grace),
    # then runs the lifespan's shutdown, which stops the live stream and closes the pools.
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
