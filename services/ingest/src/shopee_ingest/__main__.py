"""Entry point: `python -m shopee_ingest` (or `shopee-ingest`)."""

from __future__ import annotations

import uvicorn

from shopee_common.logging import configure_logging
from shopee_ingest.app import create_app
from shopee_ingest.settings import IngestSettings


def main() -> None:
    settings = IngestSettings()
    settings.require_real_secret("SHOPEE_INGEST_API_KEYS", settings.ingest_api_keys)
    configure_logging("ingest", settings.log_level)
    # uvicorn handles SIGTERM: stops accepting, finishes requests, then runs the lifespan's drain.
    uvicorn.run(
        create_app(settings),
        host=settings.ingest_host,
        port=settings.ingest_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
        limit_concurrency=2_000,
    )


if __name__ == "__main__":
    main()
