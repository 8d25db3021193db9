"""Ingest settings (env SHOPEE_INGEST_*, plus the shared SHOPEE_* connection settings)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shopee_common.settings import PlatformSettings


class IngestSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPEE_", extra="ignore", frozen=True)

    ingest_host: str = "127.0.0.1"
    ingest_port: int = 18081
    ingest_api_keys: SecretStr = Field(
        SecretStr(""),
        description=(
            "Comma-separated static producer keys (plain or `sha256:<hex>`), allowed for every shop. "
            "Keys in the database's api_keys table are checked as well and limited to their "
            "organisation's shops."
        ),
    )
    ingest_max_body_bytes: int = Field(
        8 * 1024 * 1024, description="Largest accepted request body."
    )
    ingest_max_records: int = Field(10_000, description="Most events in one POST /v1/events.")
    ingest_max_import_bytes: int = Field(
        64 * 1024 * 1024, description="Largest export file upload."
    )
    ingest_publish_timeout_seconds: float = 30.0
    ingest_key_cache_seconds: float = 30.0
