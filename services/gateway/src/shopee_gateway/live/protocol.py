"""The messages of `WS /ws/kpis` (subprotocol `shopee.kpis.v1`): what clients send, validated
here, and the server's control messages. docs/gateway-live.md shows each with an example."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from shopee_common.kpis import KPI_BY_NAME
from shopee_gateway.live.snapshots import Interval

SUBPROTOCOL = "shopee.kpis.v1"
BEARER_PREFIX = "bearer."

# Close codes: 1008 policy (origin, bad header token), 4401 not authenticated, 4403 no
# permission, 4408 no message within the idle timeout, 4429 too slow to keep up.
CLOSE_POLICY = 1008
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_IDLE = 4408
CLOSE_TOO_SLOW = 4429


class ClientMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Auth(ClientMessage):
    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=8192)


class Subscribe(ClientMessage):
    type: Literal["subscribe"]
    id: str = Field(min_length=1, max_length=64, description="Names the subscription in replies.")
    shops: list[str] = Field(min_length=1)
    kpis: list[str] = Field(default_factory=list, description="Empty: every KPI.")
    interval: Interval = "minute"
    since: datetime | None = Field(
        None, description="Resume: stored buckets from this time are sent before live ones."
    )

    @field_validator("kpis")
    @classmethod
    def _known_kpis(cls, kpis: list[str]) -> list[str]:
        unknown = sorted(set(kpis) - set(KPI_BY_NAME))
        if unknown:
            raise ValueError(f"unknown KPI(s): {', '.join(unknown)}")
        return kpis

    @field_validator("since")
    @classmethod
    def _aware(cls, since: datetime | None) -> datetime | None:
        if since is not None and since.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2025-01-01T00:00:00Z")
        return since

    @property
    def kpi_selection(self) -> frozenset[str] | None:
        """The KPIs to send, or None for all."""
        return frozenset(self.kpis) or None


class Unsubscribe(ClientMessage):
    type: Literal["unsubscribe"]
    id: str = Field(min_length=1, max_length=64)


class Ping(ClientMessage):
    type: Literal["ping"]


class Pong(ClientMessage):
    type: Literal["pong"]


Message = Annotated[Auth | Subscribe | Unsubscribe | Ping | Pong, Field(discriminator="type")]
MESSAGE = TypeAdapter[Message](Message)


def encode(kind: str, **members: Any) -> str:
    """A server message: `{"type": kind, ...members}` as JSON text."""
    return orjson.dumps({"type": kind, **members}).decode()


def error(code: str, detail: str, **members: Any) -> str:
    """An `error` message; `code` is a stable word clients can branch on."""
    return encode("error", code=code, detail=detail, **members)


def now_iso() -> str:
    """The current time in RFC 3339 (UTC)."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def token_from_subprotocols(offered: list[str]) -> str | None:
    """The access token from a `bearer.<token>` subprotocol, if one was offered."""
    for protocol in offered:
        if protocol.startswith(BEARER_PREFIX):
            return protocol.removeprefix(BEARER_PREFIX) or None
    return None
