"""Identity queries: credentials, memberships and the principal behind a user or an API key."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from shopee_gateway.security.principal import Principal

API_KEY_ROLE = "apikey"

_USER_PRINCIPAL = """
SELECT r.name AS role,
       ARRAY(SELECT p.name FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id
             WHERE rp.role_id = m.role_id) AS permissions,
       ARRAY(SELECT s.id FROM shops s WHERE s.organisation_id = m.organisation_id) AS shop_ids
FROM organisation_memberships m
JOIN users u ON u.id = m.user_id AND u.is_active
JOIN roles r ON r.id = m.role_id
WHERE m.user_id = $1 AND m.organisation_id = $2
"""

# Scopes are intersected with the permissions that exist, so a stale scope grants nothing.
_KEY_PRINCIPAL = """
UPDATE api_keys k SET last_used_at = now()
WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
RETURNING k.key_prefix, k.organisation_id,
       ARRAY(SELECT p.name FROM permissions p WHERE p.name = ANY(k.scopes)) AS permissions,
       ARRAY(SELECT s.id FROM shops s WHERE s.organisation_id = k.organisation_id) AS shop_ids
"""


@dataclass(frozen=True)
class Credentials:
    user_id: UUID
    password_hash: str
    is_active: bool


@dataclass(frozen=True)
class Membership:
    organisation_id: UUID
    slug: str
    name: str
    role: str


class AccountsRepository:
    """Reads users, memberships and API keys; resolves principals."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def user_principal(self, user_id: UUID, organisation_id: UUID) -> Principal | None:
        """The active user's principal in the organisation, or None if not (or no longer) a member."""
        row = await self._pool.fetchrow(_USER_PRINCIPAL, user_id, organisation_id)
        if row is None:
            return None
        return Principal(
            subject=str(user_id),
            organisation_id=organisation_id,
            role=row["role"],
            permissions=frozenset(row["permissions"]),
            shop_ids=frozenset(row["shop_ids"]),
        )

    async def api_key_principal(self, key_hash: str) -> Principal | None:
        """The principal of a live (unrevoked, unexpired) key with this SHA-256, else None."""
        row = await self._pool.fetchrow(_KEY_PRINCIPAL, key_hash)
        if row is None:
            return None
        return Principal(
            subject=f"apikey:{row['key_prefix']}",
            organisation_id=row["organisation_id"],
            role=API_KEY_ROLE,
            permissions=frozenset(row["permissions"]),
            shop_ids=frozenset(row["shop_ids"]),
        )

    async def credentials(self, email: str) -> Credentials | None:
        """The stored password hash of the user with this e-mail (any case)."""
        row = await self._pool.fetchrow(
            "SELECT id, password_hash, is_active FROM users WHERE lower(email) = lower($1)", email
        )
        if row is None:
            return None
        return Credentials(row["id"], row["password_hash"], row["is_active"])

    async def memberships(self, user_id: UUID) -> list[Membership]:
        """The user's organisations and role in each, oldest membership first."""
        rows = await self._pool.fetch(
            "SELECT o.id, o.slug, o.name, r.name AS role FROM organisation_memberships m "
            "JOIN organisations o ON o.id = m.organisation_id JOIN roles r ON r.id = m.role_id "
            "WHERE m.user_id = $1 ORDER BY m.created_at, o.slug",
            user_id,
        )
        return [Membership(r["id"], r["slug"], r["name"], r["role"]) for r in rows]

    async def record_login(self, user_id: UUID, new_password_hash: str | None) -> None:
        """Stamp last_login_at, and store a re-hashed password when the parameters moved on."""
        await self._pool.execute(
            "UPDATE users SET last_login_at = now(), "
            "password_hash = coalesce($2, password_hash) WHERE id = $1",
            user_id,
            new_password_hash,
        )

    async def set_password(self, user_id: UUID, password_hash: str) -> None:
        """Replace the user's password hash and activate the account."""
        await self._pool.execute(
            "UPDATE users SET password_hash = $2, is_active = true WHERE id = $1",
            user_id,
            password_hash,
        )
