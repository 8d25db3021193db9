"""Checkpoints of the stream job's anomaly detectors.

A started job resumes each shop's detector from its checkpoint instead of replaying twelve weeks
of hours (about a second of CPU a shop).

Written by the job's detection timer about once a day per shop (see docs/metrics.md,
"Restarts, replays, several workers"); a checkpoint of other detector code is ignored.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopee_db.ddl import NOW

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "anomaly_detector_checkpoints",
        sa.Column("shop_id", sa.Text(), primary_key=True),
        sa.Column(
            "judged_until",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="end of the hours the pictured detector had judged",
        ),
        sa.Column(
            "code_version",
            sa.Text(),
            nullable=False,
            comment="fingerprint of the detector code and settings that wrote it",
        ),
        sa.Column(
            "detector",
            sa.LargeBinary(),
            nullable=False,
            comment="the shop's detector and product watch, pickled and zlib-compressed",
        ),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        comment="Per shop: a recent checkpoint of the stream job's anomaly detector.",
    )
    # Already compressed: PostgreSQL's own TOAST compression would only spend CPU on it.
    op.execute(
        "ALTER TABLE anomaly_detector_checkpoints ALTER COLUMN detector SET STORAGE EXTERNAL"
    )


def downgrade() -> None:
    op.drop_table("anomaly_detector_checkpoints")
