"""Metrics stream job: events -> exact KPIs, dead letters, KPI snapshots and anomalies."""
