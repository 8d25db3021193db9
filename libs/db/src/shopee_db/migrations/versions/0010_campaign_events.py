"""Campaign schedules kept beyond raw_events' retention.

The forecasts learn what a campaign does from the whole daily KPI history (kpi_day is kept
forever), and read the campaigns from their events. raw_events drops events after its retention
(400 days by default on TimescaleDB, an operator's DROP of old months on plain PostgreSQL), and
with them the campaigns of the older days, which then looked like days without a campaign: the
campaign regressors read 0 on past campaign days, and were fitted on days labelled wrongly.

`campaign_events` holds a copy of the campaign events that say when a campaign runs (PLANNED and
STARTED: what the forecasts and the anomaly detector read), written by a trigger on raw_events
(so every writer of raw_events, the stream job's COPY included, keeps it whole) and filled from
raw_events here. Those are few: in the demo's two years, about 3,500 of 2.1 million events. Ads
spend and ENDED events, nine in ten campaign events, stay in raw_events only.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEDULE_ACTION = (
    "{row}payload->>'action' IN ('CAMPAIGN_ACTION_PLANNED', 'CAMPAIGN_ACTION_STARTED')"
)


def upgrade() -> None:
    op.create_table(
        "campaign_events",
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False, comment="as in raw_events"),
        sa.PrimaryKeyConstraint("shop_id", "event_id"),
        comment="raw_events' PLANNED and STARTED campaign events, kept after its retention.",
    )
    op.create_index("campaign_events_shop_occurred", "campaign_events", ["shop_id", "occurred_at"])
    op.execute(
        """
        CREATE FUNCTION keep_campaign_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO campaign_events (shop_id, event_id, occurred_at, payload)
            VALUES (NEW.shop_id, NEW.event_id, NEW.occurred_at, NEW.payload)
            ON CONFLICT DO NOTHING;
            RETURN NULL;
        END
        $$
        """
    )
    # On a hypertable or a partitioned table alike, the trigger reaches every chunk or partition.
    op.execute(
        "CREATE TRIGGER raw_events_keep_campaigns AFTER INSERT ON raw_events FOR EACH ROW "
        f"WHEN (NEW.kind = 'campaign' AND {SCHEDULE_ACTION.format(row='NEW.')}) "
        "EXECUTE FUNCTION keep_campaign_event()"
    )
    op.execute(
        "INSERT INTO campaign_events (shop_id, event_id, occurred_at, payload) "
        "SELECT shop_id, event_id, occurred_at, payload FROM raw_events "
        f"WHERE kind = 'campaign' AND {SCHEDULE_ACTION.format(row='')} ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER raw_events_keep_campaigns ON raw_events")
    op.execute("DROP FUNCTION keep_campaign_event()")
    op.drop_table("campaign_events")
