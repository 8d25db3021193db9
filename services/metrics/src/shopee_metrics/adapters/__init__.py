"""Adapters of the stream job: PostgreSQL, Kafka outputs."""
