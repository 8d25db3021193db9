"""Settings of the live KPI stream (env SHOPEE_GATEWAY_WS_*); allowed origins, Kafka and the
topic prefix come from GatewaySettings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LiveSettings(BaseSettings):
    """Heartbeats, backpressure bounds and limits of `WS /ws/kpis`."""

    model_config = SettingsConfigDict(env_prefix="SHOPEE_GATEWAY_WS_", extra="ignore", frozen=True)

    ping_seconds: float = Field(20.0, gt=0, description="A ping message every this many seconds.")
    idle_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="A peer that sends nothing (not even a pong) for this long is dropped.",
    )
    auth_timeout_seconds: float = Field(
        10.0, gt=0, description="Time to send the auth message when no token came in the header."
    )
    send_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="A client whose socket takes longer than this to take one frame is too slow "
        "and is disconnected.",
    )
    max_coalesced: int = Field(
        600,
        ge=1,
        description="A client that had this many snapshots replaced by newer ones without "
        "taking a frame in between is disconnected.",
    )
    max_subscriptions: int = Field(20, ge=1, description="Subscriptions per connection.")
    max_shops: int = Field(200, ge=1, description="Shops in one subscription.")
    max_message_bytes: int = Field(64 * 1024, ge=1024, description="Largest client message.")
    backfill_max_seconds: float = Field(
        24 * 3600.0, gt=0, description="`since` further back than this is moved up to it."
    )
    backfill_max_rows: int = Field(200_000, ge=1, description="Rows one resume may read.")
    backfill_buckets_per_message: int = Field(360, ge=1)
