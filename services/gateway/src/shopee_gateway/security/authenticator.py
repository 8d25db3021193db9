"""Turns credentials (password, JWT, API key) into a Principal, and manages refresh tokens."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID

from redis.asyncio import Redis

from shopee_common.api_keys import hash_api_key, key_prefix
from shopee_gateway.repositories.accounts import AccountsRepository
from shopee_gateway.security.passwords import Passwords
from shopee_gateway.security.principal import Principal
from shopee_gateway.security.tokens import (
    AuthenticationError,
    IssuedToken,
    TokenService,
    TokenUse,
)


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken


class Authenticator:
    """The one place that decides who a caller is.

    Refresh tokens rotate: each is accepted once (its jti goes on a Redis denylist when used or
    logged out, with a TTL of its remaining life), so a stolen, already-used one is useless.
    """

    def __init__(
        self,
        accounts: AccountsRepository,
        tokens: TokenService,
        passwords: Passwords,
        redis: Redis,
        key_prefix: str,
    ) -> None:
        self.accounts = accounts
        self.tokens = tokens
        self.passwords = passwords
        self._redis = redis
        self._prefix = key_prefix

    async def principal_from_access_token(self, token: str) -> Principal:
        """The principal of a valid access token whose user is still an active member."""
        claims = self.tokens.verify(token, TokenUse.ACCESS)
        try:
            user_id, organisation_id = UUID(claims["sub"]), UUID(claims["org"])
        except ValueError as exc:
            raise AuthenticationError("token subject is not a user") from exc
        principal = await self.accounts.user_principal(user_id, organisation_id)
        if principal is None:
            raise AuthenticationError("the user is no longer an active member")
        return replace(principal, expires_at=datetime.fromtimestamp(claims["exp"], UTC))

    async def principal_from_api_key(self, key: str) -> Principal:
        """The principal of a live API key."""
        try:
            key_prefix(key)
        except ValueError as exc:
            raise AuthenticationError(str(exc)) from exc
        principal = await self.accounts.api_key_principal(hash_api_key(key))
        if principal is None:
            raise AuthenticationError("unknown, revoked or expired API key")
        return principal

    async def login(self, email: str, password: str, organisation: str | None) -> TokenPair:
        """Password grant: tokens for the user in `organisation` (slug), or their first one."""
        credentials = await self.accounts.credentials(email)
        valid = await self.passwords.verify(
            credentials.password_hash if credentials else None, password
        )
        if credentials is None or not valid or not credentials.is_active:
            raise AuthenticationError("wrong e-mail or password")
        memberships = await self.accounts.memberships(credentials.user_id)
        chosen = [m for m in memberships if organisation in (None, m.slug)]
        if not chosen:
            raise AuthenticationError("not a member of that organisation")
        rehashed = (
            await self.passwords.hash(password)
            if self.passwords.needs_rehash(credentials.password_hash)
            else None
        )
        await self.accounts.record_login(credentials.user_id, rehashed)
        return self._pair(str(credentials.user_id), str(chosen[0].organisation_id))

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Exchange a refresh token (once) for a new pair, if the membership still stands."""
        claims = self.tokens.verify(refresh_token, TokenUse.REFRESH)
        if not await self._revoke(claims["jti"], int(claims["exp"])):
            raise AuthenticationError("refresh token already used or revoked")
        principal = await self.accounts.user_principal(UUID(claims["sub"]), UUID(claims["org"]))
        if principal is None:
            raise AuthenticationError("the user is no longer an active member")
        return self._pair(principal.subject, str(principal.organisation_id))

    async def logout(self, refresh_token: str) -> None:
        """Revoke a refresh token (idempotent)."""
        claims = self.tokens.verify(refresh_token, TokenUse.REFRESH)
        await self._revoke(claims["jti"], int(claims["exp"]))

    def invitation(self, user_id: UUID, organisation_id: UUID) -> IssuedToken:
        """A single-use token with which an invited user sets their password."""
        return self.tokens.issue(TokenUse.INVITATION, str(user_id), str(organisation_id))

    async def accept_invitation(self, token: str, password: str) -> TokenPair:
        """Set the invited user's password (once per invitation) and sign them in."""
        claims = self.tokens.verify(token, TokenUse.INVITATION)
        if not await self._revoke(claims["jti"], int(claims["exp"])):
            raise AuthenticationError("invitation already used")
        user_id, organisation_id = UUID(claims["sub"]), UUID(claims["org"])
        await self.accounts.set_password(user_id, await self.passwords.hash(password))
        if await self.accounts.user_principal(user_id, organisation_id) is None:
            raise AuthenticationError("the invitation was withdrawn")
        return self._pair(str(user_id), str(organisation_id))

    def _pair(self, subject: str, organisation_id: str) -> TokenPair:
        return TokenPair(
            access=self.tokens.issue(TokenUse.ACCESS, subject, organisation_id),
            refresh=self.tokens.issue(TokenUse.REFRESH, subject, organisation_id),
        )

    async def _revoke(self, jti: str, expires_at: int) -> bool:
        """Put `jti` on the denylist until it expires; False if it was already there."""
        ttl = max(1, expires_at - int(time.time()) + 60)
        created = await self._redis.set(f"{self._prefix}revoked:{jti}", b"1", nx=True, ex=ttl)
        return bool(created)
