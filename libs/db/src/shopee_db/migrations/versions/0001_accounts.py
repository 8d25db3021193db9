"""Accounts and tenancy: organisations, users, roles and permissions, shops, API keys.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shopee_db.ddl import TOUCH_FUNCTION, created_at, organisation_fk, touch, updated_at, uuid_pk

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERMISSIONS = {
    "kpis:read": "Read KPI series and live KPI streams",
    "exports:create": "Export KPI and event data",
    "alerts:manage": "Create, change and silence alert rules",
    "reports:manage": "Create and schedule reports",
    "users:manage": "Invite users and change their roles",
    "shops:manage": "Register shops and API keys",
    "insights:read": "Read segments, recommendations and optimisations",
    "forecasts:read": "Read forecasts",
}
ROLES = {
    "admin": ("Everything in the organisation", sorted(PERMISSIONS)),
    "analyst": (
        "Reads everything, manages alerts, reports and exports",
        [
            "kpis:read",
            "exports:create",
            "alerts:manage",
            "reports:manage",
            "insights:read",
            "forecasts:read",
        ],
    ),
    "viewer": (
        "Reads KPIs, insights and forecasts",
        ["kpis:read", "insights:read", "forecasts:read"],
    ),
}


def upgrade() -> None:
    op.execute(TOUCH_FUNCTION)
    op.create_table(
        "platform_meta",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        updated_at(),
        comment="Facts about this installation, e.g. the storage path chosen at migration time.",
    )
    op.create_table(
        "organisations",
        uuid_pk(),
        sa.Column("slug", sa.Text(), nullable=False, unique=True),
        sa.Column("name", sa.Text(), nullable=False),
        created_at(),
        updated_at(),
        sa.CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'", name="organisations_slug_format"),
    )
    op.create_table(
        "users",
        uuid_pk(),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False, server_default=""),
        sa.Column("password_hash", sa.Text(), nullable=False, comment="argon2id PHC string"),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        created_at(),
        updated_at(),
        sa.CheckConstraint("email ~ '^[^@\\s]+@[^@\\s]+$'", name="users_email_format"),
        sa.CheckConstraint("password_hash LIKE '$argon2%'", name="users_password_hash_argon2"),
    )
    # Emails are unique regardless of case: Admin@x and admin@x are one person.
    op.create_index("users_email_key", "users", [sa.text("lower(email)")], unique=True)
    op.create_table(
        "roles",
        sa.Column("id", sa.SmallInteger(), sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=False),
    )
    op.create_table(
        "permissions",
        sa.Column("id", sa.SmallInteger(), sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.CheckConstraint("name ~ '^[a-z_]+:[a-z_]+$'", name="permissions_name_format"),
    )
    op.create_table(
        "role_permissions",
        sa.Column("role_id", sa.SmallInteger(), sa.ForeignKey("roles.id", ondelete="CASCADE")),
        sa.Column(
            "permission_id", sa.SmallInteger(), sa.ForeignKey("permissions.id", ondelete="CASCADE")
        ),
        sa.PrimaryKeyConstraint("role_id", "permission_id"),
    )
    op.create_table(
        "organisation_memberships",
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE")),
        organisation_fk(),
        sa.Column("role_id", sa.SmallInteger(), sa.ForeignKey("roles.id"), nullable=False),
        created_at(),
        sa.PrimaryKeyConstraint("user_id", "organisation_id"),
        comment="A user's role in one organisation (a user may belong to several).",
    )
    op.create_index(
        "organisation_memberships_organisation", "organisation_memberships", ["organisation_id"]
    )
    op.create_table(
        "shops",
        sa.Column("id", sa.Text(), primary_key=True, comment="The shop_id carried by events"),
        sa.Column(
            "organisation_id",
            sa.Uuid(),
            sa.ForeignKey("organisations.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("market", sa.CHAR(2), nullable=False, comment="ISO 3166-1 alpha-2, e.g. SG"),
        sa.Column("currency", sa.CHAR(3), nullable=False, comment="ISO 4217, e.g. SGD"),
        sa.Column("time_zone", sa.Text(), nullable=False, comment="IANA zone of the shop's day"),
        created_at(),
        updated_at(),
        sa.CheckConstraint("id ~ '^[A-Za-z0-9._:-]{1,128}$'", name="shops_id_format"),
        sa.CheckConstraint("market ~ '^[A-Z]{2}$'", name="shops_market_format"),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="shops_currency_format"),
        # An unknown zone makes AT TIME ZONE raise, so a typo never reaches the rollups.
        sa.CheckConstraint(
            "(TIMESTAMP '2000-01-01' AT TIME ZONE time_zone) IS NOT NULL",
            name="shops_time_zone_known",
        ),
    )
    op.create_index("shops_organisation", "shops", ["organisation_id"])
    op.create_table(
        "api_keys",
        uuid_pk(),
        organisation_fk(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key_prefix", sa.Text(), nullable=False, unique=True),
        sa.Column("key_hash", sa.Text(), nullable=False, unique=True, comment="sha256 hex"),
        sa.Column(
            "scopes",
            postgresql.ARRAY(sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'::text[]"),
        ),
        sa.Column("created_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        created_at(),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("key_hash ~ '^[0-9a-f]{64}$'", name="api_keys_hash_is_sha256"),
        sa.CheckConstraint("key_prefix ~ '^[a-z0-9]{8,16}$'", name="api_keys_prefix_format"),
        sa.CheckConstraint("expires_at IS NULL OR expires_at > created_at", name="api_keys_expiry"),
        comment="Machine credentials. Only the SHA-256 of a key is kept, never the key.",
    )
    op.create_index("api_keys_organisation", "api_keys", ["organisation_id"])
    for table in ("platform_meta", "organisations", "users", "shops"):
        touch(table)
    _seed_reference_data()


def _seed_reference_data() -> None:
    permissions = sa.table(
        "permissions", sa.column("name", sa.Text()), sa.column("description", sa.Text())
    )
    roles = sa.table("roles", sa.column("name", sa.Text()), sa.column("description", sa.Text()))
    op.bulk_insert(
        permissions, [{"name": name, "description": text} for name, text in PERMISSIONS.items()]
    )
    op.bulk_insert(
        roles, [{"name": name, "description": text} for name, (text, _) in ROLES.items()]
    )
    for role, (_, granted) in ROLES.items():
        names = ", ".join(f"'{name}'" for name in granted)
        op.execute(
            "INSERT INTO role_permissions (role_id, permission_id) "
            f"SELECT r.id, p.id FROM roles r, permissions p "
            f"WHERE r.name = '{role}' AND p.name IN ({names})"
        )


def downgrade() -> None:
    for table in (
        "api_keys",
        "shops",
        "organisation_memberships",
        "role_permissions",
        "permissions",
        "roles",
        "users",
        "organisations",
        "platform_meta",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION touch_updated_at()")
