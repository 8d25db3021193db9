"""PostgreSQL, the model registry and the public data sets on disk."""
