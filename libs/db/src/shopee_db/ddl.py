"""Column and trigger helpers shared by the migration scripts."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

NOW = sa.text("now()")

TOUCH_FUNCTION = """
CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$
"""


def uuid_pk() -> sa.Column[object]:
    """A UUID primary key the database fills in (gen_random_uuid is built in since PG 13)."""
    return sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()"))


def created_at() -> sa.Column[object]:
    """When the row was inserted."""
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW)


def updated_at() -> sa.Column[object]:
    """When the row last changed (kept by the `touch_updated_at` trigger; see `touch`)."""
    return sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW)


def organisation_fk(nullable: bool = False) -> sa.Column[object]:
    """The owning organisation; its rows go when it does."""
    return sa.Column(
        "organisation_id",
        sa.Uuid(),
        sa.ForeignKey("organisations.id", ondelete="CASCADE"),
        nullable=nullable,
    )


def touch(table: str) -> None:
    """Keep `table.updated_at` current on every UPDATE."""
    op.execute(
        f"CREATE TRIGGER {table}_touch_updated_at BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION touch_updated_at()"
    )
