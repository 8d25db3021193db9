"""Insights service settings (env SHOPEE_INSIGHTS_*, plus the shared SHOPEE_* connection settings)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shopee_common.settings import PlatformSettings


class InsightsSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPEE_", extra="ignore", frozen=True)

    insights_grpc_port: int = Field(18093, description="gRPC port (shopee.insights.v1)")
    insights_http_port: int = Field(18094, description="/healthz, /readyz and /metrics")
    insights_artefact_root: str = Field(
        ".run/models", description="model registry artefacts: a folder or an fsspec URI"
    )
    insights_refresh_minutes: float = Field(
        360.0, description="how often every shop's models are retrained (0 = never)"
    )
    insights_refresh_on_start: bool = Field(
        False, description="retrain every shop's models once at start-up"
    )
    insights_max_model_age_hours: float = Field(
        24.0, description="a request older models than this are retrained on (0 = never)"
    )
    insights_data_dir: str = Field(
        "", description="public corpora for sentiment training (e.g. /work/shared/data); optional"
    )
    insights_holdout_days: int = Field(28, description="recommender evaluation holdout")
    insights_catalog_cache_seconds: float = Field(
        15.0,
        ge=0,
        description=(
            "how old the stock, status and prices Recommend and OptimizePrice read, and the newest "
            "event time a model is compared with, may be"
        ),
    )
    insights_consumable_repeat_rate: float = Field(
        0.15, description="a category is consumable when this share of its buyers rebuy a product"
    )
