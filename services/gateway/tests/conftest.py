"""What the gateway's route tests share: callers signed in by access token, no rate limits."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from fastapi import FastAPI

from shopee_gateway.security.principal import Principal
from shopee_gateway.security.tokens import AuthenticationError

SignIn = Callable[[FastAPI, Mapping[str, Principal]], None]


class TokenAuthenticator:
    """The authenticator the routes see: each known access token is one principal; no API key
    is known."""

    def __init__(self, known: Mapping[str, Principal]) -> None:
        self.known = dict(known)

    async def principal_from_access_token(self, token: str) -> Principal:
        if token not in self.known:
            raise AuthenticationError("invalid token")
        return self.known[token]

    async def principal_from_api_key(self, key: str) -> Principal:
        raise AuthenticationError("unknown key")


class NoLimits:
    async def check_principal(self, principal: Principal) -> None:
        return None


@pytest.fixture
def sign_in() -> SignIn:
    """Installs on an app the callers it knows (access token -> principal) and no rate limits;
    called again, replaces them."""

    def install(app: FastAPI, known: Mapping[str, Principal]) -> None:
        app.state.authenticator = TokenAuthenticator(known)
        app.state.rate_limits = NoLimits()

    return install
