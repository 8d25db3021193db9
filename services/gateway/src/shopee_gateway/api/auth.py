"""Sign in (password grant), refresh, sign out, accept an invitation, and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response

from shopee_gateway.api import examples as ex
from shopee_gateway.api.models import (
    AcceptInvitation,
    MeResponse,
    RefreshRequest,
    ShopOut,
    TokenResponse,
)
from shopee_gateway.api.users import members_repository
from shopee_gateway.errors import ProblemError, problem_responses
from shopee_gateway.repositories.members import record_dict
from shopee_gateway.security.authenticator import Authenticator, TokenPair
from shopee_gateway.security.dependencies import authenticated
from shopee_gateway.security.principal import Principal
from shopee_gateway.security.tokens import AuthenticationError

router = APIRouter(prefix="/api", tags=["auth"])


def _tokens(pair: TokenPair, lifetime: int) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access.token, refresh_token=pair.refresh.token, expires_in=lifetime
    )


def _unauthorized(exc: AuthenticationError) -> ProblemError:
    return ProblemError(401, str(exc), headers={"WWW-Authenticate": 'Bearer realm="shopee"'})


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    summary="Sign in with e-mail and password (OAuth2 password grant)",
    responses=problem_responses(401, 422, 429),
)
async def token(
    request: Request,
    username: Annotated[
        str, Form(max_length=320, description="The e-mail address", examples=[ex.ADMIN_EMAIL])
    ],
    password: Annotated[str, Form(max_length=1024, examples=["coral-lantern-harbour-42"])],
    grant_type: Annotated[str, Form(pattern="^password$", examples=["password"])] = "password",
    organisation: Annotated[
        str | None,
        Form(
            max_length=63,
            description="Organisation slug; default: the first",
            examples=[ex.ORGANISATION_SLUG],
        ),
    ] = None,
) -> TokenResponse:
    """Access (short-lived) and refresh (rotating, single-use) tokens."""
    client = request.client.host if request.client else "unknown"
    await request.app.state.rate_limits.check_login(username, client)
    authenticator: Authenticator = request.app.state.authenticator
    try:
        pair = await authenticator.login(username, password, organisation)
    except AuthenticationError as exc:
        raise _unauthorized(exc) from exc
    return _tokens(pair, request.app.state.settings.gateway_access_token_seconds)


@router.post(
    "/auth/refresh",
    response_model=TokenResponse,
    summary="Exchange a refresh token for a new pair (the old one stops working)",
    responses=problem_responses(401, 422),
)
async def refresh(request: Request, body: RefreshRequest) -> TokenResponse:
    """Rotate the refresh token."""
    authenticator: Authenticator = request.app.state.authenticator
    try:
        pair = await authenticator.refresh(body.refresh_token)
    except AuthenticationError as exc:
        raise _unauthorized(exc) from exc
    return _tokens(pair, request.app.state.settings.gateway_access_token_seconds)


@router.post(
    "/auth/logout",
    status_code=204,
    summary="Revoke a refresh token",
    responses={
        204: {"description": "Signed out: the refresh token no longer works."},
        **problem_responses(401, 422),
    },
)
async def logout(request: Request, body: RefreshRequest) -> Response:
    """Sign out: the refresh token is revoked; access tokens lapse within their short life."""
    authenticator: Authenticator = request.app.state.authenticator
    try:
        await authenticator.logout(body.refresh_token)
    except AuthenticationError as exc:
        raise _unauthorized(exc) from exc
    return Response(status_code=204)


@router.post(
    "/auth/accept-invitation",
    response_model=TokenResponse,
    summary="Set the password of an invited account and sign in",
    responses=problem_responses(401, 422),
)
async def accept_invitation(request: Request, body: AcceptInvitation) -> TokenResponse:
    """Single use: a second try with the same invitation is refused."""
    authenticator: Authenticator = request.app.state.authenticator
    try:
        pair = await authenticator.accept_invitation(body.token, body.password)
    except AuthenticationError as exc:
        raise _unauthorized(exc) from exc
    return _tokens(pair, request.app.state.settings.gateway_access_token_seconds)


@router.get(
    "/me",
    response_model=MeResponse,
    summary="The caller: organisation, role, permissions and shops",
    responses=problem_responses(401, 429),
)
async def me(
    request: Request, principal: Annotated[Principal, Depends(authenticated)]
) -> MeResponse:
    """What the caller may do and see."""
    members = members_repository(request)
    user_id = principal.user_id
    return MeResponse(
        subject=principal.subject,
        email=await members.email(user_id) if user_id else None,
        organisation_id=principal.organisation_id,
        organisation=await members.organisation_name(principal.organisation_id),
        role=principal.role,
        permissions=sorted(principal.permissions),
        shops=[
            ShopOut(**record_dict(r))
            for r in await members.shops(principal.organisation_id)
            if principal.can_see(r["id"])
        ],
    )
