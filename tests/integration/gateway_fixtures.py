"""A gateway on the real stack for integration tests: two organisations (A and B) with users of
every role and generated shops, KPI tables loaded from generated events, and the real app.

The KPI rows are the independent pandas recomputation (kpi_reference) of generator events, so
the numbers the tests check come from the generator, not from the test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from shopee_db import upgrade
from shopee_db.testing import temporary_database
from shopee_gateway.app import create_app
from shopee_gateway.settings import GatewaySettings
from shopee_generator.world import GeneratorConfig, generate_history
from tests.integration.databases import copy_raw_events, shops_of
from tests.integration.kpi_reference import Rows, reference_rows
from tests.integration.service_process import signing_key_pem

PASSWORD = "correct horse battery staple"
ROLES = ("admin", "analyst", "viewer")
FIRST_DAY = date(2026, 3, 2)
DAYS = 6
TABLES = {"minute": "kpi_minute", "hour": "kpi_hour", "day": "kpi_day"}


@dataclass
class Tenant:
    """One organisation: its id and slug, its shops and one user per role (role -> e-mail)."""

    id: uuid.UUID
    slug: str
    shops: list[str]
    emails: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, uuid.UUID] = field(default_factory=dict)


@dataclass
class World:
    dsn: str
    tenants: dict[str, Tenant]
    rows: Rows
    zones: dict[str, str]
    names: dict[tuple[str, str], str]  # (shop, product) -> name in its latest catalogue event


def insert_tenant(
    connection: psycopg.Connection, name: str, shops: dict[str, str], hashed: str
) -> Tenant:
    slug = f"org-{name}-{uuid.uuid4().hex[:6]}"
    row = connection.execute(
        "INSERT INTO organisations (slug, name) VALUES (%s, %s) RETURNING id", (slug, f"Org {name}")
    ).fetchone()
    assert row is not None
    tenant = Tenant(row[0], slug, sorted(shops))
    for shop, zone in sorted(shops.items()):
        connection.execute(
            "INSERT INTO shops (id, organisation_id, name, market, currency, time_zone) "
            "VALUES (%s, %s, %s, 'ID', 'IDR', %s)",
            (shop, tenant.id, f"{shop} of {name}", zone),
        )
    for role in ROLES:
        email = f"{role}@{slug}.example.com"
        user = connection.execute(
            "INSERT INTO users (email, full_name, password_hash) VALUES (%s, %s, %s) RETURNING id",
            (email, f"{role.title()} {name.upper()}", hashed),
        ).fetchone()
        assert user is not None
        connection.execute(
            "INSERT INTO organisation_memberships (user_id, organisation_id, role_id) "
            "SELECT %s, %s, id FROM roles WHERE name = %s",
            (user[0], tenant.id, role),
        )
        tenant.emails[role] = email
        tenant.user_ids[role] = user[0]
    return tenant


def load_kpi_rows(connection: psycopg.Connection, rows: Rows, zones: dict[str, str]) -> None:
    """Write reference rows into kpi_minute / kpi_hour / kpi_day with their local labels."""
    for granularity, table in TABLES.items():
        label = {"minute": "", "hour": ", local_hour", "day": ", local_date"}[granularity]
        with connection.cursor().copy(
            f"COPY {table} (shop_id, product_id, kpi, bucket, numerator, denominator, value"
            f"{label}) FROM STDIN"
        ) as copy:
            for (kind, shop, product, kpi, bucket), (num, den) in rows.items():
                if kind != granularity:
                    continue
                value = None if den == 0 else float(num) if den is None else float(num / den)
                record: list[object] = [shop, product, kpi, bucket, num, den, value]
                local = bucket.astimezone(ZoneInfo(zones[shop])).replace(tzinfo=None)
                if granularity == "hour":
                    record.append(local)
                elif granularity == "day":
                    record.append(local.date())
                copy.write_row(record)


def build_world(server_dsn: str) -> Iterator[World]:
    """A migrated private database with tenants A and B (two generated shops each) and KPIs."""
    config = GeneratorConfig(start=FIRST_DAY, days=DAYS, shops=4, scale=0.3, seed=11)
    events = list(generate_history(config))
    zones = shops_of(events)
    shops = sorted(zones)
    rows = reference_rows(events)
    hashed = PasswordHasher().hash(PASSWORD)
    with temporary_database(server_dsn) as dsn:
        upgrade(dsn)
        with psycopg.connect(dsn) as connection:
            tenants = {
                "a": insert_tenant(connection, "a", {s: zones[s] for s in shops[:2]}, hashed),
                "b": insert_tenant(connection, "b", {s: zones[s] for s in shops[2:]}, hashed),
            }
            load_kpi_rows(connection, rows, zones)
            catalog = [e for e in events if e.HasField("catalog")]
            copy_raw_events(connection.cursor(), catalog)
        latest = sorted(catalog, key=lambda e: (e.occurred_at.ToDatetime(), e.event_id))
        names = {(e.shop_id, e.catalog.product_id): e.catalog.name for e in latest}
        yield World(dsn, tenants, rows, zones, names)


def gateway_settings(dsn: str, **overrides: object) -> GatewaySettings:
    """Test settings: the private database, private Redis keys, a real signing key."""
    values: dict[str, object] = {
        "environment": "test",
        "database_url": dsn,
        "gateway_redis_prefix": f"gwt{uuid.uuid4().hex[:8]}:",
        "gateway_jwt_signing_key": signing_key_pem(),
        "gateway_jwt_signing_kid": "test-1",
        **overrides,
    }
    return GatewaySettings.model_validate(values)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan started, and an HTTP client talking to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


async def sign_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """Authorization headers for the user (password grant)."""
    response = await client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module", name="world")
def world_fixture(database_url: str) -> Iterator[World]:
    """The module's tenants and KPI data (one private database per test module)."""
    yield from build_world(database_url)


@pytest.fixture(name="gateway")
async def gateway_fixture(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a freshly started gateway over `world`."""
    async with running(create_app(gateway_settings(world.dsn))) as client:
        yield client
