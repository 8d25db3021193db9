"""Entry point: `python -m shopee_metrics` (or `shopee-metrics`) runs one stream worker."""

from __future__ import annotations

import gc

import faust

from shopee_common.logging import configure_logging
from shopee_metrics.app import create_app
from shopee_metrics.settings import MetricsSettings

# The job makes and drops hundreds of thousands of small objects a second (decoded events, row
# keys); with the default thresholds the cyclic collector ran so often that it took about half
# of the per-event CPU time (measured on a batch of 5,000). Young objects are collected about 300
# times less often, and what exists after start-up (modules, the framework) is never scanned
# again. A batch keeps ~100,000 young objects alive until it is written (candidates, member rows,
# row keys), all freed by reference counting after; at 50,000 the collector still scanned every
# batch in flight, ~5 us an event (store-only bench: Python 54-59 -> 47-50 us an event).
GC_YOUNG_THRESHOLD = 200_000


def main() -> None:
    settings = MetricsSettings()
    configure_logging("metrics", settings.log_level)
    app = create_app(settings)
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 10)
    # Faust's worker owns the loop and handles SIGTERM: it stops the event loop (which finishes
    # the batch in flight and commits its offsets) and the producer.
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
