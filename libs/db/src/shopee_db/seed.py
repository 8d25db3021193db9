"""Development seed: a demo organisation, its admin, the generator's shops and an ingest key.

Idempotent: running it again changes nothing and issues no second key. Reference data (roles,
permissions) is not here: the migrations own it.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from itertools import cycle
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import Connection, text

from shopee_common.api_keys import hash_api_key, issue_api_key, key_prefix

DEMO_ORGANISATION_SLUG = "demo"
DEMO_ORGANISATION_NAME = "Demo Seller Group"
DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_API_KEY_NAME = "demo-ingest"
DEMO_API_KEY_SCOPES = ["events:write"]


class SeedError(Exception):
    """The database holds something the seed cannot reconcile (e.g. a shop of another tenant)."""


@dataclass(frozen=True)
class DemoShop:
    """A shop as registered in `shops`."""

    id: str
    name: str
    market: str
    currency: str
    time_zone: str


# Markets with different zones (and one west of UTC) so that local-day rollups differ per shop.
MARKET_PROFILES = (
    ("SG", "SGD", "Asia/Singapore"),
    ("ID", "IDR", "Asia/Jakarta"),
    ("TH", "THB", "Asia/Bangkok"),
    ("BR", "BRL", "America/Sao_Paulo"),
)


def shops_from_ids(shop_ids: list[str]) -> list[DemoShop]:
    """Shops for bare ids, given the market profiles above in turn."""
    return [
        DemoShop(id=shop_id, name=f"Demo shop {shop_id}", market=m, currency=c, time_zone=tz)
        for shop_id, (m, c, tz) in zip(shop_ids, cycle(MARKET_PROFILES), strict=False)
    ]


DEFAULT_DEMO_SHOPS = tuple(shops_from_ids([f"shop-id-{n}" for n in range(1, 5)]))


def load_shops(path: Path) -> list[DemoShop]:
    """Read shops from JSON: a list of ids, or of objects with id (or shop_id), name, market
    (or country), currency and time_zone; `{"shops": [...]}` is accepted too."""
    document: Any = json.loads(path.read_text())
    entries = document.get("shops") if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise SeedError(f"{path}: expected a non-empty list of shops")
    if all(isinstance(entry, str) for entry in entries):
        return shops_from_ids(entries)
    shops = []
    for index, entry in enumerate(entries):
        try:
            shop_id = str(entry.get("id") or entry["shop_id"])
            profile = shops_from_ids([shop_id])[0]
            shops.append(
                DemoShop(
                    id=shop_id,
                    name=str(entry.get("name", profile.name)),
                    market=str(entry.get("market") or entry.get("country") or profile.market),
                    currency=str(entry.get("currency", profile.currency)),
                    time_zone=str(entry.get("time_zone", profile.time_zone)),
                )
            )
        except (AttributeError, KeyError) as error:
            raise SeedError(f"{path}: shop #{index} needs an id") from error
    return shops


@dataclass(frozen=True)
class SeedResult:
    """What the seed did. Secrets are set only when they were created by this run."""

    organisation_id: str
    admin_email: str
    admin_created: bool
    generated_admin_password: str | None
    shop_ids: list[str]
    api_key_prefix: str
    api_key_created: bool
    api_key: str | None


def _organisation(connection: Connection) -> str:
    return str(
        connection.execute(
            text(
                "INSERT INTO organisations (slug, name) VALUES (:slug, :name) "
                "ON CONFLICT (slug) DO UPDATE SET slug = excluded.slug RETURNING id"
            ),
            {"slug": DEMO_ORGANISATION_SLUG, "name": DEMO_ORGANISATION_NAME},
        ).scalar_one()
    )


def _admin(
    connection: Connection, organisation_id: str, email: str, password: str | None
) -> tuple[bool, str | None]:
    """Create the admin (or reset a given password that no longer matches).

    Returns (created, the password if this run generated it)."""
    hasher = PasswordHasher()
    row = connection.execute(
        text("SELECT id, password_hash FROM users WHERE lower(email) = lower(:email)"),
        {"email": email},
    ).one_or_none()
    generated: str | None = None
    if row is None:
        if password is None:
            password = generated = secrets.token_urlsafe(12)
        user_id = connection.execute(
            text(
                "INSERT INTO users (email, full_name, password_hash) "
                "VALUES (:email, 'Demo Admin', :hash) RETURNING id"
            ),
            {"email": email, "hash": hasher.hash(password)},
        ).scalar_one()
    else:
        user_id = row.id
        if password is not None and not _verifies(hasher, row.password_hash, password):
            connection.execute(
                text("UPDATE users SET password_hash = :hash WHERE id = :id"),
                {"hash": hasher.hash(password), "id": user_id},
            )
    connection.execute(
        text(
            "INSERT INTO organisation_memberships (user_id, organisation_id, role_id) "
            "SELECT :user_id, :organisation_id, id FROM roles WHERE name = 'admin' "
            "ON CONFLICT (user_id, organisation_id) DO UPDATE SET role_id = excluded.role_id"
        ),
        {"user_id": user_id, "organisation_id": organisation_id},
    )
    return row is None, generated


def _verifies(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except VerificationError:
        return False


def _shops(connection: Connection, organisation_id: str, shops: list[DemoShop]) -> None:
    for shop in shops:
        updated = connection.execute(
            text(
                "INSERT INTO shops (id, organisation_id, name, market, currency, time_zone) "
                "VALUES (:id, :organisation_id, :name, :market, :currency, :time_zone) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, market = excluded.market, "
                "currency = excluded.currency, time_zone = excluded.time_zone "
                "WHERE shops.organisation_id = excluded.organisation_id RETURNING id"
            ),
            {"organisation_id": organisation_id, **asdict(shop)},
        ).one_or_none()
        if updated is None:
            raise SeedError(f"shop {shop.id!r} already belongs to another organisation")


def _api_key(
    connection: Connection, organisation_id: str, given_key: str | None
) -> tuple[str, str | None]:
    """Register `given_key`, or keep the existing demo key, or issue one. Returns (prefix, plain
    key if issued now)."""
    if given_key is not None:
        prefix, key_hash, plain = key_prefix(given_key), hash_api_key(given_key), None
    else:
        existing = connection.execute(
            text(
                "SELECT key_prefix FROM api_keys WHERE organisation_id = :organisation_id "
                "AND name = :name AND revoked_at IS NULL "
                "AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at LIMIT 1"
            ),
            {"organisation_id": organisation_id, "name": DEMO_API_KEY_NAME},
        ).scalar()
        if existing is not None:
            return str(existing), None
        issued = issue_api_key()
        prefix, key_hash, plain = issued.prefix, issued.key_hash, issued.plain
    connection.execute(
        text(
            "INSERT INTO api_keys (organisation_id, name, key_prefix, key_hash, scopes) "
            "VALUES (:organisation_id, :name, :prefix, :hash, :scopes) "
            "ON CONFLICT (key_hash) DO NOTHING"
        ),
        {
            "organisation_id": organisation_id,
            "name": DEMO_API_KEY_NAME,
            "prefix": prefix,
            "hash": key_hash,
            "scopes": DEMO_API_KEY_SCOPES,
        },
    )
    owner = connection.execute(
        text("SELECT organisation_id FROM api_keys WHERE key_hash = :hash"), {"hash": key_hash}
    ).scalar_one()
    if str(owner) != organisation_id:
        raise SeedError("the given API key is registered to another organisation")
    return prefix, plain


def seed_demo(
    connection: Connection,
    shops: list[DemoShop],
    admin_email: str = DEMO_ADMIN_EMAIL,
    admin_password: str | None = None,
    api_key: str | None = None,
) -> SeedResult:
    """Insert (or confirm) the demo tenant in the caller's transaction.

    A new admin gets `admin_password`, or a random one returned once in the result; a new API key
    is likewise returned once. `api_key` registers a key of the caller's choosing instead.
    """
    organisation_id = _organisation(connection)
    admin_created, password = _admin(connection, organisation_id, admin_email, admin_password)
    _shops(connection, organisation_id, shops)
    prefix, plain_key = _api_key(connection, organisation_id, api_key)
    return SeedResult(
        organisation_id=organisation_id,
        admin_email=admin_email,
        admin_created=admin_created,
        generated_admin_password=password,
        shop_ids=[shop.id for shop in shops],
        api_key_prefix=prefix,
        api_key_created=plain_key is not None,
        api_key=plain_key,
    )
