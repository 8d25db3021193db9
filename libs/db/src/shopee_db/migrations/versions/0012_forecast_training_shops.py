"""The shops of each training job, so that several replicas share a job's work.

A job used to train its shops on the one replica that started it: the schedule's nightly
retrain of every shop ran on one replica (about 0.7 s a series on 2 cores, so hours for a big
platform) whatever the number of replicas, and a replica that stopped mid-job lost the whole
night's work. Now each shop of a job is a row here; replicas take the next shop under an owner
lock (jobs.py), train it and mark it done, and a shop whose replica died is taken again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_training_shops",
        sa.Column(
            "job_id",
            sa.Uuid(),
            sa.ForeignKey("forecast_training_jobs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False, server_default="queued"),
        sa.Column("series_done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column(
            "series_total",
            sa.Integer(),
            nullable=False,
            server_default="0",
            comment="planned when the job starts, recounted when the shop's training starts",
        ),
        sa.Column(
            "skipped",
            postgresql.ARRAY(sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'::text[]"),
            comment="'model: reason' of each series skipped for too little history",
        ),
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
        sa.Column("replica", sa.Text(), nullable=False, server_default="", comment="host:pid"),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("job_id", "shop_id"),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'succeeded', 'failed')",
            name="forecast_training_shops_state",
        ),
        sa.CheckConstraint(
            "series_done >= 0 AND series_done <= series_total",
            name="forecast_training_shops_progress",
        ),
        comment="Each shop of a training job: replicas take the queued ones one at a time.",
    )


def downgrade() -> None:
    op.drop_table("forecast_training_shops")
