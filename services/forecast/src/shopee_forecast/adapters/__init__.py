"""PostgreSQL, Redis and model-registry adapters of the forecast service."""
