"""Request and response bodies shared by the auth, user and key routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

RoleName = Literal["admin", "analyst", "viewer"]


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0...",
                    "refresh_token": "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0...",
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
    refresh_token: str = Field(min_length=1, max_length=4096)


class AcceptInvitation(BaseModel):
    token: str = Field(min_length=1, max_length=4096, description="The invitation token.")
    password: str = Field(min_length=12, max_length=1024)


class ShopOut(BaseModel):
    id: str
    name: str
    market: str
    currency: str
    time_zone: str


class MeResponse(BaseModel):
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
    user_id: UUID
    invitation_token: str | None = Field(
        description="Send it to the invitee: POST /api/auth/accept-invitation sets their password. "
        "None when the address already had an account (they sign in with it)."
    )
    expires_in: int


class MemberOut(BaseModel):
    user_id: UUID
    email: str
    full_name: str
    role: RoleName
    is_active: bool
    last_login_at: datetime | None


class RoleChange(BaseModel):
    role: RoleName


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "warehouse sync", "scopes": ["kpis:read"], "expires_at": None}]
        }
    )
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, max_length=20, description="Permission names.")
    expires_at: datetime | None = None


class ApiKeyOut(BaseModel):
    id: UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself; shown once, never stored.")
