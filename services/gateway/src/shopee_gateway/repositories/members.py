"""Organisation administration: members and their roles, shops, API keys. Always org-scoped."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg


class MembersRepository:
    """Every method takes the caller's organisation and touches nothing outside it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def organisation_name(self, organisation_id: UUID) -> str:
        """The organisation's display name."""
        name: str = await self._pool.fetchval(
            "SELECT name FROM organisations WHERE id = $1", organisation_id
        )
        return name

    async def email(self, user_id: UUID) -> str | None:
        """The user's e-mail address."""
        email: str | None = await self._pool.fetchval(
            "SELECT email FROM users WHERE id = $1", user_id
        )
        return email

    async def shops(self, organisation_id: UUID) -> list[asyncpg.Record]:
        """The organisation's shops, by id."""
        return list(
            await self._pool.fetch(
                f"SELECT {_SHOP_COLUMNS} FROM shops WHERE organisation_id = $1 ORDER BY id",
                organisation_id,
            )
        )

    async def register_shop(
        self, organisation_id: UUID, shop_id: str, name: str, market: str, currency: str, zone: str
    ) -> asyncpg.Record:
        """The new shop, in the organisation; ShopExists if its id is taken (by any)."""
        try:
            record: asyncpg.Record = await self._pool.fetchrow(
                "INSERT INTO shops (id, organisation_id, name, market, currency, time_zone) "
                f"VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_SHOP_COLUMNS}",
                shop_id,
                organisation_id,
                name,
                market,
                currency,
                zone,
            )
        except asyncpg.UniqueViolationError as exc:
            raise ShopExists(shop_id) from exc
        return record

    async def rename_shop(
        self, organisation_id: UUID, shop_id: str, name: str
    ) -> asyncpg.Record | None:
        """The shop with its new name; None if the organisation has no such shop."""
        record: asyncpg.Record | None = await self._pool.fetchrow(
            "UPDATE shops SET name = $3 WHERE id = $1 AND organisation_id = $2 "
            f"RETURNING {_SHOP_COLUMNS}",
            shop_id,
            organisation_id,
            name,
        )
        return record

    async def members(self, organisation_id: UUID) -> list[asyncpg.Record]:
        """The organisation's users and their roles, by e-mail."""
        return list(
            await self._pool.fetch(
                "SELECT u.id AS user_id, u.email, u.full_name, r.name AS role, u.is_active, "
                "u.last_login_at FROM organisation_memberships m "
                "JOIN users u ON u.id = m.user_id JOIN roles r ON r.id = m.role_id "
                "WHERE m.organisation_id = $1 ORDER BY lower(u.email)",
                organisation_id,
            )
        )

    async def invite(
        self,
        organisation_id: UUID,
        email: str,
        full_name: str,
        role: str,
        placeholder_hash: str,
    ) -> tuple[UUID, bool]:
        """Add the address to the organisation with `role`, creating an inactive account if new.

        Returns (user id, created). An existing member keeps their role (409 is the caller's).
        """
        async with self._pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                "SELECT id FROM users WHERE lower(email) = lower($1)", email
            )
            created = row is None
            if row is None:
                row = await connection.fetchrow(
                    "INSERT INTO users (email, full_name, password_hash, is_active) "
                    "VALUES ($1, $2, $3, false) RETURNING id",
                    email,
                    full_name,
                    placeholder_hash,
                )
            user_id: UUID = row["id"]
            inserted = await connection.fetchval(
                "INSERT INTO organisation_memberships (user_id, organisation_id, role_id) "
                "SELECT $1, $2, id FROM roles WHERE name = $3 "
                "ON CONFLICT DO NOTHING RETURNING user_id",
                user_id,
                organisation_id,
                role,
            )
            if inserted is None:
                raise MemberExists(user_id)
        return user_id, created

    async def set_role(self, organisation_id: UUID, user_id: UUID, role: str) -> bool:
        """Change a member's role; False if they are not a member. Keeps at least one admin."""
        async with self._pool.acquire() as connection, connection.transaction():
            # Lock the organisation's memberships so two demotions cannot both pass the check.
            await connection.execute(
                "SELECT 1 FROM organisation_memberships WHERE organisation_id = $1 FOR UPDATE",
                organisation_id,
            )
            updated = await connection.fetchval(
                "UPDATE organisation_memberships SET role_id = (SELECT id FROM roles WHERE name = $3) "
                "WHERE organisation_id = $1 AND user_id = $2 RETURNING user_id",
                organisation_id,
                user_id,
                role,
            )
            if updated is None:
                return False
            admins = await connection.fetchval(
                "SELECT count(*) FROM organisation_memberships m JOIN roles r ON r.id = m.role_id "
                "WHERE m.organisation_id = $1 AND r.name = 'admin'",
                organisation_id,
            )
            if admins == 0:
                raise LastAdmin
        return True

    async def permission_names(self) -> set[str]:
        """Every permission that exists."""
        return {r["name"] for r in await self._pool.fetch("SELECT name FROM permissions")}

    async def create_api_key(
        self,
        organisation_id: UUID,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: list[str],
        created_by: UUID | None,
        expires_at: datetime | None,
    ) -> asyncpg.Record:
        """Store a new key (its hash only)."""
        row: asyncpg.Record = await self._pool.fetchrow(
            "INSERT INTO api_keys (organisation_id, name, key_prefix, key_hash, scopes, created_by, "
            f"expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_KEY_COLUMNS}",
            organisation_id,
            name,
            prefix,
            key_hash,
            scopes,
            created_by,
            expires_at,
        )
        return row

    async def api_keys(self, organisation_id: UUID) -> list[asyncpg.Record]:
        """The organisation's keys, newest first (revoked ones too, marked)."""
        return list(
            await self._pool.fetch(
                f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE organisation_id = $1 "
                "ORDER BY created_at DESC",
                organisation_id,
            )
        )

    async def revoke_api_key(self, organisation_id: UUID, key_id: UUID) -> asyncpg.Record | None:
        """Revoke the key (idempotent); None if the organisation has no such key."""
        row: asyncpg.Record | None = await self._pool.fetchrow(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
            f"WHERE organisation_id = $1 AND id = $2 RETURNING {_KEY_COLUMNS}",
            organisation_id,
            key_id,
        )
        return row


# What a shop is to the API (ShopOut).
_SHOP_COLUMNS = "id, name, market, currency, time_zone"
_KEY_COLUMNS = (
    "id, name, key_prefix AS prefix, scopes, created_at, last_used_at, expires_at, revoked_at"
)


class MemberExists(Exception):
    """The address is already a member of the organisation."""

    def __init__(self, user_id: UUID) -> None:
        super().__init__(str(user_id))
        self.user_id = user_id


class LastAdmin(Exception):
    """The change would leave the organisation without an admin."""


class ShopExists(Exception):
    """A shop with that id is registered already (shop ids are the events', so unique)."""


def record_dict(record: asyncpg.Record) -> dict[str, Any]:
    """A record as a plain dict (for pydantic models)."""
    return dict(record.items())
