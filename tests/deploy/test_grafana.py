"""deploy/grafana: provisioning that Grafana can load, and dashboards whose panels point at the
provisioned datasources, use only defined variables, and read the platform's real tables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shopee_common.kpis import KPI_BY_NAME, Unit
from tests.deploy.manifests import (
    ANOMALY_DETECTION_SERIES,
    GRAFANA,
    REPO,
    dashboards,
    load_yaml,
    panels,
)

BUILTIN_VARIABLES = {"__timeFilter", "__rate_interval", "__interval", "__all", "__timeGroupAlias"}


@pytest.fixture(scope="module")
def datasources() -> list[dict[str, Any]]:
    provisioning = load_yaml(GRAFANA / "provisioning" / "datasources" / "datasources.yml")
    assert provisioning["apiVersion"] == 1
    sources: list[dict[str, Any]] = provisioning["datasources"]
    return sources


def test_the_two_dashboards_exist_with_unique_uids() -> None:
    boards = dashboards()
    titles = {board["title"] for board in boards.values()}
    assert {"Platform operations", "Business KPIs"} <= titles
    uids = [board["uid"] for board in boards.values()]
    assert all(uids)
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("path", list(dashboards()), ids=lambda path: path.name)
def test_panel_ids_are_unique_and_panels_fit_the_grid(path: Path) -> None:
    board = dashboards()[path]
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {path.name}"
    for panel in panels(board):
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["title"], panel["id"]
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]


@pytest.mark.parametrize("path", list(dashboards()), ids=lambda path: path.name)
def test_panels_use_provisioned_datasources(path: Path, datasources: list[dict[str, Any]]) -> None:
    provisioned = {(source["type"], source["uid"]) for source in datasources}
    board = dashboards()[path]
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        for target in panel["targets"]:
            reference = target["datasource"]
            assert (reference["type"], reference["uid"]) in provisioned, panel["title"]
    for variable in board["templating"]["list"]:
        if "datasource" in variable:
            reference = variable["datasource"]
            assert (reference["type"], reference["uid"]) in provisioned, variable["name"]


@pytest.mark.parametrize("path", list(dashboards()), ids=lambda path: path.name)
def test_queries_use_only_defined_variables(path: Path) -> None:
    board = dashboards()[path]
    defined = {variable["name"] for variable in board["templating"]["list"]} | BUILTIN_VARIABLES
    texts: list[str] = []
    for panel in panels(board):
        texts += [panel.get("title", ""), panel.get("description", "")]
        for target in panel.get("targets", []):
            texts += [target.get("expr", ""), target.get("rawSql", "")]
    for variable in board["templating"]["list"]:
        query = variable.get("query", "")
        texts.append(query if isinstance(query, str) else query.get("query", ""))
    for text in texts:
        for name in re.findall(r"\$\{?(\w+)", text):
            assert name in defined, f"${name} is not a variable of {path.name}"


def test_business_dashboard_reads_the_kpi_tables_the_migrations_create() -> None:
    (board,) = [b for b in dashboards().values() if b["title"] == "Business KPIs"]
    migrations = "".join(path.read_text() for path in (REPO / "libs" / "db" / "src").rglob("*.py"))
    (resolution,) = [v for v in board["templating"]["list"] if v["name"] == "resolution"]
    tables = {option["value"] for option in resolution["options"]}
    assert tables == {"kpi_minute", "kpi_hour", "kpi_day"}
    for table in tables:
        assert f'"{table}"' in migrations or f"VIEW {table}" in migrations, table
    sql = " ".join(
        target["rawSql"] for panel in panels(board) for target in panel.get("targets", [])
    )
    for column in ("shop_id", "product_id", "kpi", "bucket", "numerator", "denominator"):
        assert f"k.{column}" in sql, column
        assert f'"{column}"' in migrations, f"the KPI tables have no {column} column"
    assert "$__timeFilter(k.bucket)" in sql


def test_operations_dashboard_covers_the_platform_signals() -> None:
    (board,) = [b for b in dashboards().values() if b["title"] == "Platform operations"]
    queries = " ".join(
        target["expr"] for panel in panels(board) for target in panel.get("targets", [])
    )
    for signal in (
        "http_request_duration_seconds_count",  # request rates and errors
        "histogram_quantile(0.5",
        "histogram_quantile(0.99",
        'status=~"5.."',
        # the stream job (test_metric_names checks that it serves each of these)
        "metrics_events_total",  # events by outcome
        'outcome="dead_letter"',  # dead-letter share
        "metrics_dead_letters_total",  # dead letters by reason
        "metrics_consumer_lag",  # consumer lag...
        "faust_metrics_topic_partition_end_offset",  # ...or Faust's offsets
        "metrics_processing_latency_seconds_bucket",  # record to KPI commit
        "metrics_batch_seconds_bucket",
        "metrics_last_commit_timestamp_seconds",
        "faust_metrics_messages_received_per_topic_total",  # records read per topic
        *ANOMALY_DETECTION_SERIES,
    ):
        assert signal in queries, signal


def test_business_dashboard_reads_kpis_of_the_kpi_registry() -> None:
    (board,) = [b for b in dashboards().values() if b["title"] == "Business KPIs"]
    constants = {
        variable["name"]: variable["query"]
        for variable in board["templating"]["list"]
        if variable["type"] == "constant"
    }
    assert set(constants.values()) >= {"gmv", "paid_orders", "conversion_rate", "aov"}
    assert set(constants.values()) <= KPI_BY_NAME.keys(), "KPI names of shopee_common.kpis"
    sql = " ".join(
        target["rawSql"] for panel in panels(board) for target in panel.get("targets", [])
    )
    named = set(re.findall(r"k\.kpi = '([^']+)'", sql))
    assert named, "the panels select KPIs by name"
    for name in named:
        variable = re.fullmatch(r"\$(\w+)", name)
        if variable is None:
            assert name in KPI_BY_NAME, f"{name} is not a KPI of shopee_common.kpis"
        else:
            assert variable[1] in constants or variable[1] == "kpi", name


def test_business_dashboard_shows_money_in_major_units() -> None:
    (board,) = [b for b in dashboards().values() if b["title"] == "Business KPIs"]
    money = {
        variable["name"]
        for variable in board["templating"]["list"]
        if variable["type"] == "constant"
        and KPI_BY_NAME[variable["query"]].unit == Unit.MONEY_MINOR
    }
    assert money
    for panel in panels(board):
        for target in panel.get("targets", []):
            sql = target["rawSql"]
            for name in money:
                if f"k.kpi = '${name}'" in sql and "FILTER" not in sql:
                    assert "/ 100" in sql, f"{panel['title']} shows minor units"


def test_datasource_settings_come_from_the_grafana_container_environment(
    compose: dict[str, Any],
) -> None:
    text = (GRAFANA / "provisioning" / "datasources" / "datasources.yml").read_text()
    needed = set(re.findall(r"\$\{(\w+)\}", text))
    assert needed <= set(compose["services"]["grafana"]["environment"]), needed


def test_dashboard_provider_reads_the_mounted_folder(compose: dict[str, Any]) -> None:
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "dashboards.yml")
    (source,) = provider["providers"]
    mounts = dict(
        str(volume).split(":")[:2] for volume in compose["services"]["grafana"]["volumes"]
    )
    assert mounts["./deploy/grafana/dashboards"] == source["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
