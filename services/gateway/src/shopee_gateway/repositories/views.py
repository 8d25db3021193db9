"""Saved views: named KPI queries, private to their owner or shared with the organisation."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

_COLUMNS = "id, name, query, shared, owner_id, created_at, updated_at"
# What the caller may read: the organisation's shared views and their own.
_VISIBLE = "organisation_id = $1 AND (shared OR owner_id = $2)"
# What the caller may change: their own, or any of the organisation's if they manage users.
_WRITABLE = "organisation_id = $1 AND (owner_id = $2 OR $3)"


class ViewExists(Exception):
    """The organisation already has a view of that name."""


class ViewsRepository:
    """Every statement is limited to the caller's organisation."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def visible(self, organisation_id: UUID, user_id: UUID | None) -> list[asyncpg.Record]:
        """The views the caller can read, by name."""
        return list(
            await self._pool.fetch(
                f"SELECT {_COLUMNS} FROM saved_views WHERE {_VISIBLE} ORDER BY name",
                organisation_id,
                user_id,
            )
        )

    async def get(
        self, organisation_id: UUID, user_id: UUID | None, view_id: UUID
    ) -> asyncpg.Record | None:
        """One view the caller can read, else None."""
        row: asyncpg.Record | None = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM saved_views WHERE {_VISIBLE} AND id = $3",
            organisation_id,
            user_id,
            view_id,
        )
        return row

    async def create(
        self,
        organisation_id: UUID,
        owner_id: UUID | None,
        name: str,
        query: dict[str, Any],
        shared: bool,
    ) -> asyncpg.Record:
        """Save a view; ViewExists if the name is taken in the organisation."""
        try:
            row: asyncpg.Record = await self._pool.fetchrow(
                "INSERT INTO saved_views (organisation_id, owner_id, name, query, shared) "
                f"VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}",
                organisation_id,
                owner_id,
                name,
                query,
                shared,
            )
        except asyncpg.UniqueViolationError as exc:
            raise ViewExists(name) from exc
        return row

    async def update(
        self,
        organisation_id: UUID,
        user_id: UUID | None,
        is_admin: bool,
        view_id: UUID,
        name: str,
        query: dict[str, Any],
        shared: bool,
    ) -> asyncpg.Record | None:
        """Replace a view the caller may change; None if there is none."""
        try:
            row: asyncpg.Record | None = await self._pool.fetchrow(
                f"UPDATE saved_views SET name = $5, query = $6, shared = $7 WHERE {_WRITABLE} "
                f"AND id = $4 RETURNING {_COLUMNS}",
                organisation_id,
                user_id,
                is_admin,
                view_id,
                name,
                query,
                shared,
            )
        except asyncpg.UniqueViolationError as exc:
            raise ViewExists(name) from exc
        return row

    async def delete(
        self, organisation_id: UUID, user_id: UUID | None, is_admin: bool, view_id: UUID
    ) -> bool:
        """Delete a view the caller may change; False if there is none."""
        deleted = await self._pool.fetchval(
            f"DELETE FROM saved_views WHERE {_WRITABLE} AND id = $4 RETURNING id",
            organisation_id,
            user_id,
            is_admin,
            view_id,
        )
        return deleted is not None
