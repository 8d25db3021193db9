"""Ingest adapters: Kafka, PostgreSQL (API keys) and Redis (import progress)."""
