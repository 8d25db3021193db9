"""Narrow distinct-member rows: `kpi_members` keyed by a 16-byte key of the member in its bucket,
with what pruning needs (shop, source, bucket end) instead of six text columns.

The key, a `uuid`, is the bucket start's epoch minute (4 bytes) then the first 12 bytes of
SHA-256 over the NUL-joined granularity, shop, product, KPI, bucket start (whole epoch seconds)
and member (the stream job's `shopee_metrics.domain.members.member_key`). Upgrade converts the
rows it finds in SQL, so a live deployment keeps counting exactly across it. Downgrade cannot
turn keys back into members: it rebuilds the 0006 rows from `raw_events` (the counted events of
each shop and source since a day before its oldest member row still kept), which holds them when
the job stores raw events (its default).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The source (payload kind) whose events bring each distinct-count KPI's members.
SOURCES = {"unique_visitors": "traffic", "chat_conversations": "chat"}
_NUL = "'\\x00'::bytea"
_KEY = (
    "(lpad(to_hex(extract(epoch FROM m.bucket)::bigint / 60), 8, '0') || "
    "substring(encode(sha256("
    + f" || {_NUL} || ".join(
        f"convert_to({column}, 'UTF8')"
        for column in (
            "m.granularity",
            "m.shop_id",
            "m.product_id",
            "m.kpi",
            "extract(epoch FROM m.bucket)::bigint::text",
            "m.member",
        )
    )
    + "), 'hex') FROM 1 FOR 24))::uuid"
)
_SOURCE = "CASE m.kpi " + " ".join(f"WHEN '{k}' THEN '{s}'" for k, s in SOURCES.items()) + " END"
# A local day is 23 to 25 hours long: 25 never ends a converted row's bucket too early.
CONVERT = f"""
INSERT INTO kpi_members (key, shop_id, source, bucket_end)
SELECT {_KEY}, m.shop_id, {_SOURCE},
       m.bucket + CASE m.granularity WHEN 'minute' THEN interval '1 minute'
                                     WHEN 'hour' THEN interval '1 hour'
                                     ELSE interval '25 hours' END
FROM kpi_members_0006 m
WHERE m.kpi IN ({", ".join(f"'{k}'" for k in SOURCES)})
ON CONFLICT DO NOTHING
"""

# The members of the counted (not late) events, as the 0006 job recorded them: shop members per
# minute, hour and day, product members per hour and day, buckets in the event's own zone.
REBUILD = """
WITH kept AS (
    SELECT shop_id, source, min(bucket_end) - interval '25 hours' AS since
    FROM kpi_members_0007 GROUP BY shop_id, source
), events AS (
    SELECT r.shop_id, r.occurred_at, r.time_zone AS zone, r.kind, r.payload
    FROM raw_events r JOIN kept k ON k.shop_id = r.shop_id AND k.source = r.kind
    WHERE r.occurred_at >= k.since
      AND NOT EXISTS (
          SELECT 1 FROM late_events l WHERE l.shop_id = r.shop_id AND l.event_id = r.event_id)
), members AS (
    SELECT shop_id, occurred_at, zone, '' AS product_id, 'unique_visitors' AS kpi,
           coalesce(payload->>'visitor_id', '') AS member
    FROM events WHERE kind = 'traffic'
    UNION ALL
    SELECT shop_id, occurred_at, zone, payload->>'product_id', 'unique_visitors',
           coalesce(payload->>'visitor_id', '')
    FROM events WHERE kind = 'traffic' AND coalesce(payload->>'product_id', '') <> ''
    UNION ALL
    SELECT shop_id, occurred_at, zone, '', 'chat_conversations',
           coalesce(payload->>'conversation_id', '')
    FROM events
    WHERE kind = 'chat' AND payload->>'sender' = 'CHAT_SENDER_BUYER'
      AND coalesce(payload->>'kind', '') <> 'CHAT_KIND_CSAT'
)
INSERT INTO kpi_members (granularity, shop_id, product_id, kpi, bucket, member)
SELECT 'minute', shop_id, product_id, kpi,
       date_trunc('minute', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', member
FROM members WHERE product_id = ''
UNION ALL
SELECT 'hour', shop_id, product_id, kpi,
       date_trunc('hour', occurred_at AT TIME ZONE zone) AT TIME ZONE zone, member
FROM members
UNION ALL
SELECT 'day', shop_id, product_id, kpi,
       date_trunc('day', occurred_at AT TIME ZONE zone) AT TIME ZONE zone, member
FROM members
ON CONFLICT DO NOTHING
"""


def _create_keyed_table() -> None:
    op.create_table(
        "kpi_members",
        sa.Column(
            "key",
            sa.Uuid(),
            primary_key=True,
            comment="bucket start's epoch minute (4 bytes), then the first 96 bits of SHA-256 of "
            "granularity, shop, product, KPI, bucket start (epoch seconds) and member, NUL-joined",
        ),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column(
            "source",
            sa.Text(),
            nullable=False,
            comment="the payload kind whose events bring the KPI's members (stream_watermarks)",
        ),
        sa.Column("bucket_end", sa.DateTime(timezone=True), nullable=False),
        comment="Members of distinct-count KPIs (visitors, conversations) per bucket; a member "
        "counts when its insert inserted a row. Pruned by the stream job once the bucket ends "
        "more than the late grace behind the watermark of its shop and source.",
    )
    op.create_index("kpi_members_prune", "kpi_members", ["shop_id", "source", "bucket_end"])


def _create_wide_table() -> None:
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


def upgrade() -> None:
    op.drop_index("kpi_members_bucket", table_name="kpi_members")
    op.rename_table("kpi_members", "kpi_members_0006")
    op.execute(
        "ALTER TABLE kpi_members_0006 RENAME CONSTRAINT kpi_members_pkey TO kpi_members_0006_pkey"
    )
    _create_keyed_table()
    op.execute(CONVERT)
    op.drop_table("kpi_members_0006")


def downgrade() -> None:
    op.drop_index("kpi_members_prune", table_name="kpi_members")
    op.rename_table("kpi_members", "kpi_members_0007")
    op.execute(
        "ALTER TABLE kpi_members_0007 RENAME CONSTRAINT kpi_members_pkey TO kpi_members_0007_pkey"
    )
    _create_wide_table()
    op.execute(REBUILD)
    op.drop_table("kpi_members_0007")
