"""Event and KPI storage: raw events, dedup ids, KPI series, late events, anomalies, offsets.

The storage path is chosen here (see shopee_db.storage): TimescaleDB hypertables, or monthly
range partitions. On both, the hour and day rollups are tables kept by the stream job.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from shopee_db import partitions, timescale
from shopee_db.ddl import NOW, create_rollup_tables, created_at, kpi_columns, updated_at
from shopee_db.migrator import migration_options
from shopee_db.storage import (
    STORAGE_PATH_KEY,
    TIMESCALEDB_VERSION_KEY,
    StoragePath,
    choose_storage_path,
    probe_timescaledb,
)

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEVERITIES = "('info', 'warning', 'critical')"


def _storage_path() -> StoragePath:
    requested = migration_options().storage
    if context.is_offline_mode():
        # No server to ask: the caller named the path (migrator.upgrade_sql insists on it).
        return StoragePath(requested)
    return choose_storage_path(requested, probe_timescaledb(op.get_bind()))


def _kafka_position() -> list[sa.Column[object]]:
    return [
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("kafka_partition", sa.Integer(), nullable=False),
        sa.Column("kafka_offset", sa.BigInteger(), nullable=False),
    ]


def _create_event_tables(path: StoragePath) -> None:
    partitioned = path is StoragePath.POSTGRES
    op.create_table(
        "raw_events",
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False, comment="the Event payload case, e.g. order"),
        sa.Column("payload", postgresql.JSONB(), nullable=False, comment="proto3 JSON of payload"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        *_kafka_position(),
        # The partition key must be part of the key; event_ids is what makes event_id unique.
        sa.PrimaryKeyConstraint("shop_id", "event_id", "occurred_at"),
        sa.CheckConstraint("kind ~ '^[a-z][a-z_]*$'", name="raw_events_kind_format"),
        postgresql_partition_by="RANGE (occurred_at)" if partitioned else None,
        comment="Every accepted event, once.",
    )
    op.create_index("raw_events_shop_occurred", "raw_events", ["shop_id", "occurred_at"])
    op.create_table(
        "event_ids",
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("shop_id", "event_id"),
        comment="Dedup: an event counts only if inserting its id here inserted a row.",
    )
    op.create_index("event_ids_first_seen", "event_ids", ["first_seen_at"])
    op.create_table(
        "kpi_minute",
        *kpi_columns(None),
        postgresql_partition_by="RANGE (bucket)" if partitioned else None,
    )
    create_rollup_tables(unique_local_date=partitioned)
    op.create_table(
        "late_events",
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        *_kafka_position(),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lateness_seconds", sa.Double(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("shop_id", "event_id"),
        sa.CheckConstraint("lateness_seconds >= 0", name="late_events_lateness_positive"),
    )
    op.create_index("late_events_shop_occurred", "late_events", ["shop_id", "occurred_at"])


def _create_stream_tables() -> None:
    op.create_table(
        "anomalies",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("product_id", sa.Text(), nullable=False, server_default=""),
        sa.Column("kpis", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bucket_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("observed", postgresql.JSONB(), nullable=False),
        sa.Column("expected_low", postgresql.JSONB()),
        sa.Column("expected_high", postgresql.JSONB()),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("detector", sa.Text(), nullable=False, server_default=""),
        sa.Column("explanation", sa.Text(), nullable=False, server_default=""),
        created_at(),
        sa.CheckConstraint("cardinality(kpis) > 0", name="anomalies_kpis_not_empty"),
        sa.CheckConstraint("bucket_end > bucket_start", name="anomalies_bucket_order"),
        sa.CheckConstraint(f"severity IN {SEVERITIES}", name="anomalies_severity"),
    )
    op.create_index("anomalies_shop_bucket", "anomalies", ["shop_id", sa.text("bucket_start DESC")])
    op.create_table(
        "data_incomplete",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lag_seconds", sa.Double(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        updated_at(),
        sa.CheckConstraint("lag_seconds >= 0", name="data_incomplete_lag_positive"),
        sa.CheckConstraint(
            "resolved_at IS NULL OR resolved_at >= since", name="data_incomplete_resolution"
        ),
        comment="Periods whose KPIs are known to be incomplete (consumer lag, missing source).",
    )
    op.create_index(
        "data_incomplete_open",
        "data_incomplete",
        ["shop_id"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "stream_offsets",
        sa.Column("consumer_group", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("kafka_partition", sa.Integer(), nullable=False),
        sa.Column(
            "committed_offset", sa.BigInteger(), nullable=False, comment="next offset to read"
        ),
        updated_at(),
        sa.PrimaryKeyConstraint("consumer_group", "topic", "kafka_partition"),
        sa.CheckConstraint("committed_offset >= 0", name="stream_offsets_offset_positive"),
        comment="Offsets committed in the same transaction as the results they produced.",
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("dlq_topic", sa.Text(), nullable=False),
        sa.Column("dlq_partition", sa.Integer(), nullable=False),
        sa.Column("dlq_offset", sa.BigInteger(), nullable=False),
        sa.Column("source_topic", sa.Text()),
        sa.Column("source_partition", sa.Integer()),
        sa.Column("source_offset", sa.BigInteger()),
        sa.Column("shop_id", sa.Text()),
        sa.Column("event_id", sa.Text()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("errors", postgresql.JSONB(), nullable=False, server_default="[]"),
        sa.Column("content_type", sa.Text()),
        sa.Column("payload", sa.LargeBinary(), nullable=False, comment="the record as received"),
        sa.Column("headers", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.UniqueConstraint("dlq_topic", "dlq_partition", "dlq_offset"),
        comment="A browsable mirror of the dead-letter topic.",
    )
    op.create_index("dead_letters_shop_failed", "dead_letters", ["shop_id", "failed_at"])
    op.create_index("dead_letters_failed", "dead_letters", ["failed_at"])


def _record(key: str, value_sql: str) -> None:
    op.execute(
        f"INSERT INTO platform_meta (key, value) SELECT '{key}', {value_sql} "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )


def upgrade() -> None:
    options = migration_options()
    path = _storage_path()
    _create_event_tables(path)
    _create_stream_tables()
    if path is StoragePath.TIMESCALEDB:
        for statement in timescale.upgrade_statements(options.timescale):
            op.execute(statement)
        _record(
            TIMESCALEDB_VERSION_KEY, "extversion FROM pg_extension WHERE extname = 'timescaledb'"
        )
    else:
        op.execute(partitions.ENSURE_PARTITIONS_FUNCTION)
        for table in partitions.PARTITIONED_TABLES:
            op.execute(partitions.default_partition_statement(table))
            op.execute(
                partitions.initial_partitions_statement(
                    table, options.partition_months_back, options.partition_months_ahead
                )
            )
    _record(STORAGE_PATH_KEY, f"'{path.value}'")


def downgrade() -> None:
    op.drop_table("kpi_day")
    op.drop_table("kpi_hour")
    op.execute(partitions.DROP_ENSURE_PARTITIONS_FUNCTION)
    for table in (
        "dead_letters",
        "stream_offsets",
        "data_incomplete",
        "anomalies",
        "late_events",
        "kpi_minute",
        "event_ids",
        "raw_events",
    ):
        op.drop_table(table)
    op.execute(
        "DELETE FROM platform_meta WHERE key IN "
        f"('{STORAGE_PATH_KEY}', '{TIMESCALEDB_VERSION_KEY}')"
    )
