"""Security on the real stack: hostile tokens are refused, retired keys still verify during a
rotation, and a schemathesis run over the whole OpenAPI finds no 5xx on a real server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import schemathesis
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings

from shopee_gateway.app import create_app
from shopee_gateway.security.tokens import TokenKeys, TokenService, TokenUse
from tests.integration.gateway_fixtures import (  # noqa: F401 - pytest fixtures
    PASSWORD,
    World,
    gateway_settings,
    running,
    sign_in,
    world_fixture,
)
from tests.integration.service_process import free_port, signing_key_pem

pytestmark = pytest.mark.integration
ISSUER, AUDIENCE = "shopee-gateway", "shopee-api"


def _service(
    keys: TokenKeys, issuer: str = ISSUER, audience: str = AUDIENCE, ttl: int = 300
) -> TokenService:
    return TokenService(keys, issuer, audience, {use: ttl for use in TokenUse}, leeway_seconds=0)


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _hs256(claims: dict[str, Any], secret: bytes) -> str:
    """The algorithm-confusion attack, built by hand (PyJWT rightly refuses to sign it)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "kid": "k2", "typ": "JWT"}).encode())
    body = part(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{part(signature)}"


async def test_hostile_tokens_are_refused(world: World) -> None:
    signing, retired = signing_key_pem(), signing_key_pem()
    settings = gateway_settings(
        world.dsn,
        gateway_jwt_signing_key=signing,
        gateway_jwt_signing_kid="k2",
        gateway_jwt_verification_keys=json.dumps({"k1": _public_pem(retired)}),
    )
    keys = TokenKeys.from_pem("k2", signing)
    user = world.tenants["a"].user_ids["analyst"]
    org = str(world.tenants["a"].id)
    async with running(create_app(settings)) as client:

        async def status(token: str) -> int:
            response = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
            return response.status_code

        good = _service(keys).issue(TokenUse.ACCESS, str(user), org).token
        assert await status(good) == 200
        # A token of the retired key still verifies by its kid (rotation).
        old = _service(TokenKeys.from_pem("k1", retired)).issue(TokenUse.ACCESS, str(user), org)
        assert await status(old.token) == 200
        claims = jwt.decode(good, options={"verify_signature": False})
        hostile = {
            "alg=none": jwt.encode(claims, "", algorithm="none", headers={"kid": "k2"}),
            "HS256 with the public key": _hs256(claims, _public_pem(signing).encode()),
            "wrong signature": _service(TokenKeys("k2", Ed25519PrivateKey.generate(), {}))
            .issue(TokenUse.ACCESS, str(user), org)
            .token,
            "expired": _service(keys, ttl=-60).issue(TokenUse.ACCESS, str(user), org).token,
            "wrong audience": _service(keys, audience="other-api")
            .issue(TokenUse.ACCESS, str(user), org)
            .token,
            "wrong issuer": _service(keys, issuer="evil")
            .issue(TokenUse.ACCESS, str(user), org)
            .token,
            "unknown kid": _service(TokenKeys.from_pem("k9", signing))
            .issue(TokenUse.ACCESS, str(user), org)
            .token,
            "refresh as access": _service(keys).issue(TokenUse.REFRESH, str(user), org).token,
            "invitation as access": _service(keys).issue(TokenUse.INVITATION, str(user), org).token,
            "other organisation": _service(keys)
            .issue(TokenUse.ACCESS, str(user), str(world.tenants["b"].id))
            .token,
            "garbage": "not.a.jwt",
        }
        for name, token in hostile.items():
            assert await status(token) == 401, name
        login = await client.post(
            "/api/auth/token",
            data={"username": world.tenants["a"].emails["viewer"], "password": PASSWORD},
        )
        assert await status(login.json()["refresh_token"]) == 401
        assert await status(login.json()["access_token"]) == 200
        # An access token is not a refresh token either.
        swapped = await client.post(
            "/api/auth/refresh", json={"refresh_token": login.json()["access_token"]}
        )
        assert swapped.status_code == 401


@pytest.fixture
def served_gateway(world: World) -> Iterator[str]:
    """The real app served by uvicorn on a free port (in a thread), for schemathesis."""
    settings = gateway_settings(
        world.dsn, gateway_rate_limit="1000000/minute", gateway_login_rate_limit="1000000/minute"
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_schemathesis_finds_no_server_errors(served_gateway: str, world: World) -> None:
    spec = httpx.get(f"{served_gateway}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(spec)
    token = httpx.post(
        f"{served_gateway}/api/auth/token",
        data={"username": world.tenants["a"].emails["admin"], "password": PASSWORD},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        operations += 1

        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(base_url=served_gateway, headers=headers, timeout=30)
            if response.status_code >= 500 and response.status_code != 503:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:200]}"
                )

        check()
    assert operations == sum(len(v) for v in spec["paths"].values())
    assert not failures, "\n".join(failures[:20])
