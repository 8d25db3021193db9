"""Pure domain logic of ingest: request bodies and export files to events."""
