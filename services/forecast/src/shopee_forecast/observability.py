"""Prometheus metrics of the forecast service (served on the HTTP port's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TRAINING_SECONDS = Histogram(
    "forecast_training_seconds",
    "Time to backtest and fit one series (or one shop's churn model), in a worker process",
    ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
TRAINING_JOB_SECONDS = Histogram(
    "forecast_training_job_seconds",
    "Wall time this replica worked on a training job (its shops, and waiting for the last ones)",
    ["trigger"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
TRAINED_SERIES = Counter(
    "forecast_trained_series_total", "Series trained, by kind and chosen model", ["kind", "model"]
)
SKIPPED_SERIES = Counter(
    "forecast_skipped_series_total", "Series left untrained (too little history)", ["kind"]
)
PREDICTION_SECONDS = Histogram(
    "forecast_prediction_seconds",
    "Time to answer a prediction, by rpc and whether the cache answered",
    ["rpc", "cache"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
