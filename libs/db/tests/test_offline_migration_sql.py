"""The whole migration rendered as SQL without a server, for each storage path."""

from __future__ import annotations

import io

import pytest

from shopee_db.migrator import (
    MigrationOptions,
    StorageChoice,
    head_revision,
    history,
    upgrade_sql,
)
from shopee_db.timescale import TimescalePolicy, upgrade_statements


def _script(storage: StorageChoice, months_back: int = 12, months_ahead: int = 3) -> str:
    output = io.StringIO()
    options = MigrationOptions(
        storage=storage, partition_months_back=months_back, partition_months_ahead=months_ahead
    )
    upgrade_sql("head", options, output)
    return output.getvalue()


def test_timescale_script_runs_the_generated_statements_instead_of_partitions() -> None:
    script = _script("timescaledb")
    for statement in upgrade_statements(TimescalePolicy()):
        assert statement in script
    assert "PARTITION BY" not in script
    # The job keeps the rollups on this path too; a hypertable's unique indexes hold its time column.
    assert "CREATE TABLE kpi_hour (" in script
    assert "CREATE TABLE kpi_day (" in script
    assert "kpi_day_local_date" not in script
    assert "SELECT 'storage_path', 'timescaledb'" in script


def test_postgres_script_partitions_by_month_and_keeps_rollup_tables() -> None:
    script = _script("postgres", months_back=2, months_ahead=5)
    assert "PARTITION BY RANGE (occurred_at)" in script
    assert "PARTITION BY RANGE (bucket)" in script
    assert "CREATE TABLE raw_events_default PARTITION OF raw_events DEFAULT" in script
    assert "CREATE OR REPLACE FUNCTION ensure_partitions(" in script
    assert "- INTERVAL '2 months'" in script
    assert "+ INTERVAL '6 months'" in script  # the current month plus five ahead
    assert "CREATE TABLE kpi_hour (" in script
    assert "CREATE UNIQUE INDEX kpi_day_local_date" in script
    assert "create_hypertable" not in script
    assert "SELECT 'storage_path', 'postgres'" in script


def test_literal_percent_signs_are_not_doubled() -> None:
    script = _script("postgres")
    assert "LIKE '$argon2%')" in script
    assert "%%" not in script


def test_offline_script_needs_an_explicit_storage_path() -> None:
    with pytest.raises(ValueError, match="storage=timescaledb or storage=postgres"):
        upgrade_sql("head", MigrationOptions(storage="auto"), io.StringIO())


def test_revisions_form_one_numbered_line() -> None:
    revisions = [revision for revision, _ in history()]
    assert revisions == [f"{n:04d}" for n in range(1, len(revisions) + 1)]
    assert head_revision() == revisions[-1]
