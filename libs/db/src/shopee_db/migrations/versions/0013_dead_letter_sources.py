"""One row of `dead_letters` per refused source record.

The stream job now writes `dead_letters` (the DLQ's mirror, which the gateway answers a seller's
from). A worker killed after sending a batch's dead letters and before committing its offsets
sends them again when the batch is read again, at new places in the DLQ: unique by DLQ place
alone, the mirror would list the same refused record twice. Its source record is what it is.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows a replay wrote twice before this (none: nothing wrote the table), the first kept.
    op.execute(
        "DELETE FROM dead_letters d USING dead_letters e "
        "WHERE d.source_topic = e.source_topic AND d.source_partition = e.source_partition "
        "AND d.source_offset = e.source_offset AND d.id > e.id"
    )
    op.create_index(
        "dead_letters_source",
        "dead_letters",
        ["source_topic", "source_partition", "source_offset"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("dead_letters_source", table_name="dead_letters")
