"""Anomaly detection state: how far each shop's closed hours have been judged, and what the
detector must remember across restarts (learned calendar lifts, the open anomaly, data gaps);
anomalies keep their expected values and are updated as they grow.

Written by the stream job's detection timer after each run (see docs/metrics.md, "Anomaly
detection"); the recent hours themselves are read back from kpi_hour.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shopee_db.ddl import NOW

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "anomaly_detector_state",
        sa.Column("shop_id", sa.Text(), primary_key=True),
        sa.Column(
            "judged_until",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="end of the newest hour bucket judged (hours before it are never re-judged)",
        ),
        sa.Column(
            "state",
            postgresql.JSONB(),
            nullable=False,
            server_default="{}",
            comment="the detector's memory: learned calendar lifts, open anomaly, data gaps",
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        comment="Per shop: progress and memory of the stream job's anomaly detection.",
    )
    op.add_column(
        "anomalies",
        sa.Column(
            "expected",
            postgresql.JSONB(),
            comment="expected value per KPI (observed and the expected range are beside it)",
        ),
    )
    op.add_column(
        "anomalies",
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=NOW,
            comment="an anomaly is re-reported, same id, while the hours after it stay anomalous",
        ),
    )


def downgrade() -> None:
    op.drop_column("anomalies", "updated_at")
    op.drop_column("anomalies", "expected")
    op.drop_table("anomaly_detector_state")
