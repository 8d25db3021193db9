"""Forecast training jobs: background retraining started by the Retrain rpc or the schedule, so
GetTrainingJob answers from any replica and after a restart.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shopee_db.ddl import NOW

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_training_jobs",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("shop_id", sa.Text(), nullable=True, comment="NULL = every shop"),
        sa.Column(
            "targets",
            postgresql.ARRAY(sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'::text[]"),
            comment="empty = every target, churn included",
        ),
        sa.Column("trigger", sa.Text(), nullable=False, comment="rpc or schedule"),
        sa.Column("state", sa.Text(), nullable=False, server_default="queued"),
        sa.Column("series_done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("series_total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'succeeded', 'failed')",
            name="forecast_training_jobs_state",
        ),
        sa.CheckConstraint(
            "series_done >= 0 AND series_done <= series_total",
            name="forecast_training_jobs_progress",
        ),
    )
    op.create_index(
        "forecast_training_jobs_created", "forecast_training_jobs", [sa.text("created_at DESC")]
    )


def downgrade() -> None:
    op.drop_table("forecast_training_jobs")
