"""Ingest service: events and Seller Centre export files into Kafka, answered after the broker acks."""
