"""The hour and day rollups are tables kept by the stream job on the TimescaleDB path too.

Revision 0002 used to make `kpi_hour` and `kpi_day` views over a continuous aggregate of
`kpi_minute` there. The job writes its hour and day rows itself (a sum of minute rows cannot count
distinct visitors, and per-product rows exist per hour and day only), and its first write to a view
failed, so such a database holds no KPI rows. This revision replaces the views with the job's
tables, as hypertables with their compression policies. A database whose rollups are already
tables (every one migrated since, on either path) is left as it is.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import context, op
from sqlalchemy import text

from shopee_db import timescale
from shopee_db.ddl import create_rollup_tables
from shopee_db.migrator import migration_options

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_AGGREGATE = "kpi_hour_utc"


def _rollups_are_views() -> bool:
    if context.is_offline_mode():
        # An offline script is a fresh install, whose revision 0002 already made tables.
        return False
    kind = op.get_bind().execute(
        text("SELECT relkind FROM pg_class WHERE oid = 'kpi_hour'::regclass")
    )
    return kind.scalar() == "v"


def upgrade() -> None:
    if _rollups_are_views():
        op.execute("DROP VIEW kpi_day")
        op.execute("DROP VIEW kpi_hour")
        op.execute(f"DROP MATERIALIZED VIEW IF EXISTS {_OLD_AGGREGATE}")
        create_rollup_tables(unique_local_date=False)
        for statement in timescale.hypertable_statements(
            migration_options().timescale, timescale.ROLLUP_TABLES
        ):
            op.execute(statement)
    op.execute("DELETE FROM platform_meta WHERE key = 'rollups'")


def downgrade() -> None:
    """Nothing to undo: the views it replaced never worked with the job."""
