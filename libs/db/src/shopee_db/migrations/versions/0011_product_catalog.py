"""Each product's latest catalogue state kept beyond raw_events' retention.

A product's catalogue state (name, category, price, cost, stock, status) is its latest catalog
event. raw_events drops events after its retention (400 days by default on TimescaleDB, an
operator's DROP of old months on plain PostgreSQL), and a product whose catalogue did not change
in that time lost its state: the forecasts' inventory advice no longer knew its stock, and the
insights lost it, or took it for a product seen only in orders (cost 0, unknown category).

`product_catalog` holds the latest catalog event of each (shop, product), kept up to date by a
trigger on raw_events (so every writer of raw_events, the stream job's COPY included, keeps it
whole) and filled from raw_events here. Events arrive out of order and are replayed, so an event
replaces the kept one only when it is later by (occurred_at, event_id): the result does not
depend on the order of arrival. Every writer of raw_events stores the payload with proto field
names (`product_id`; the camelCase `productId` is only in the generator's files); an event
without a product id names no product and is not kept.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMES_A_PRODUCT = "{row}kind = 'catalog' AND {row}payload->>'product_id' <> ''"


def upgrade() -> None:
    op.create_table(
        "product_catalog",
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("product_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False, comment="as in raw_events"),
        sa.PrimaryKeyConstraint("shop_id", "product_id"),
        comment="Each product's latest catalog event of raw_events, kept after its retention.",
    )
    # The insights read the products changed since a model's catalogue snapshot.
    op.create_index("product_catalog_shop_occurred", "product_catalog", ["shop_id", "occurred_at"])
    op.execute(
        """
        CREATE FUNCTION keep_latest_catalog_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO product_catalog AS kept
                (shop_id, product_id, event_id, occurred_at, payload)
            VALUES (NEW.shop_id, NEW.payload->>'product_id', NEW.event_id, NEW.occurred_at,
                    NEW.payload)
            ON CONFLICT (shop_id, product_id) DO UPDATE
            SET event_id = EXCLUDED.event_id, occurred_at = EXCLUDED.occurred_at,
                payload = EXCLUDED.payload
            WHERE (EXCLUDED.occurred_at, EXCLUDED.event_id) > (kept.occurred_at, kept.event_id);
            RETURN NULL;
        END
        $$
        """
    )
    # On a hypertable or a partitioned table alike, a row trigger reaches every chunk or partition.
    # (A statement trigger could upsert a whole COPY from its transition table, but hypertables
    # take transition tables only from TimescaleDB 2.18.)
    op.execute(
        "CREATE TRIGGER raw_events_keep_catalog AFTER INSERT ON raw_events FOR EACH ROW "
        f"WHEN ({NAMES_A_PRODUCT.format(row='NEW.')}) "
        "EXECUTE FUNCTION keep_latest_catalog_event()"
    )
    op.execute(
        "INSERT INTO product_catalog (shop_id, product_id, event_id, occurred_at, payload) "
        "SELECT DISTINCT ON (shop_id, payload->>'product_id') "
        "shop_id, payload->>'product_id', event_id, occurred_at, payload FROM raw_events "
        f"WHERE {NAMES_A_PRODUCT.format(row='')} "
        "ORDER BY shop_id, payload->>'product_id', occurred_at DESC, event_id DESC"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER raw_events_keep_catalog ON raw_events")
    op.execute("DROP FUNCTION keep_latest_catalog_event()")
    op.drop_table("product_catalog")
