"""Principals, permission checks and the problem-details error format."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated
from uuid import uuid4

import httpx
from fastapi import Depends, FastAPI

from shopee_gateway.errors import ProblemError, install_error_handlers
from shopee_gateway.security.dependencies import require
from shopee_gateway.security.principal import Principal

# The `sign_in` fixture (conftest.py): installs the callers an app knows, by access token.
SignIn = Callable[[FastAPI, Mapping[str, Principal]], None]


def principal(permissions: set[str], subject: str | None = None) -> Principal:
    return Principal(
        subject=subject or str(uuid4()),
        organisation_id=uuid4(),
        role="viewer",
        permissions=frozenset(permissions),
        shop_ids=frozenset({"s1"}),
    )


def test_principal_scopes() -> None:
    user = principal({"kpis:read"})
    assert user.can_see("s1")
    assert not user.can_see("s2")
    assert user.user_id is not None
    assert not user.is_api_key
    key = principal(set(), subject="apikey:abcdefgh")
    assert key.is_api_key
    assert key.user_id is None


def app_with(sign_in: SignIn, known: dict[str, Principal]) -> FastAPI:
    app = FastAPI()
    sign_in(app, known)
    install_error_handlers(app)

    @app.get("/kpis")
    async def kpis(caller: Annotated[Principal, Depends(require("kpis:read"))]) -> dict[str, str]:
        return {"subject": caller.subject}

    @app.get("/conflict")
    async def conflict() -> None:
        raise ProblemError(409, "taken", headers={"X-Why": "test"}, errors=[{"field": "name"}])

    return app


async def test_require_gives_401_403_or_the_principal(sign_in: SignIn) -> None:
    reader, other = principal({"kpis:read"}), principal({"insights:read"})
    transport = httpx.ASGITransport(app=app_with(sign_in, {"r": reader, "o": other}))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        anonymous = await client.get("/kpis")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert (await client.get("/kpis", headers={"Authorization": "Basic x"})).status_code == 401
        assert (await client.get("/kpis", headers={"X-API-Key": "sk_x"})).status_code == 401
        forbidden = await client.get("/kpis", headers={"Authorization": "Bearer o"})
        assert forbidden.status_code == 403
        assert forbidden.json()["detail"] == "missing permission kpis:read"
        allowed = await client.get("/kpis", headers={"Authorization": "Bearer r"})
        assert allowed.json() == {"subject": reader.subject}


async def test_problems_for_our_errors_and_framework_errors(sign_in: SignIn) -> None:
    transport = httpx.ASGITransport(app=app_with(sign_in, {}))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        conflict = await client.get("/conflict")
        assert conflict.status_code == 409
        assert conflict.headers["x-why"] == "test"
        assert conflict.json() == {
            "type": "about:blank",
            "title": "Conflict",
            "status": 409,
            "detail": "taken",
            "errors": [{"field": "name"}],
        }
        missing = await client.get("/nowhere")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert (await client.post("/conflict")).json()["status"] == 405
