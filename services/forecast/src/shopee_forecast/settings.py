"""Forecast service settings (env SHOPEE_FORECAST_*, plus the shared SHOPEE_* connection settings)."""

from __future__ import annotations

from joblib.externals.loky import cpu_count
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shopee_common.settings import PlatformSettings


class ForecastSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPEE_", extra="ignore", frozen=True)

    forecast_grpc_port: int = Field(18091, description="gRPC port of shopee.forecast.v1")
    forecast_http_port: int = Field(18092, description="/healthz, /readyz and /metrics")
    forecast_artefact_root: str = Field(
        ".run/models", description="model artefacts: a folder or an fsspec URI (s3://...)"
    )
    forecast_retrain_cron: str = Field(
        "15 2 * * *", description="crontab (UTC) of the scheduled retrain of every shop; '' = off"
    )
    forecast_cache_ttl_seconds: int = Field(
        3600, description="how long a cached forecast is served (it is also keyed by model version)"
    )
    forecast_train_workers: int = Field(
        -1, description="processes that fit series in parallel (-1: one per core)"
    )
    forecast_backtest_horizon_days: int = Field(30, description="forecast days per backtest fold")
    forecast_backtest_folds: int = Field(3, description="rolling origins of the backtest")
    forecast_db_pool_size: int = Field(8, description="most PostgreSQL connections")
    forecast_fit_seconds_limit: float = Field(
        600.0,
        ge=0,
        description="longest a series' backtest and fit, or a churn model's fit, may take before "
        "it is given up as skipped "
        "(0: no limit); a fit that never ends would hold its training job, and so every later "
        "scheduled retrain, for ever",
    )

    @property
    def train_processes(self) -> int:
        """The fitting processes: as set, or one per core this process may use."""
        return self.forecast_train_workers if self.forecast_train_workers > 0 else cpu_count()
