"""Tenant isolation: a user of organisation A walks every route of the OpenAPI spec (generated
from app.openapi(), so new routes are covered automatically) and every export format, aimed at
organisation B's shops, views, users and keys, and gets 403 or 404 and no byte of B's data."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from shopee_gateway.app import create_app
from tests.integration.gateway_fixtures import (  # noqa: F401 - pytest fixtures
    FIRST_DAY,
    World,
    gateway_settings,
    running,
    sign_in,
    world_fixture,
)

pytestmark = pytest.mark.integration

# Routes that take credentials rather than a caller: they are tested in test_gateway_auth.
CREDENTIAL_ROUTES = {
    "/api/auth/token",
    "/api/auth/refresh",
    "/api/auth/logout",
    "/api/auth/accept-invitation",
}
DATE_FROM, DATE_TO = str(FIRST_DAY), str(FIRST_DAY + timedelta(days=3))


class SchemaFiller:
    """Builds parameter values and JSON bodies from the OpenAPI schemas, aiming every shop,
    view, user and key field at organisation B."""

    def __init__(self, spec: dict[str, Any], targets: dict[str, str]) -> None:
        self.spec = spec
        self.targets = targets

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.spec["components"]["schemas"][name]
        return schema

    def value(self, name: str, schema: dict[str, Any]) -> Any:
        """A value for field `name`, with every shop field (however deep) aimed at B."""
        return self.aim(self._value(name, schema))

    def aim(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: [self.targets["shop"]]
                if key in ("shops", "shop_ids")
                else self.targets["shop"]
                if key in ("shop_id", "shop")
                else self.aim(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.aim(item) for item in value]
        return value

    def _value(self, name: str, schema: dict[str, Any]) -> Any:
        schema = self.resolve(schema)
        if name in ("shop_id", "shop"):
            return self.targets["shop"]
        if name in ("shops", "shop_ids"):
            return [self.targets["shop"]]
        if name in ("from", "start", "since"):
            return DATE_FROM if "date-time" not in str(schema) else f"{DATE_FROM}T00:00:00Z"
        if name in ("to", "end", "until"):
            return DATE_TO if "date-time" not in str(schema) else f"{DATE_TO}T00:00:00Z"
        if name in ("kpi", "kpis", "metric"):
            return ["gmv"] if self.resolve(schema).get("type") == "array" else "gmv"
        for option in schema.get("anyOf", []):
            if self.resolve(option).get("type") != "null":
                return self.value(name, option)
        if schema.get("examples"):
            return schema["examples"][0]
        if "example" in schema:
            return schema["example"]
        if "default" in schema and schema["default"] is not None:
            return schema["default"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object":
            return {
                prop: self.value(prop, sub)
                for prop, sub in schema.get("properties", {}).items()
                if prop in schema.get("required", []) or prop in ("shop_id", "shops", "query")
            }
        if kind == "array":
            return [self.value(name, schema.get("items", {}))]
        if kind == "integer":
            return max(1, int(schema.get("minimum", 1)))
        if kind == "number":
            return float(schema.get("minimum", 1.0))
        if kind == "boolean":
            return False
        formats = {
            "uuid": str(uuid.uuid4()),
            "date": DATE_FROM,
            "date-time": f"{DATE_FROM}T00:00:00Z",
        }
        if schema.get("format") in formats:
            return formats[schema["format"]]
        if "email" in name:
            return f"walker-{uuid.uuid4().hex[:8]}@example.com"
        return "x" * max(1, int(schema.get("minLength", 1)))


def _requests(spec: dict[str, Any], filler: SchemaFiller) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, httpx kwargs) for every operation, one per export format."""
    path_targets = {"shop_id": "shop", "view_id": "view", "user_id": "user", "key_id": "key"}
    walk = []
    for path, operations in spec["paths"].items():
        if path in CREDENTIAL_ROUTES:
            continue
        for method, operation in operations.items():
            url, query = path, {}
            variants: list[dict[str, Any]] = [{}]
            for parameter in operation.get("parameters", []):
                name, schema = parameter["name"], filler.resolve(parameter.get("schema", {}))
                if parameter["in"] == "path":
                    assert name in path_targets, f"teach the walk about {path} {{{name}}}"
                    url = url.replace(f"{{{name}}}", filler.targets[path_targets[name]])
                elif parameter["in"] == "query":
                    if name == "format" and "enum" in schema:
                        variants = [{"format": f} for f in schema["enum"]]
                    elif parameter.get("required") or name in ("shops", "shop_id", "kpis"):
                        query[name] = filler.value(name, schema)
            body = operation.get("requestBody", {}).get("content", {})
            for variant in variants:
                kwargs: dict[str, Any] = {"params": {**query, **variant}}
                if "application/json" in body:
                    kwargs["json"] = filler.value("body", body["application/json"]["schema"])
                walk.append((method.upper(), url, kwargs))
    return walk


def _targets_b(url: str, kwargs: dict[str, Any], targets: dict[str, str]) -> bool:
    text = url + str(kwargs)
    return any(value in text for key, value in targets.items() if key != "org")


async def test_user_of_a_sees_nothing_of_b(world: World) -> None:
    a, b = world.tenants["a"], world.tenants["b"]
    app = create_app(gateway_settings(world.dsn))
    async with running(app) as client:
        b_admin = await sign_in(client, b.emails["admin"])
        view_name = f"B-secret-view-{uuid.uuid4().hex[:8]}"
        view = await client.post(
            "/api/views",
            json={
                "name": view_name,
                "shared": True,
                "query": {
                    "shops": b.shops,
                    "kpis": ["gmv"],
                    "from": DATE_FROM,
                    "to": DATE_TO,
                    "interval": "day",
                },
            },
            headers=b_admin,
        )
        assert view.status_code == 201, view.text
        key = await client.post(
            "/api/api-keys", json={"name": "B machine", "scopes": ["kpis:read"]}, headers=b_admin
        )
        assert key.status_code == 201
        targets = {
            "shop": b.shops[0],
            "view": view.json()["id"],
            "user": str(b.user_ids["viewer"]),
            "key": key.json()["id"],
            "org": str(b.id),
        }
        markers = [
            *b.shops,
            *b.emails.values(),
            b.slug,
            str(b.id),
            view_name,
            key.json()["prefix"],
            *(str(u) for u in b.user_ids.values()),
            "of b",
        ]
        spec = app.openapi()
        walk = _requests(spec, SchemaFiller(spec, targets))
        assert len(walk) >= len(spec["paths"]) - len(CREDENTIAL_ROUTES)
        a_admin = await sign_in(client, a.emails["admin"])
        a_key = await client.post(
            "/api/api-keys",
            json={
                "name": "A machine",
                "scopes": sorted(
                    {"kpis:read", "exports:create", "insights:read", "forecasts:read"}
                ),
            },
            headers=a_admin,
        )
        callers = {"user": a_admin, "key": {"X-API-Key": a_key.json()["key"]}}
        checked, targeted = 0, set()
        for caller, headers in callers.items():
            for method, url, kwargs in walk:
                response = await client.request(method, url, headers=headers, **kwargs)
                where = f"{caller} {method} {url} {kwargs} -> {response.status_code}"
                for marker in markers:
                    assert marker.encode() not in response.content, f"{where} leaked {marker!r}"
                if _targets_b(url, kwargs, targets):
                    targeted.add((method, url))
                    assert response.status_code in (403, 404), f"{where}: {response.text[:300]}"
                else:
                    assert response.status_code < 500, f"{where}: {response.text[:300]}"
                checked += 1
        assert checked == 2 * len(walk)
        # The 24 operations that name a shop, view, user or key (when this was written).
        assert len(targeted) >= 24
        # Nothing of B changed: its key still works and its view is intact.
        assert (
            await client.get("/api/me", headers={"X-API-Key": key.json()["key"]})
        ).status_code == 200
        kept = await client.get(f"/api/views/{targets['view']}", headers=b_admin)
        assert kept.json()["name"] == view_name
        roles = {
            m["email"]: m["role"] for m in (await client.get("/api/users", headers=b_admin)).json()
        }
        assert roles[b.emails["viewer"]] == "viewer"
