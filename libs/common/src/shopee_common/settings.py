"""Settings shared by every service, read from the environment and validated at start-up.

Each service subclasses `PlatformSettings` with its own fields and `env_prefix`; build it in
`main()` or a factory, never at import.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "password", "dev-api-key"})


class PlatformSettings(BaseSettings):
    """Connection settings every service shares. Variables are named `SHOPEE_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="SHOPEE_", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:19092", description="Comma-separated host:port list of Kafka brokers."
    )
    database_url: SecretStr = Field(
        SecretStr("postgresql://shopee:shopee-local-dev@127.0.0.1:15432/shopee"),
        description="PostgreSQL DSN (libpq form).",
    )
    redis_url: str = "redis://127.0.0.1:16379/0"
    topic_prefix: str = Field(
        "", description="Prepended to every topic name; tests use it for private topics."
    )

    def require_real_secret(self, name: str, value: SecretStr) -> None:
        """Refuse an empty or well-known placeholder secret outside development."""
        if self.environment != "development" and value.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError(
                f"{name} must be set to a real secret when environment={self.environment}"
            )

    @model_validator(mode="after")
    def _database_password_is_real(self) -> PlatformSettings:
        if (
            self.environment == "production"
            and "shopee-local-dev" in self.database_url.get_secret_value()
        ):
            raise ValueError("SHOPEE_DATABASE_URL still carries the local development password")
        return self
