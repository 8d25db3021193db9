"""Pure logic of the stream job: buckets, KPI contributions, batches (no I/O)."""
