"""Stream job settings (env SHOPEE_METRICS_*, plus the shared SHOPEE_* connection settings)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shopee_common.settings import PlatformSettings
from shopee_metrics.domain.anomalies.completeness import SILENT_MIN_EXPECTED_VISITORS


class MetricsSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPEE_", extra="ignore", frozen=True)

    metrics_app_id: str = Field("shopee-metrics", description="Faust app id = consumer group")
    metrics_web_host: str = "127.0.0.1"
    metrics_web_port: int = Field(6066, description="health, readiness and Prometheus /metrics")
    metrics_data_dir: str = Field(".run/metrics", description="Faust's local state folder")
    metrics_late_grace_seconds: float = Field(
        600.0, description="events this far behind the shop's newest event still count"
    )
    metrics_batch_max: int = Field(5_000, description="most events applied in one transaction")
    metrics_batch_within_seconds: float = Field(
        0.1,
        description="longest wait for the first record of a batch (a batch takes what the "
        "consumer has fetched, up to metrics_batch_max)",
    )
    metrics_snapshot_interval_seconds: float = Field(
        1.0, description="at most one kpi.updates snapshot per shop per interval"
    )
    metrics_store_raw_events: bool = Field(
        True, description="keep every accepted event in raw_events"
    )
    metrics_session_timeout_seconds: float = Field(
        10.0,
        description="a worker that stops heartbeating (kill -9) loses its partitions after this",
    )
    metrics_shop_refresh_seconds: float = Field(
        30.0, description="how often the shop list is re-read"
    )
    metrics_member_prune_interval_seconds: float = Field(
        30.0, description="how often distinct-member rows past the late grace are deleted"
    )
    metrics_member_prune_chunk: int = Field(
        2_000, description="most member rows deleted in one statement"
    )
    metrics_member_prune_duty: float = Field(
        0.25,
        gt=0,
        le=1,
        description="share of the time the pruner may spend deleting while it catches up (it "
        "rests between chunks)",
    )

    # Anomaly detection (docs/metrics.md, "Anomaly detection").
    metrics_anomaly_enabled: bool = Field(True, description="judge closed hours for anomalies")
    metrics_anomaly_interval_seconds: float = Field(
        10.0, description="how often the detection timer looks for newly closed hours"
    )
    metrics_anomaly_cpu_share: float = Field(
        0.25,
        gt=0,
        le=1,
        description="the most of the job's event loop that detection may take while it catches "
        "up (judging a backlog, warming up after a start); counting events keeps the rest",
    )
    metrics_anomaly_checkpoint_hours: int = Field(
        24,
        ge=0,
        description="a shop's detector is checkpointed to the database about once per this many "
        "hours judged, and a start resumes from it instead of replaying 12 weeks (0: never)",
    )
    metrics_anomaly_max_hours_per_run: int = Field(
        168, description="most hours judged per shop per run (a replay catches up over runs)"
    )
    metrics_anomaly_quiet_seconds: float = Field(
        120.0,
        description="a source with nothing counted for this long has no backlog: it no longer "
        "holds its shop's hours open (also how long after a start every source does)",
    )
    metrics_anomaly_stall_seconds: float = Field(
        1800.0, description="a live shop this far behind the wall clock is data-incomplete"
    )
    metrics_anomaly_stall_min_visitors: float = Field(
        SILENT_MIN_EXPECTED_VISITORS,
        ge=0,
        description="a live shop's silence that long is data-incomplete only where its baseline "
        "expected at least this many visitors in it (a small shop's quiet night is not a stall; "
        "0: any silence that long is)",
    )
    metrics_anomaly_live_window_seconds: float = Field(
        3600.0, description="a shop whose events were counted within this of happening is live"
    )
    metrics_anomaly_min_evidence: float = Field(
        4.5, description="-log10 tail probability a KPI-tree component needs to raise"
    )
    metrics_anomaly_product_min_evidence: float = Field(
        6.0, description="-log10 probability a product's run without add-to-cart needs to raise"
    )
    metrics_anomaly_min_history_hours: int = Field(
        168, description="hours of a shop's history before its hours are judged"
    )
    metrics_anomaly_order_lag_minutes: int = Field(
        5, ge=1, le=60, description="an order is created within this many minutes of its checkout"
    )
