"""The CLI commands that need no database."""

from __future__ import annotations

import pytest

from shopee_db.cli import build_parser, main


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "upgrade",
        "downgrade",
        "current",
        "history",
        "check",
        "ensure-partitions",
        "seed-demo",
    ):
        assert command in out
    assert "SHOPEE_DATABASE_URL" in out


def test_upgrade_sql_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["upgrade", "--sql", "--storage", "timescaledb"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("BEGIN;")
    assert "SELECT create_hypertable('raw_events'" in out
    assert '"level"' not in out  # no log lines mixed into the script


def test_upgrade_sql_without_a_storage_path_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["upgrade", "--sql"]) == 2
    assert "storage=timescaledb or storage=postgres" in capsys.readouterr().err


def test_history_lists_the_migrations(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("0001  Accounts")


def test_retention_zero_means_forever() -> None:
    args = build_parser().parse_args(["upgrade", "--kpi-minute-retention-days", "0"])
    assert args.kpi_minute_retention_days is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["upgrade", "--compress-after-days", "0"])
