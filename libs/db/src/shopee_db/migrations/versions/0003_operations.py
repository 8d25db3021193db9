"""Operations: reports, alert rules and history, notification settings, models, saved views.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shopee_db.ddl import NOW, created_at, organisation_fk, touch, updated_at, uuid_pk

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEVERITIES = "('info', 'warning', 'critical')"
CHANNELS = "ARRAY['email', 'slack', 'sms', 'webhook']"


def _text_array(
    name: str, nullable: bool = False, default: str | None = "'{}'::text[]"
) -> sa.Column[object]:
    return sa.Column(
        name,
        postgresql.ARRAY(sa.Text()),
        nullable=nullable,
        server_default=None if default is None else sa.text(default),
    )


def _owner(name: str = "created_by") -> sa.Column[object]:
    return sa.Column(name, sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"))


def _reports() -> None:
    op.create_table(
        "report_templates",
        uuid_pk(),
        organisation_fk(nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("definition", postgresql.JSONB(), nullable=False, comment="sections, KPIs"),
        _owner(),
        created_at(),
        updated_at(),
        # NULL organisation = a built-in template every organisation may use.
        sa.UniqueConstraint("organisation_id", "name", postgresql_nulls_not_distinct=True),
    )
    op.create_table(
        "scheduled_reports",
        uuid_pk(),
        organisation_fk(),
        sa.Column(
            "template_id",
            sa.Uuid(),
            sa.ForeignKey("report_templates.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("cron", sa.Text(), nullable=False, comment="5-field cron, in time_zone"),
        sa.Column("time_zone", sa.Text(), nullable=False),
        _text_array("recipients"),
        _text_array("formats", default="ARRAY['pdf']::text[]"),
        _text_array("shop_ids", nullable=True, default=None),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("next_run_at", sa.DateTime(timezone=True)),
        sa.Column("last_run_at", sa.DateTime(timezone=True)),
        _owner(),
        created_at(),
        updated_at(),
        sa.UniqueConstraint("organisation_id", "name"),
        sa.CheckConstraint(
            "cardinality(formats) > 0 AND formats <@ ARRAY['pdf', 'xlsx', 'csv']",
            name="scheduled_reports_formats",
        ),
        sa.CheckConstraint(
            "array_length(regexp_split_to_array(trim(cron), '\\s+'), 1) = 5",
            name="scheduled_reports_cron_fields",
        ),
        sa.CheckConstraint(
            "(TIMESTAMP '2000-01-01' AT TIME ZONE time_zone) IS NOT NULL",
            name="scheduled_reports_time_zone_known",
        ),
    )
    op.create_index(
        "scheduled_reports_due",
        "scheduled_reports",
        ["next_run_at"],
        postgresql_where=sa.text("enabled"),
    )
    op.create_table(
        "report_history",
        uuid_pk(),
        organisation_fk(),
        sa.Column(
            "scheduled_report_id",
            sa.Uuid(),
            sa.ForeignKey("scheduled_reports.id", ondelete="SET NULL"),
            comment="NULL for one-off reports and exports",
        ),
        sa.Column(
            "template_id", sa.Uuid(), sa.ForeignKey("report_templates.id", ondelete="SET NULL")
        ),
        sa.Column("status", sa.Text(), nullable=False, server_default="queued"),
        sa.Column("period_start", sa.DateTime(timezone=True)),
        sa.Column("period_end", sa.DateTime(timezone=True)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        _text_array("file_paths"),
        sa.Column("error", sa.Text()),
        created_at(),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')", name="report_history_status"
        ),
        sa.CheckConstraint(
            "finished_at IS NULL OR finished_at >= started_at", name="report_history_times"
        ),
        sa.CheckConstraint(
            "status <> 'failed' OR error IS NOT NULL", name="report_history_failure_has_error"
        ),
    )
    op.create_index(
        "report_history_organisation_created",
        "report_history",
        ["organisation_id", sa.text("created_at DESC")],
    )


def _alerts() -> None:
    op.create_table(
        "alert_rules",
        uuid_pk(),
        organisation_fk(),
        sa.Column("name", sa.Text(), nullable=False),
        _text_array("shop_ids", nullable=True, default=None),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("kpi", sa.Text(), nullable=False),
        sa.Column("params", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column(
            "for_duration", sa.Interval(), nullable=False, server_default=sa.text("'0 seconds'")
        ),
        sa.Column("severity", sa.Text(), nullable=False, server_default="warning"),
        _text_array("channels"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        _owner(),
        created_at(),
        updated_at(),
        sa.UniqueConstraint("organisation_id", "name"),
        sa.CheckConstraint(
            "kind IN ('threshold', 'pct_change', 'anomaly_score', 'forecast_deviation')",
            name="alert_rules_kind",
        ),
        sa.CheckConstraint(f"severity IN {SEVERITIES}", name="alert_rules_severity"),
        sa.CheckConstraint(f"channels <@ {CHANNELS}", name="alert_rules_channels"),
        sa.CheckConstraint("for_duration >= INTERVAL '0 seconds'", name="alert_rules_for"),
        comment="shop_ids NULL = every shop of the organisation.",
    )
    op.create_table(
        "alert_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "rule_id",
            sa.Uuid(),
            sa.ForeignKey("alert_rules.id", ondelete="CASCADE"),
            nullable=False,
        ),
        organisation_fk(),
        sa.Column("shop_id", sa.Text()),
        sa.Column("fingerprint", sa.Text(), nullable=False, comment="groups repeats of one alert"),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("last_notified_at", sa.DateTime(timezone=True)),
        sa.Column("payload", postgresql.JSONB(), nullable=False, server_default="{}"),
        created_at(),
        updated_at(),
        sa.CheckConstraint("state IN ('firing', 'resolved')", name="alert_history_state"),
        sa.CheckConstraint(f"severity IN {SEVERITIES}", name="alert_history_severity"),
        sa.CheckConstraint(
            "(state = 'resolved') = (resolved_at IS NOT NULL)", name="alert_history_resolution"
        ),
        sa.CheckConstraint(
            "resolved_at IS NULL OR resolved_at >= started_at", name="alert_history_times"
        ),
    )
    # At most one firing alert per rule and fingerprint: the alerts service upserts into it.
    op.create_index(
        "alert_history_one_firing",
        "alert_history",
        ["rule_id", "fingerprint"],
        unique=True,
        postgresql_where=sa.text("state = 'firing'"),
    )
    op.create_index(
        "alert_history_organisation_started",
        "alert_history",
        ["organisation_id", sa.text("started_at DESC")],
    )
    op.create_table(
        "notification_settings",
        uuid_pk(),
        organisation_fk(),
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            comment="NULL = the organisation's own channel",
        ),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, server_default="default"),
        sa.Column(
            "config",
            postgresql.JSONB(),
            nullable=False,
            server_default="{}",
            comment="address, phone, URL: never a secret",
        ),
        sa.Column(
            "secret_ref",
            sa.Text(),
            comment="name of the secret (Slack URL, webhook signing key) in the secret store",
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        created_at(),
        updated_at(),
        sa.UniqueConstraint(
            "organisation_id", "user_id", "channel", "name", postgresql_nulls_not_distinct=True
        ),
        sa.CheckConstraint(f"channel = ANY ({CHANNELS})", name="notification_settings_channel"),
    )


def _models_and_views() -> None:
    op.create_table(
        "model_registry",
        uuid_pk(),
        sa.Column("model_name", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False, comment="e.g. sales_forecast, churn"),
        sa.Column("artefact_uri", sa.Text(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("backtest_scores", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("status", sa.Text(), nullable=False, server_default="candidate"),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        created_at(),
        updated_at(),
        sa.UniqueConstraint("model_name", "version"),
        sa.CheckConstraint(
            "status IN ('training', 'candidate', 'active', 'retired', 'failed')",
            name="model_registry_status",
        ),
    )
    op.create_index(
        "model_registry_name_trained", "model_registry", ["model_name", sa.text("trained_at DESC")]
    )
    op.create_table(
        "saved_views",
        uuid_pk(),
        organisation_fk(),
        sa.Column(
            "owner_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("query", postgresql.JSONB(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False, server_default=sa.false()),
        created_at(),
        updated_at(),
        sa.UniqueConstraint("organisation_id", "name"),
    )


TABLES = (
    "report_templates",
    "scheduled_reports",
    "report_history",
    "alert_rules",
    "alert_history",
    "notification_settings",
    "model_registry",
    "saved_views",
)


def upgrade() -> None:
    _reports()
    _alerts()
    _models_and_views()
    for table in TABLES:
        if table != "report_history":
            touch(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
