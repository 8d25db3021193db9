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


def kpi_columns(local_column: sa.Column[object] | None) -> list[sa.schema.SchemaItem]:
    """The shape of every KPI table: the series key, the bucket, the value and its exact parts."""
    columns: list[sa.schema.SchemaItem] = [
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column(
            "product_id", sa.Text(), nullable=False, server_default="", comment="'' = whole shop"
        ),
        sa.Column("kpi", sa.Text(), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
    ]
    if local_column is not None:
        columns.append(local_column)
    return [
        *columns,
        sa.Column(
            "value",
            sa.Double(),
            comment="numerator when denominator is NULL, else numerator / denominator",
        ),
        sa.Column("numerator", sa.Numeric(), nullable=False, comment="additive part: a sum"),
        sa.Column("denominator", sa.Numeric(), comment="additive part of a ratio; NULL for sums"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("shop_id", "product_id", "kpi", "bucket"),
        sa.CheckConstraint("denominator IS NULL OR denominator >= 0", name="kpi_denominator_sign"),
        # NULL only when the ratio is undefined (nothing to divide by yet).
        sa.CheckConstraint(
            "value IS NOT NULL OR (denominator IS NOT NULL AND denominator = 0)",
            name="kpi_value_defined",
        ),
    ]


def create_rollup_tables(unique_local_date: bool) -> None:
    """`kpi_hour` and `kpi_day`, in each shop's zone, kept by the stream job. `unique_local_date`
    guards one day row per local date; a hypertable cannot have it (its unique indexes must hold
    the time column)."""
    op.create_table(
        "kpi_hour",
        *kpi_columns(sa.Column("local_hour", sa.DateTime(timezone=False), nullable=False)),
        comment="Hour buckets in the shop's zone, kept by the stream job.",
    )
    op.create_index("kpi_hour_shop_kpi_bucket", "kpi_hour", ["shop_id", "kpi", "bucket"])
    op.create_table(
        "kpi_day",
        *kpi_columns(sa.Column("local_date", sa.Date(), nullable=False)),
        comment="Days in the shop's zone (bucket = local midnight), kept by the stream job.",
    )
    op.create_index("kpi_day_shop_kpi_bucket", "kpi_day", ["shop_id", "kpi", "bucket"])
    if unique_local_date:
        op.create_index(
            "kpi_day_local_date",
            "kpi_day",
            ["shop_id", "product_id", "kpi", "local_date"],
            unique=True,
        )
