"""deploy/prometheus: both configs and the alert rules pass promtool, and the rules' unit tests
pass; the compose config scrapes every service where compose runs it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import installed_tool, run_tool
from tests.deploy.manifests import (
    GRPC_SERVICES,
    PLATFORM_SERVICES,
    PROMETHEUS,
    REPO,
    dashboards,
    load_yaml,
    prometheus_queries,
    read_env_file,
)

RULES = PROMETHEUS / "rules" / "platform-alerts.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    path = installed_tool("promtool")
    if path is None:
        pytest.skip(
            "promtool is not installed (Debian package `prometheus`): promtool checks skipped"
        )
    return path


def local_stack_substitutions() -> dict[str, str]:
    """The @NAME@ placeholders scripts/stack fills in prometheus.local.yml, with their values."""
    stack = (REPO / "scripts" / "stack").read_text()
    env = read_env_file(REPO / "deploy" / "local" / "stack.env")
    # start_prometheus: `for name in A_PORT B_PORT ...; do substitutions+=(-e "s|@$name@|...`
    start = stack.index("start_prometheus() {")
    names = re.search(r"for name in ([\w ]+); do", stack[start:])
    assert names is not None, "start_prometheus no longer lists its placeholders"
    return {f"@{name}@": env[name] for name in names.group(1).split()}


def rendered_local_config(tmp_path: Path) -> Path:
    text = (PROMETHEUS / "prometheus.local.yml").read_text()
    for placeholder, value in local_stack_substitutions().items():
        text = text.replace(placeholder, value)
    assert not re.search(r"@\w+@", text), "a placeholder scripts/stack does not fill in"
    rendered = tmp_path / "prometheus.yml"
    rendered.write_text(text)
    return rendered


def test_compose_config_passes_promtool(promtool: str) -> None:
    result = run_tool([promtool, "check", "config", str(PROMETHEUS / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_local_config_passes_promtool_once_scripts_stack_fills_it_in(
    promtool: str, tmp_path: Path
) -> None:
    result = run_tool([promtool, "check", "config", str(rendered_local_config(tmp_path))])
    assert result.returncode == 0, result.stdout + result.stderr


def test_local_config_scrapes_the_services_on_their_stack_ports(tmp_path: Path) -> None:
    config = load_yaml(rendered_local_config(tmp_path))
    env = read_env_file(REPO / "deploy" / "local" / "stack.env")
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert targets == {
        "prometheus": [f"127.0.0.1:{env['PROMETHEUS_PORT']}"],
        "ingest": [f"127.0.0.1:{env['INGEST_PORT']}"],
        "metrics": [f"127.0.0.1:{env['METRICS_PORT']}"],
        "gateway": [f"127.0.0.1:{env['GATEWAY_PORT']}"],
        "forecast": [f"127.0.0.1:{env['FORECAST_HTTP_PORT']}"],
        "insights": [f"127.0.0.1:{env['INSIGHTS_HTTP_PORT']}"],
    }
    # The Procfile starts each service on the port its job scrapes.
    procfile = (REPO / "Procfile").read_text()
    assert "SHOPEE_INGEST_PORT=$INGEST_PORT" in procfile
    assert "SHOPEE_METRICS_WEB_PORT=$METRICS_PORT" in procfile
    assert "SHOPEE_GATEWAY_PORT=$GATEWAY_PORT" in procfile
    assert "SHOPEE_FORECAST_HTTP_PORT=$FORECAST_HTTP_PORT" in procfile
    assert "SHOPEE_INSIGHTS_HTTP_PORT=$INSIGHTS_HTTP_PORT" in procfile


def test_alert_rules_pass_promtool(promtool: str) -> None:
    result = run_tool([promtool, "check", "rules", str(RULES)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_unit_tests_pass(promtool: str) -> None:
    tests = PROMETHEUS / "tests" / "platform-alerts.test.yml"
    result = run_tool([promtool, "test", "rules", str(tests)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_and_the_required_ones_exist() -> None:
    alerts = {rule["alert"] for group in load_yaml(RULES)["groups"] for rule in group["rules"]}
    assert {
        "ServiceDown",
        "DeadLetterRateHigh",
        "ConsumerLagHigh",
        "StreamJobStalled",
        "IngestServerErrors",
    } <= alerts
    tests = load_yaml(PROMETHEUS / "tests" / "platform-alerts.test.yml")
    tested = {case["alertname"] for test in tests["tests"] for case in test["alert_rule_test"]}
    firing = {
        case["alertname"]
        for test in tests["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert tested == alerts, "each alert has a unit test"
    assert firing == alerts, "each alert is shown to fire"


def test_every_alert_has_a_severity_and_a_summary() -> None:
    for group in load_yaml(RULES)["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
            assert rule["for"], rule["alert"]


def test_compose_config_scrapes_every_service_at_its_metrics_port(compose: dict[str, Any]) -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert set(targets) == {"prometheus", *PLATFORM_SERVICES}
    for name in PLATFORM_SERVICES:
        env = compose["services"][name]["environment"]
        if name in GRPC_SERVICES:
            # /metrics is on the HTTP side, next to /healthz and /readyz.
            port = env[f"SHOPEE_{name.upper()}_HTTP_PORT"]
        elif name == "metrics":
            port = env["SHOPEE_METRICS_WEB_PORT"]
        else:
            port = env[f"SHOPEE_{name.upper()}_PORT"]
        assert targets[name] == [f"{name}:{port}"]
    assert config["rule_files"] == ["rules/*.yml"]


def test_alert_rules_select_the_job_names_prometheus_scrapes() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    expressions = " ".join(
        rule["expr"] for group in load_yaml(RULES)["groups"] for rule in group["rules"]
    )
    for selector in re.findall(r'job=~?"([^"]+)"', expressions):
        assert set(selector.split("|")) <= jobs, selector


def test_dashboard_queries_parse_as_promql(promtool: str, tmp_path: Path) -> None:
    expressions = [query for board in dashboards().values() for query in prometheus_queries(board)]
    assert expressions
    # Grafana's variables, replaced by values of the kind Grafana puts there.
    grafana_values = {"$__rate_interval": "1m", "$__interval": "1m", "$service": ".*"}
    rules = []
    for number, expression in enumerate(expressions):
        for variable, value in grafana_values.items():
            expression = expression.replace(variable, value)
        assert "$" not in expression, f"unknown Grafana variable in {expression}"
        rules.append({"record": f"dashboard:query_{number}", "expr": expression})
    rules_file = tmp_path / "dashboard-queries.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run_tool([promtool, "check", "rules", str(rules_file)])
    assert result.returncode == 0, result.stdout + result.stderr
