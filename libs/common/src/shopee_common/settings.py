"""Settings shared by every service, read from the environment and validated at start-up.

Each service subclasses `PlatformSettings` with its own fields and `env_prefix`; build it in
`main()` or a factory, never at import.
"""

from __future__ import annotations

from pathlib import Path
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
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT",
        description="How the Kafka clients connect: SSL is TLS, SASL_SSL is TLS with a user "
        "and password (what managed clusters such as MSK or Confluent Cloud ask for).",
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism with SASL_PLAINTEXT or SASL_SSL."
    )
    kafka_sasl_username: str = Field("", description="SASL user (SASL_* protocols).")
    kafka_sasl_password: SecretStr = Field(
        SecretStr(""), description="SASL password (SASL_* protocols)."
    )
    kafka_ssl_cafile: str = Field(
        "",
        description="PEM file of the CAs that sign the brokers' certificates (SSL, SASL_SSL); "
        "empty: the system's CAs.",
    )
    kafka_ssl_certfile: str = Field(
        "", description="PEM client certificate, for brokers that require mutual TLS."
    )
    kafka_ssl_keyfile: str = Field("", description="PEM private key of kafka_ssl_certfile.")
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
    def _kafka_security_is_complete(self) -> PlatformSettings:
        """Refuse at start-up what would only fail at the first connection, or worse, connect
        without the protection asked for."""
        protocol = self.kafka_security_protocol
        if protocol.startswith("SASL_"):
            if not (self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()):
                raise ValueError(
                    f"SHOPEE_KAFKA_SECURITY_PROTOCOL={protocol} needs SHOPEE_KAFKA_SASL_USERNAME "
                    "and SHOPEE_KAFKA_SASL_PASSWORD"
                )
            self.require_real_secret("SHOPEE_KAFKA_SASL_PASSWORD", self.kafka_sasl_password)
        files = {
            "SHOPEE_KAFKA_SSL_CAFILE": self.kafka_ssl_cafile,
            "SHOPEE_KAFKA_SSL_CERTFILE": self.kafka_ssl_certfile,
            "SHOPEE_KAFKA_SSL_KEYFILE": self.kafka_ssl_keyfile,
        }
        named = [name for name, path in files.items() if path]
        if named and not protocol.endswith("SSL"):
            raise ValueError(
                f"{', '.join(named)} set, but SHOPEE_KAFKA_SECURITY_PROTOCOL={protocol} does not "
                "use TLS (SSL or SASL_SSL)"
            )
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            raise ValueError(
                "SHOPEE_KAFKA_SSL_CERTFILE and SHOPEE_KAFKA_SSL_KEYFILE go together (mutual TLS)"
            )
        for name, path in files.items():
            if path and not Path(path).is_file():
                raise ValueError(f"{name}: no file at {path}")
        return self

    @model_validator(mode="after")
    def _database_password_is_real(self) -> PlatformSettings:
        if (
            self.environment == "production"
            and "shopee-local-dev" in self.database_url.get_secret_value()
        ):
            raise ValueError("SHOPEE_DATABASE_URL still carries the local development password")
        return self
