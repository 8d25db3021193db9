"""Gateway settings (env SHOPEE_GATEWAY_*, plus the shared SHOPEE_* connection settings)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shopee_common.settings import PlatformSettings


class GatewaySettings(PlatformSettings):
    """Everything the gateway reads from the environment; built in `main()` or a test."""

    model_config = SettingsConfigDict(env_prefix="SHOPEE_", extra="ignore", frozen=True)

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 18080
    gateway_public_url: str = Field(
        "http://127.0.0.1:18080", description="Where clients reach the gateway (OpenAPI servers)."
    )

    # JWT: one signing key (Ed25519, PEM) named by a kid; older public keys stay valid by kid.
    gateway_jwt_signing_key: SecretStr = Field(
        SecretStr(""),
        description="PEM Ed25519 private key that signs new tokens. Empty in development only: "
        "a throwaway key is made at start-up (tokens then die with the process).",
    )
    gateway_jwt_signing_kid: str = Field("k1", description="The kid of the signing key.")
    gateway_jwt_verification_keys: str = Field(
        "",
        description='JSON object {"<kid>": "<PEM Ed25519 public key>"} of retired keys whose '
        "tokens are still accepted during a rotation.",
    )
    gateway_jwt_issuer: str = "shopee-gateway"
    gateway_jwt_audience: str = "shopee-api"
    gateway_access_token_seconds: int = Field(900, ge=30)
    gateway_refresh_token_seconds: int = Field(30 * 24 * 3600, ge=60)
    gateway_invitation_seconds: int = Field(7 * 24 * 3600, ge=60)

    gateway_redis_prefix: str = Field("gw:", description="Prefix of every Redis key we write.")
    gateway_kpi_cache_seconds: int = Field(300, ge=1, description="TTL of a cached KPI answer.")
    gateway_rate_limit: str = Field(
        "600/minute", description="Per user or API key (`limits` notation, e.g. 10/second)."
    )
    gateway_login_rate_limit: str = Field(
        "10/minute", description="Password grants per e-mail address and per client address."
    )
    gateway_max_body_bytes: int = Field(1024 * 1024, ge=1024)
    gateway_database_pool_size: int = Field(10, ge=1)
    gateway_allowed_origins: str = Field(
        "http://127.0.0.1:18080,http://localhost:18080",
        description="Comma-separated browser origins allowed for CORS and the WebSocket.",
    )

    # Upstream gRPC services (used by the ML routes).
    gateway_forecast_target: str = "127.0.0.1:18091"
    gateway_insights_target: str = "127.0.0.1:18093"
    gateway_grpc_deadline_seconds: float = Field(5.0, gt=0)

    @property
    def allowed_origins(self) -> list[str]:
        """The allowed origins as a list."""
        return [o.strip() for o in self.gateway_allowed_origins.split(",") if o.strip()]

    @model_validator(mode="after")
    def _signing_key_outside_development(self) -> GatewaySettings:
        self.require_real_secret("SHOPEE_GATEWAY_JWT_SIGNING_KEY", self.gateway_jwt_signing_key)
        return self
