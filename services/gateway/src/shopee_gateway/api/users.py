"""Organisation administration: invite users, list them, change roles; API keys."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request

from shopee_common.api_keys import issue_api_key
from shopee_gateway.api import examples as ex
from shopee_gateway.api.models import (
    MEMBERS_AFTER_ROLE_CHANGE,
    REVOKED_API_KEY,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    InvitationOut,
    InviteRequest,
    MemberOut,
    RoleChange,
)
from shopee_gateway.errors import ProblemError, field_error, not_found, problem_responses
from shopee_gateway.openapi import json_example
from shopee_gateway.repositories.members import (
    LastAdmin,
    MemberExists,
    MembersRepository,
    record_dict,
)
from shopee_gateway.security.authenticator import Authenticator
from shopee_gateway.security.dependencies import require
from shopee_gateway.security.principal import Principal

router = APIRouter(prefix="/api", responses=problem_responses(401, 403, 429))
ManageUsers = Annotated[Principal, Depends(require("users:manage"))]
ManageKeys = Annotated[Principal, Depends(require("shops:manage"))]
UserId = Annotated[
    UUID, Path(description="A member's `user_id` (GET /api/users).", examples=[ex.ANALYST_ID])
]
KeyId = Annotated[
    UUID, Path(description="A key's `id` (GET /api/api-keys).", examples=[ex.API_KEY_ID])
]


def members_repository(request: Request) -> MembersRepository:
    """The organisation administration repository the app holds (users, keys, shops)."""
    members: MembersRepository = request.app.state.members
    return members


@router.get("/users", response_model=list[MemberOut], tags=["users"], summary="List members")
async def list_users(request: Request, principal: ManageUsers) -> list[MemberOut]:
    """The members of the caller's organisation."""
    rows = await members_repository(request).members(principal.organisation_id)
    return [MemberOut(**record_dict(r)) for r in rows]


@router.post(
    "/users",
    response_model=InvitationOut,
    status_code=201,
    tags=["users"],
    summary="Invite someone into the organisation with a role",
    responses=problem_responses(409, 422),
)
async def invite_user(
    request: Request, body: InviteRequest, principal: ManageUsers
) -> InvitationOut:
    """A new address gets an inactive account and an invitation token to set its password."""
    authenticator: Authenticator = request.app.state.authenticator
    # Unusable until the invitation is accepted: nobody knows this password.
    placeholder = await authenticator.passwords.hash(secrets.token_urlsafe(32))
    try:
        user_id, created = await members_repository(request).invite(
            principal.organisation_id, body.email, body.full_name, body.role, placeholder
        )
    except MemberExists as exc:
        raise ProblemError(409, "that address is already a member") from exc
    invitation = authenticator.invitation(user_id, principal.organisation_id) if created else None
    return InvitationOut(
        user_id=user_id,
        invitation_token=invitation.token if invitation else None,
        expires_in=request.app.state.settings.gateway_invitation_seconds,
    )


@router.patch(
    "/users/{user_id}",
    response_model=list[MemberOut],
    tags=["users"],
    summary="Change a member's role",
    responses={
        200: json_example(MEMBERS_AFTER_ROLE_CHANGE),
        **problem_responses(404, 409, 422),
    },
)
async def change_role(
    request: Request, user_id: UserId, body: RoleChange, principal: ManageUsers
) -> list[MemberOut]:
    """Answers the organisation's members after the change."""
    members = members_repository(request)
    try:
        changed = await members.set_role(principal.organisation_id, user_id, body.role)
    except LastAdmin as exc:
        raise ProblemError(409, "an organisation keeps at least one admin") from exc
    if not changed:
        raise not_found("user")
    return [MemberOut(**record_dict(r)) for r in await members.members(principal.organisation_id)]


@router.get("/api-keys", response_model=list[ApiKeyOut], tags=["api keys"], summary="List keys")
async def list_api_keys(request: Request, principal: ManageKeys) -> list[ApiKeyOut]:
    """The organisation's keys (never the keys themselves)."""
    rows = await members_repository(request).api_keys(principal.organisation_id)
    return [ApiKeyOut(**record_dict(r)) for r in rows]


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=201,
    tags=["api keys"],
    summary="Create a machine key with some of your permissions",
    responses=problem_responses(422),
)
async def create_api_key(
    request: Request, body: ApiKeyCreate, principal: ManageKeys
) -> ApiKeyCreated:
    """The key is in the answer once; only its SHA-256 is stored."""
    if body.expires_at is not None and body.expires_at <= datetime.now(UTC):
        raise field_error("body.expires_at", "must be in the future")
    members = members_repository(request)
    unknown = set(body.scopes) - await members.permission_names()
    if unknown:
        raise field_error("body.scopes", f"unknown permissions: {', '.join(sorted(unknown))}")
    beyond = set(body.scopes) - principal.permissions
    if beyond:
        raise ProblemError(403, f"a key cannot hold what you do not: {', '.join(sorted(beyond))}")
    issued = issue_api_key()
    row = await members.create_api_key(
        principal.organisation_id,
        body.name,
        issued.prefix,
        issued.key_hash,
        sorted(set(body.scopes)),
        principal.user_id,
        body.expires_at,
    )
    return ApiKeyCreated(**record_dict(row), key=issued.plain)


@router.delete(
    "/api-keys/{key_id}",
    response_model=ApiKeyOut,
    tags=["api keys"],
    summary="Revoke a key",
    responses={
        200: json_example(REVOKED_API_KEY),
        **problem_responses(404, 422),
    },
)
async def revoke_api_key(request: Request, key_id: KeyId, principal: ManageKeys) -> ApiKeyOut:
    """Takes effect on the key's next request."""
    row = await members_repository(request).revoke_api_key(principal.organisation_id, key_id)
    if row is None:
        raise not_found("API key")
    return ApiKeyOut(**record_dict(row))
