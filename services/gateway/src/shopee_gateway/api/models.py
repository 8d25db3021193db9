"""Request and response bodies shared by the auth, user and key routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict

from shopee_gateway.api import examples as ex
from shopee_gateway.kpi_query import check_zone

RoleName = Literal["admin", "analyst", "viewer"]


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": ex.TOKEN,
                    "refresh_token": ex.TOKEN,
                    "token_type": "bearer",
                    "expires_in": 900,
                }
            ]
        }
    )
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"refresh_token": ex.TOKEN}]})
    refresh_token: str = Field(
        min_length=1,
        max_length=4096,
        description="The refresh token of the last POST /api/auth/token or /api/auth/refresh.",
    )


class AcceptInvitation(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"token": ex.TOKEN, "password": "coral-lantern-harbour-42"}]
        }
    )
    token: str = Field(
        min_length=1,
        max_length=4096,
        description="The invitation token (`invitation_token` of POST /api/users).",
    )
    password: str = Field(min_length=12, max_length=1024, description="At least 12 characters.")


def _shop(shop_id: str, name: str, market: str, currency: str, time_zone: str) -> JsonDict:
    return {
        "id": shop_id,
        "name": name,
        "market": market,
        "currency": currency,
        "time_zone": time_zone,
    }


class ShopOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_shop(*ex.SHOPS[1])]})
    id: str
    name: str
    market: str = Field(description="Country code of the marketplace.")
    currency: str = Field(description="ISO 4217 code; amounts are in its minor units (x 100).")
    time_zone: str = Field(description="IANA zone of the shop's local days.")


class ShopCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "rumahkopi-id",
                    "name": "Rumah Kopi Official",
                    "market": "ID",
                    "currency": "IDR",
                    "time_zone": "Asia/Jakarta",
                }
            ]
        }
    )
    id: str = Field(
        pattern=r"^[A-Za-z0-9._:-]{1,128}$",
        description="The `shop_id` the shop's events carry; letters, digits and . _ : -",
    )
    name: str = Field(min_length=1, max_length=200)
    market: str = Field(
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 country code of the marketplace (its calendar: ID, MY, PH, TH, "
        "SG, VN, BN; another market's shop is forecast with its zone's calendar).",
    )
    currency: str = Field(
        pattern=r"^[A-Z]{3}$", description="ISO 4217 code; amounts are in its minor units (x 100)."
    )
    time_zone: str = Field(
        description="IANA zone of the shop's local days; fixed once events are counted in it."
    )

    _known_zone = field_validator("time_zone")(check_zone)


class ShopRename(BaseModel):
    # Refused rather than ignored: a zone or currency sent here would otherwise seem to change.
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Rumah Kopi Store"}]}
    )
    name: str = Field(min_length=1, max_length=200)


class MeResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": ex.ADMIN_ID,
                    "email": ex.ADMIN_EMAIL,
                    "organisation_id": ex.ORGANISATION_ID,
                    "organisation": ex.ORGANISATION_NAME,
                    "role": "admin",
                    "permissions": [
                        "alerts:manage",
                        "exports:create",
                        "forecasts:read",
                        "insights:read",
                        "kpis:read",
                        "reports:manage",
                        "shops:manage",
                        "users:manage",
                    ],
                    "shops": [_shop(*shop) for shop in ex.SHOPS],
                }
            ]
        }
    )
    subject: str
    email: str | None = Field(None, description="None for an API key.")
    organisation_id: UUID
    organisation: str
    role: str
    permissions: list[str]
    shops: list[ShopOut]


class InviteRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ana@example.com", "full_name": "Ana", "role": "analyst"}]
        }
    )
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)
    full_name: str = Field("", max_length=200)
    role: RoleName


class InvitationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"user_id": ex.ANALYST_ID, "invitation_token": ex.TOKEN, "expires_in": 604800}
            ]
        }
    )
    user_id: UUID
    invitation_token: str | None = Field(
        description="Send it to the invitee: POST /api/auth/accept-invitation sets their password. "
        "None when the address already had an account (they sign in with it)."
    )
    expires_in: int = Field(description="Seconds until the invitation token expires.")


_ADMIN: JsonDict = {
    "user_id": ex.ADMIN_ID,
    "email": ex.ADMIN_EMAIL,
    "full_name": "Demo Admin",
    "role": "admin",
    "is_active": True,
    "last_login_at": "2026-11-30T02:14:05Z",
}
_ANALYST: JsonDict = {
    "user_id": ex.ANALYST_ID,
    "email": ex.ANALYST_EMAIL,
    "full_name": "Ana",
    "role": "analyst",
    "is_active": False,
    "last_login_at": None,
}


class MemberOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ADMIN, _ANALYST]})
    user_id: UUID
    email: str
    full_name: str
    role: RoleName
    is_active: bool
    last_login_at: datetime | None


# PATCH /api/users/{user_id} answers every member after the change.
MEMBERS_AFTER_ROLE_CHANGE: list[JsonDict] = [_ADMIN, {**_ANALYST, "role": "viewer"}]


class RoleChange(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "viewer"}]})
    role: RoleName


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "warehouse sync", "scopes": ["kpis:read"], "expires_at": None},
                {
                    "name": "quarterly export",
                    "scopes": ["kpis:read", "exports:create"],
                    "expires_at": "2027-03-31T00:00:00Z",
                },
            ]
        }
    )
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, max_length=20, description="Permission names.")
    expires_at: datetime | None = None


_API_KEY: JsonDict = {
    "id": ex.API_KEY_ID,
    "name": "warehouse sync",
    "prefix": ex.API_KEY_PREFIX,
    "scopes": ["kpis:read"],
    "created_at": "2026-11-02T03:00:00Z",
    "last_used_at": "2026-11-30T01:00:12Z",
    "expires_at": None,
    "revoked_at": None,
}
# DELETE /api/api-keys/{key_id} answers the key, revoked.
REVOKED_API_KEY: JsonDict = {**_API_KEY, "revoked_at": "2026-12-01T09:30:00Z"}


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_API_KEY]})
    id: UUID
    name: str
    prefix: str = Field(description="The key's public part: `sk_<prefix>_...`.")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_API_KEY,
                    "last_used_at": None,
                    "created_at": "2026-12-01T09:00:00Z",
                    "key": f"sk_{ex.API_KEY_PREFIX}_pV3x9QeR7mKt2LwZ8bNc4HsJ6yFd0GaU1oTi5EqXrMw",
                }
            ]
        }
    )
    key: str = Field(description="The key itself; shown once, never stored.")
