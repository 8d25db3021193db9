"""Accounts and tenancy constraints, reference data, and the idempotent demo seed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher

from shopee_common.api_keys import issue_api_key
from shopee_db import upgrade
from shopee_db.cli import main
from shopee_db.testing import temporary_database

pytestmark = pytest.mark.integration

Connection = psycopg.Connection[tuple[Any, ...]]

ARGON2_HASH = PasswordHasher().hash("correct horse battery staple")


@pytest.fixture(scope="module")
def migrated(database_url: str) -> Iterator[str]:
    with temporary_database(database_url) as dsn:
        upgrade(dsn)
        yield dsn


@pytest.fixture
def connection(migrated: str) -> Iterator[Connection]:
    """A connection whose work is rolled back after the test."""
    with psycopg.connect(migrated) as conn, conn.transaction(force_rollback=True):
        yield conn


def _organisation(connection: Connection, slug: str) -> object:
    row = connection.execute(
        "INSERT INTO organisations (slug, name) VALUES (%s, %s) RETURNING id", (slug, slug)
    ).fetchone()
    assert row is not None
    return row[0]


def _count(connection: Connection, table: str) -> object:
    row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return row[0]


def test_roles_and_permissions_are_seeded(
    connection: Connection,
) -> None:
    rows = connection.execute(
        "SELECT r.name, array_agg(p.name ORDER BY p.name) FROM roles r "
        "JOIN role_permissions rp ON rp.role_id = r.id JOIN permissions p ON p.id = rp.permission_id "
        "GROUP BY r.name"
    ).fetchall()
    granted = {role: set(permissions) for role, permissions in rows}
    assert granted["viewer"] == {"kpis:read", "insights:read", "forecasts:read"}
    assert "users:manage" not in granted["analyst"]
    assert "alerts:manage" in granted["analyst"]
    assert len(granted["admin"]) == _count(connection, "permissions") == 8


def test_email_is_unique_whatever_its_case(
    connection: Connection,
) -> None:
    insert = "INSERT INTO users (email, password_hash) VALUES (%s, %s)"
    connection.execute(insert, ("Ana@Example.com", ARGON2_HASH))
    with pytest.raises(psycopg.errors.UniqueViolation):
        connection.execute(insert, ("ana@example.com", ARGON2_HASH))


def test_passwords_must_be_argon2_hashes(
    connection: Connection,
) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        connection.execute(
            "INSERT INTO users (email, password_hash) VALUES ('b@example.com', 'plain-text')"
        )


def test_a_shop_needs_an_existing_organisation_and_a_real_time_zone(
    connection: Connection,
) -> None:
    insert = (
        "INSERT INTO shops (id, organisation_id, name, market, currency, time_zone) "
        "VALUES (%s, %s, 'Shop', 'SG', 'SGD', %s)"
    )
    organisation = _organisation(connection, "acme")
    connection.execute(insert, ("shop-ok", organisation, "Asia/Singapore"))
    with pytest.raises(psycopg.errors.ForeignKeyViolation), connection.transaction():
        connection.execute(insert, ("shop-orphan", "00000000-0000-0000-0000-000000000000", "UTC"))
    with pytest.raises(psycopg.errors.InvalidParameterValue), connection.transaction():
        connection.execute(insert, ("shop-bad-zone", organisation, "Asia/Atlantis"))
    with pytest.raises(psycopg.errors.ForeignKeyViolation), connection.transaction():
        connection.execute("DELETE FROM organisations WHERE id = %s", (organisation,))


def test_api_key_hash_is_unique_and_must_be_sha256(
    connection: Connection,
) -> None:
    organisation = _organisation(connection, "keys")
    issued = issue_api_key()
    insert = (
        "INSERT INTO api_keys (organisation_id, name, key_prefix, key_hash) VALUES (%s, %s, %s, %s)"
    )
    connection.execute(insert, (organisation, "one", issued.prefix, issued.key_hash))
    with pytest.raises(psycopg.errors.UniqueViolation), connection.transaction():
        connection.execute(insert, (organisation, "two", "zzzzzzzz", issued.key_hash))
    with pytest.raises(psycopg.errors.CheckViolation), connection.transaction():
        connection.execute(insert, (organisation, "three", "yyyyyyyy", issued.plain))


def test_one_firing_alert_per_rule_and_fingerprint(
    connection: Connection,
) -> None:
    organisation = _organisation(connection, "alerts")
    rule = connection.execute(
        "INSERT INTO alert_rules (organisation_id, name, kind, kpi, channels) "
        "VALUES (%s, 'gmv drop', 'pct_change', 'gmv', ARRAY['email']) RETURNING id",
        (organisation,),
    ).fetchone()
    assert rule is not None
    insert = (
        "INSERT INTO alert_history (rule_id, organisation_id, fingerprint, state, severity, "
        "started_at, resolved_at) VALUES (%s, %s, 'fp', %s, 'warning', now(), %s)"
    )
    connection.execute(insert, (rule[0], organisation, "resolved", "now()"))
    connection.execute(insert, (rule[0], organisation, "firing", None))
    with pytest.raises(psycopg.errors.UniqueViolation), connection.transaction():
        connection.execute(insert, (rule[0], organisation, "firing", None))
    with pytest.raises(psycopg.errors.CheckViolation), connection.transaction():
        connection.execute(
            "INSERT INTO alert_rules (organisation_id, name, kind, kpi, channels) "
            "VALUES (%s, 'bad', 'threshold', 'gmv', ARRAY['pigeon'])",
            (organisation,),
        )


def test_seed_demo_is_idempotent_and_shows_secrets_once(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    command = ["--database-url", migrated, "seed-demo", "--shop", "s-1", "--shop", "s-2", "--json"]
    assert main(command) == 0
    first = json.loads(capsys.readouterr().out)
    with psycopg.connect(migrated) as connection:
        counts = {t: _count(connection, t) for t in ("organisations", "users", "shops", "api_keys")}
    assert main(command) == 0
    second = json.loads(capsys.readouterr().out)

    assert first["admin_created"] is True
    assert first["api_key"].startswith(f"sk_{first['api_key_prefix']}_")
    assert (second["admin_created"], second["generated_admin_password"], second["api_key"]) == (
        False,
        None,
        None,
    )
    assert second["api_key_prefix"] == first["api_key_prefix"]
    with psycopg.connect(migrated) as connection:
        assert counts == {
            t: _count(connection, t) for t in ("organisations", "users", "shops", "api_keys")
        }
        stored = connection.execute(
            "SELECT u.password_hash, r.name, k.key_hash FROM users u "
            "JOIN organisation_memberships m ON m.user_id = u.id JOIN roles r ON r.id = m.role_id "
            "JOIN api_keys k ON k.organisation_id = m.organisation_id WHERE u.email = %s",
            (first["admin_email"],),
        ).fetchone()
        zones = connection.execute("SELECT id, time_zone FROM shops ORDER BY id").fetchall()
    assert stored is not None
    password_hash, role, key_hash = stored
    assert PasswordHasher().verify(str(password_hash), first["generated_admin_password"])
    assert role == "admin"
    assert key_hash == hashlib.sha256(first["api_key"].encode()).hexdigest()
    assert zones == [("s-1", "Asia/Singapore"), ("s-2", "Asia/Jakarta")]


def test_seed_demo_refuses_a_shop_of_another_organisation(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(migrated) as connection:
        organisation = _organisation(connection, "other-tenant")
        connection.execute(
            "INSERT INTO shops (id, organisation_id, name, market, currency, time_zone) "
            "VALUES ('taken', %s, 'Taken', 'SG', 'SGD', 'Asia/Singapore')",
            (organisation,),
        )
    assert main(["--database-url", migrated, "seed-demo", "--shop", "taken"]) == 2
    assert "belongs to another organisation" in capsys.readouterr().err
