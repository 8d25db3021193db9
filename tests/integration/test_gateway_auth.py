"""Identity on the real stack: password grant, rotating refresh tokens, logout, invitations,
roles from the database, API keys, and login rate limits."""

from __future__ import annotations

import httpx
import pytest

from shopee_gateway.app import create_app
from tests.integration.gateway_fixtures import (  # noqa: F401 - pytest fixtures
    PASSWORD,
    World,
    gateway_fixture,
    gateway_settings,
    running,
    sign_in,
    world_fixture,
)

pytestmark = pytest.mark.integration


async def test_password_grant_and_wrong_password(gateway: httpx.AsyncClient, world: World) -> None:
    email = world.tenants["a"].emails["analyst"]
    wrong = await gateway.post("/api/auth/token", data={"username": email, "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["title"] == "Unauthorized"
    unknown = await gateway.post(
        "/api/auth/token", data={"username": "ghost@example.com", "password": PASSWORD}
    )
    assert unknown.status_code == 401
    me = await gateway.get("/api/me", headers=await sign_in(gateway, email.upper()))
    assert me.status_code == 200
    body = me.json()
    assert body["role"] == "analyst"
    assert "exports:create" in body["permissions"]
    assert "users:manage" not in body["permissions"]
    assert sorted(s["id"] for s in body["shops"]) == world.tenants["a"].shops


async def test_refresh_rotates_and_logout_revokes(gateway: httpx.AsyncClient, world: World) -> None:
    email = world.tenants["a"].emails["viewer"]
    first = await gateway.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    refresh = first.json()["refresh_token"]
    rotated = await gateway.post("/api/auth/refresh", json={"refresh_token": refresh})
    assert rotated.status_code == 200
    # The used refresh token is spent: replaying it fails.
    replay = await gateway.post("/api/auth/refresh", json={"refresh_token": refresh})
    assert replay.status_code == 401
    new_refresh = rotated.json()["refresh_token"]
    assert (
        await gateway.post("/api/auth/logout", json={"refresh_token": new_refresh})
    ).status_code == 204
    after = await gateway.post("/api/auth/refresh", json={"refresh_token": new_refresh})
    assert after.status_code == 401
    # The access token still works until it expires (short-lived by design).
    access = rotated.json()["access_token"]
    me = await gateway.get("/api/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200


async def test_roles_gate_routes(gateway: httpx.AsyncClient, world: World) -> None:
    tenant = world.tenants["a"]
    viewer = await sign_in(gateway, tenant.emails["viewer"])
    analyst = await sign_in(gateway, tenant.emails["analyst"])
    admin = await sign_in(gateway, tenant.emails["admin"])
    export = {"shops": tenant.shops, "kpis": "gmv", "from": "2026-03-03", "to": "2026-03-04"}
    denied = await gateway.get("/api/exports/kpis", params=export, headers=viewer)
    assert denied.status_code == 403
    assert "exports:create" in denied.json()["detail"]
    assert (
        await gateway.get("/api/exports/kpis", params=export, headers=analyst)
    ).status_code == 200
    assert (await gateway.get("/api/users", headers=analyst)).status_code == 403
    members = await gateway.get("/api/users", headers=admin)
    assert members.status_code == 200
    assert {m["email"] for m in members.json()} == set(tenant.emails.values())


async def test_invite_accept_and_change_role(gateway: httpx.AsyncClient, world: World) -> None:
    tenant = world.tenants["a"]
    admin = await sign_in(gateway, tenant.emails["admin"])
    email = f"new-{tenant.slug}@example.com"
    invited = await gateway.post(
        "/api/users", json={"email": email, "full_name": "New", "role": "viewer"}, headers=admin
    )
    assert invited.status_code == 201, invited.text
    token = invited.json()["invitation_token"]
    again = await gateway.post("/api/users", json={"email": email, "role": "viewer"}, headers=admin)
    assert again.status_code == 409
    # Inactive until the invitation is accepted.
    early = await gateway.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    assert early.status_code == 401
    accepted = await gateway.post(
        "/api/auth/accept-invitation", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200
    reused = await gateway.post(
        "/api/auth/accept-invitation", json={"token": token, "password": "another long password"}
    )
    assert reused.status_code == 401
    user_id = invited.json()["user_id"]
    changed = await gateway.patch(f"/api/users/{user_id}", json={"role": "analyst"}, headers=admin)
    assert changed.status_code == 200
    me = await gateway.get("/api/me", headers=await sign_in(gateway, email))
    assert me.json()["role"] == "analyst"
    # The last admin cannot demote themselves.
    own_id = str(tenant.user_ids["admin"])
    demote = await gateway.patch(f"/api/users/{own_id}", json={"role": "viewer"}, headers=admin)
    assert demote.status_code == 409


async def test_text_postgresql_cannot_store_is_a_422_not_a_500(
    gateway: httpx.AsyncClient, world: World
) -> None:
    admin = await sign_in(gateway, world.tenants["a"].emails["admin"])
    invited = await gateway.post(
        "/api/users",
        json={"email": "nul@example.com", "full_name": "N\u0000L", "role": "viewer"},
        headers=admin,
    )
    assert invited.status_code == 422, invited.text
    assert "NUL" in invited.json()["detail"]
    signin = await gateway.post(
        "/api/auth/token", data={"username": "a\u0000@example.com", "password": "x" * 12}
    )
    assert signin.status_code in (401, 422), signin.text


async def test_api_keys(gateway: httpx.AsyncClient, world: World) -> None:
    tenant = world.tenants["a"]
    admin = await sign_in(gateway, tenant.emails["admin"])
    created = await gateway.post(
        "/api/api-keys", json={"name": "sync", "scopes": ["kpis:read"]}, headers=admin
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    machine = {"X-API-Key": key}
    me = await gateway.get("/api/me", headers=machine)
    assert me.status_code == 200
    assert me.json()["permissions"] == ["kpis:read"]
    assert me.json()["role"] == "apikey"
    query = {"shops": tenant.shops[0], "kpis": "gmv", "from": "2026-03-03", "to": "2026-03-04"}
    assert (await gateway.get("/api/kpis", params=query, headers=machine)).status_code == 200
    assert (
        await gateway.get("/api/exports/kpis", params=query, headers=machine)
    ).status_code == 403
    unknown_scope = await gateway.post(
        "/api/api-keys", json={"name": "x", "scopes": ["root:all"]}, headers=admin
    )
    assert unknown_scope.status_code == 422
    listed = await gateway.get("/api/api-keys", headers=admin)
    assert [k["prefix"] for k in listed.json()] == [created.json()["prefix"]]
    assert key not in listed.text
    revoked = await gateway.delete(f"/api/api-keys/{created.json()['id']}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert (await gateway.get("/api/me", headers=machine)).status_code == 401
    analyst = await sign_in(gateway, tenant.emails["analyst"])
    beyond = await gateway.post(
        "/api/api-keys", json={"name": "y", "scopes": ["kpis:read"]}, headers=analyst
    )
    assert beyond.status_code == 403


async def test_login_and_request_rate_limits(world: World) -> None:
    settings = gateway_settings(
        world.dsn, gateway_login_rate_limit="3/minute", gateway_rate_limit="5/minute"
    )
    async with running(create_app(settings)) as client:
        email = world.tenants["b"].emails["viewer"]
        statuses = []
        for _ in range(4):
            response = await client.post(
                "/api/auth/token", data={"username": email, "password": "wrong password"}
            )
            statuses.append(response.status_code)
        assert statuses == [401, 401, 401, 429]
        assert int(response.headers["Retry-After"]) >= 1
        other = world.tenants["b"].emails["admin"]
        # The client address has used its attempts too.
        blocked = await client.post(
            "/api/auth/token", data={"username": other, "password": PASSWORD}
        )
        assert blocked.status_code == 429
    async with running(
        create_app(gateway_settings(world.dsn, gateway_rate_limit="5/minute"))
    ) as client:
        headers = await sign_in(client, world.tenants["b"].emails["admin"])
        codes = [(await client.get("/api/me", headers=headers)).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
