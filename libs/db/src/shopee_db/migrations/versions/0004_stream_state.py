"""Stream job state: distinct members per KPI bucket and event-time watermarks per shop and source.

Both are written in the same transaction as the KPI rows they affect, which is what keeps the
KPIs exact across restarts (see docs/metrics.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopee_db.ddl import NOW

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_members",
        sa.Column("granularity", sa.Text(), nullable=False),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("product_id", sa.Text(), nullable=False),
        sa.Column("kpi", sa.Text(), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("member", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("granularity", "shop_id", "product_id", "kpi", "bucket", "member"),
        sa.CheckConstraint(
            "granularity IN ('minute', 'hour', 'day')", name="kpi_members_granularity"
        ),
        comment="Members of distinct-count KPIs (visitors, conversations) per bucket; a member "
        "counts when its insert inserted a row. Pruned once buckets are past the late grace.",
    )
    op.create_index("kpi_members_bucket", "kpi_members", ["bucket"])
    op.create_table(
        "stream_watermarks",
        sa.Column("shop_id", sa.Text(), primary_key=True),
        sa.Column(
            "source",
            sa.Text(),
            primary_key=True,
            comment="the event payload kind (order, traffic, ...): each source keeps its own "
            "event-time progress, so a replay of one topic does not make another's events late",
        ),
        sa.Column(
            "watermark",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="newest event time counted for the shop and source",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=NOW,
            comment="wall-clock time of the last event counted",
        ),
    )


def downgrade() -> None:
    op.drop_table("stream_watermarks")
    op.drop_table("kpi_members")
