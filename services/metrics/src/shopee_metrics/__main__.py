"""Entry point: `python -m shopee_metrics` (or `shopee-metrics`) runs one stream worker."""

from __future__ import annotations

import faust

from shopee_common.logging import configure_logging
from shopee_metrics.app import create_app
from shopee_metrics.settings import MetricsSettings


def main() -> None:
    settings = MetricsSettings()
    configure_logging("metrics", settings.log_level)
    app = create_app(settings)
    # Faust's worker owns the loop and handles SIGTERM: it stops the agent (which finishes the
    # batch in flight), commits the acknowledged offsets and stops the producer.
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
