"""FastAPI dependencies: who is calling (`current_principal`) and may they (`require`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from shopee_gateway.errors import ProblemError
from shopee_gateway.security.principal import Principal
from shopee_gateway.security.tokens import AuthenticationError

API_KEY_HEADER = "X-API-Key"
# Declared so /docs offers both ways in; the checks themselves are in current_principal.
bearer_scheme = HTTPBearer(auto_error=False, description="Access token from /api/auth/token")
api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="Machine key `sk_<prefix>_<secret>`"
)


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, detail, headers={"WWW-Authenticate": 'Bearer realm="shopee"'})


async def current_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <access JWT>` or `X-API-Key`; 401 otherwise.

    Counts the request against the caller's rate limit (429 past it). Resolved once per request.
    """
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    authenticator = request.app.state.authenticator
    authorization = request.headers.get("authorization", "")
    api_key = request.headers.get(API_KEY_HEADER)
    try:
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationError("Authorization must be `Bearer <access token>`")
            principal: Principal = await authenticator.principal_from_access_token(token.strip())
        elif api_key:
            principal = await authenticator.principal_from_api_key(api_key.strip())
        else:
            raise AuthenticationError("send an access token (Bearer) or an X-API-Key")
    except AuthenticationError as exc:
        raise _unauthorized(str(exc)) from exc
    await request.app.state.rate_limits.check_principal(principal)
    request.state.principal = principal
    return principal


async def authenticated(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
    _api_key: Annotated[str | None, Security(api_key_scheme)] = None,
) -> Principal:
    """`current_principal`, declared with the security schemes so OpenAPI documents them."""
    return await current_principal(request)


def require(permission: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller if they hold `permission`, else a 403 problem."""

    async def dependency(
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
        _api_key: Annotated[str | None, Security(api_key_scheme)] = None,
    ) -> Principal:
        principal = await current_principal(request)
        if not principal.has(permission):
            raise ProblemError(403, f"missing permission {permission}")
        return principal

    dependency.__name__ = f"require_{permission.replace(':', '_')}"
    return dependency


# The caller, if allowed to read KPIs (the KPI, view and anomaly routes).
KpiReader = Annotated[Principal, Depends(require("kpis:read"))]


def require_shop(principal: Principal, shop_id: str) -> None:
    """404 (not 403, so ids of other tenants are not confirmed) unless the caller sees the shop."""
    if not principal.can_see(shop_id):
        raise ProblemError(404, "shop not found")
