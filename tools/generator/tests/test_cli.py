from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from typer.testing import CliRunner

from shopee_generator.cli import app

WORLD = [
    "--shops",
    "2",
    "--days",
    "3",
    "--end",
    "2025-06-10",
    "--products-per-shop",
    "10",
    "--scale",
    "0.5",
]


def test_history_writes_ndjson_and_labels(tmp_path: Path) -> None:
    out = tmp_path / "history.ndjson"
    result = CliRunner().invoke(app, ["history", "--out", str(out), *WORLD])
    assert result.exit_code == 0, result.output
    lines = out.read_bytes().splitlines()
    assert len(lines) > 1_000
    assert orjson.loads(lines[0])["occurredAt"].startswith("2025-06-0")
    labels = json.loads((tmp_path / "history.labels.json").read_text())
    assert labels["generator"]["last_day"] == "2025-06-10"


def test_same_options_write_the_same_file(tmp_path: Path) -> None:
    for name in ("a", "b"):
        result = CliRunner().invoke(
            app, ["history", "--out", str(tmp_path / f"{name}.ndjson"), *WORLD]
        )
        assert result.exit_code == 0, result.output
    assert (tmp_path / "a.ndjson").read_bytes() == (tmp_path / "b.ndjson").read_bytes()


def test_labels_and_export_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(app, ["labels", "--out", str(tmp_path / "labels.json"), *WORLD]).exit_code
        == 0
    )
    result = runner.invoke(
        app,
        [
            "export",
            "--out-dir",
            str(tmp_path / "exports"),
            "--last",
            "2",
            "--shop",
            "moda-ph",
            "--format",
            "csv",
            *WORLD[2:],
            "--shops",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "exports" / "moda-ph").iterdir())
    assert written == ["Order.all.20250609_20250610.csv", "Traffic.overview.20250609_20250610.csv"]


def test_every_command_has_help() -> None:
    for command in ("history", "stream", "labels", "export"):
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "--seed" in result.output


def test_the_stream_pace_is_on_time_or_a_positive_rate() -> None:
    for pace in ("fast", "0", "-5", "inf", "nan"):
        result = CliRunner().invoke(app, ["stream", "--pace", pace, *WORLD])
        assert result.exit_code == 2, (pace, result.output)
        said = " ".join(result.output.replace("│", " ").split())  # unwrapped from rich's box
        assert "give on-time or a positive number of events/s" in said, pace


def test_an_end_file_keeps_the_first_runs_last_day(tmp_path: Path) -> None:
    """Written with yesterday the first time, read back after: labels, history and a stream
    restarted days later describe the same world."""
    end_file = tmp_path / "demo" / "history.end"
    world = [*WORLD[:4], *WORLD[6:]]  # without --end
    first = CliRunner().invoke(
        app, ["labels", "--out", str(tmp_path / "a.json"), "--end-file", str(end_file), *world]
    )
    assert first.exit_code == 0, first.output
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert end_file.read_text() == f"{yesterday}\n"
    end_file.write_text("2025-06-10\n")
    again = CliRunner().invoke(
        app, ["labels", "--out", str(tmp_path / "b.json"), "--end-file", str(end_file), *world]
    )
    assert again.exit_code == 0, again.output
    assert "2025-06-08 to 2025-06-10" in again.output
    both = CliRunner().invoke(app, ["labels", "--end-file", str(end_file), *WORLD])
    assert both.exit_code == 2
    end_file.write_text("last tuesday\n")
    damaged = CliRunner().invoke(app, ["labels", "--end-file", str(end_file), *world])
    assert damaged.exit_code == 2
    assert "not a date" in " ".join(damaged.output.replace("│", " ").split())
