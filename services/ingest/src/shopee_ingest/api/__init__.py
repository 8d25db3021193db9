"""Ingest's HTTP surface: one router per resource."""
