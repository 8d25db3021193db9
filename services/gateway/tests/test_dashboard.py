"""The web dashboard as served: its page and headers, the API paths its scripts call, the
registry it labels from, the vendored chart library, and its JavaScript unit tests (node)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from shopee_common.kpis import KPIS
from shopee_gateway.app import create_app
from shopee_gateway.dashboard import STATIC
from shopee_gateway.settings import GatewaySettings

JS_TESTS = Path(__file__).parent / "dashboard"
# sha256 of the files of the npm package uplot@1.6.32 (static/vendor/uplot/README.md).
UPLOT_FILES = {
    "uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
    "uPlot.min.css": "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
    "LICENSE": "8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd",
}


@pytest.fixture
def app() -> FastAPI:
    settings = GatewaySettings.model_validate(
        {"environment": "development", "database_url": "postgresql://unused@127.0.0.1:1/none"}
    )
    return create_app(settings)


async def _get(app: FastAPI, path: str) -> httpx.Response:
    # No lifespan: the dashboard's files need no database, Redis or broker.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.get(path)


async def test_root_leads_to_the_dashboard_page_with_a_strict_policy(app: FastAPI) -> None:
    root = await _get(app, "/")
    assert root.status_code == 307
    assert root.headers["location"] == "/dashboard/"
    page = await _get(app, "/dashboard/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert 'type="module" src="static/js/app.js"' in page.text
    # No inline script or style: the policy would block them.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
    assert "style=" not in page.text
    assert "<style" not in page.text


async def test_every_file_the_page_loads_is_served(app: FastAPI) -> None:
    page = (STATIC / "index.html").read_text()
    modules = [f"static/js/{p.name}" for p in (STATIC / "js").glob("*.js")]
    for path in re.findall(r'(?:src|href)="(static/[^"]+)"', page) + modules:
        response = await _get(app, f"/dashboard/{path}")
        assert response.status_code == 200, path
    assert (await _get(app, "/dashboard/static/nothing.js")).status_code == 404


def test_the_scripts_call_only_routes_of_the_api(app: FastAPI) -> None:
    paths = set(app.openapi()["paths"])
    called = set()
    for script in (STATIC / "js").glob("*.js"):
        called |= set(re.findall(r'"(/api/[a-z/-]+)"', script.read_text()))
        called |= set(re.findall(r"`\$\{this\.base\}(/api/[a-z/-]+)`", script.read_text()))
    assert called >= {"/api/me", "/api/kpis/registry", "/api/kpis", "/api/auth/token"}
    assert called <= paths, called - paths
    assert "/dashboard/" not in paths  # the page is not part of the API


def test_the_pages_name_only_registry_kpis() -> None:
    known = {kpi.name for kpi in KPIS}
    pages = (STATIC / "js" / "pages.js").read_text()
    # Arrays of names only, e.g. ["gmv", "paid_orders"]: the KPIs of a chart or a summary.
    lists = re.findall(r'\[\s*(?:"[a-z_]+"\s*,?\s*)+\]', pages)
    named = {n for chunk in lists for n in re.findall(r'"([a-z_]+)"', chunk)}
    named |= set(re.findall(r'\bkpi: "([a-z_]+)"', pages))
    assert named, "the pages name their KPIs in arrays"
    assert named <= known, named - known


def test_the_registry_route_is_documented(app: FastAPI) -> None:
    operation = app.openapi()["paths"]["/api/kpis/registry"]["get"]
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert body["items"]["$ref"].endswith("/KpiDefinition")
    assert "401" in operation["responses"]


def test_the_vendored_chart_library_is_the_npm_package() -> None:
    vendor = STATIC / "vendor" / "uplot"
    for name, digest in UPLOT_FILES.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name


def test_the_dashboard_javascript_unit_tests_pass() -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js (the machine's own) runs the dashboard's unit tests"
    run = subprocess.run(  # noqa: S603 - our own test files
        [node, "--test", str(JS_TESTS)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    passed = int(re.search(r"^# pass (\d+)$", run.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert passed >= 15, run.stdout[-2000:]
