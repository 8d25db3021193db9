"""Exports on the real stack: the same rows as CSV, JSON and Excel, streamed; saved views
shared within an organisation, run and exported."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import openpyxl
import pytest

from tests.integration.gateway_fixtures import (  # noqa: F401 - pytest fixtures
    FIRST_DAY,
    World,
    gateway_fixture,
    sign_in,
    world_fixture,
)

pytestmark = pytest.mark.integration


async def test_csv_json_and_excel_carry_the_same_rows(
    gateway: httpx.AsyncClient, world: World
) -> None:
    tenant = world.tenants["a"]
    headers = await sign_in(gateway, tenant.emails["analyst"])
    start = datetime.combine(FIRST_DAY, time(), UTC)
    end = start + timedelta(days=6)
    params: dict[str, Any] = {
        "shops": tenant.shops,
        "kpis": ["gmv", "units", "add_to_cart_rate"],
        "from": start.isoformat(),
        "to": end.isoformat(),
        "interval": "hour",
        "products": "true",
    }
    expected = {
        (shop, product, kpi, bucket)
        for (kind, shop, product, kpi, bucket) in world.rows
        if kind == "hour"
        and shop in tenant.shops
        and kpi in params["kpis"]
        and start <= bucket < end
    }
    assert len(expected) > 1_000
    async with gateway.stream(
        "GET", "/api/exports/kpis", params={**params, "format": "csv"}, headers=headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        chunks = [chunk async for chunk in response.aiter_bytes()]
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == len(expected)
    assert {(r["shop_id"], r["product_id"], r["kpi"]) for r in rows} == {k[:3] for k in expected}
    as_json = await gateway.get(
        "/api/exports/kpis", params={**params, "format": "json"}, headers=headers
    )
    items = as_json.json()
    assert len(items) == len(rows)
    assert [str(i["value"]) for i in items[:50]] == [r["value"] for r in rows[:50]]
    as_excel = await gateway.get(
        "/api/exports/kpis", params={**params, "format": "xlsx"}, headers=headers
    )
    assert as_excel.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(as_excel.content), read_only=True)
    sheet_rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(sheet_rows[0]) == list(rows[0].keys())
    assert len(sheet_rows) - 1 == len(rows)
    # XlsxWriter writes "" (the whole-shop product) as a blank cell.
    assert [str(c or "") for c in sheet_rows[1][:4]] == list(rows[0].values())[:4]


async def test_saved_views_are_shared_within_the_organisation(
    gateway: httpx.AsyncClient, world: World
) -> None:
    tenant = world.tenants["b"]
    analyst = await sign_in(gateway, tenant.emails["analyst"])
    viewer = await sign_in(gateway, tenant.emails["viewer"])
    query = {
        "shops": tenant.shops,
        "kpis": ["gmv"],
        "from": str(FIRST_DAY),
        "to": str(FIRST_DAY + timedelta(days=3)),
        "interval": "day",
    }
    private = await gateway.post(
        "/api/views", json={"name": "mine", "query": query}, headers=analyst
    )
    shared = await gateway.post(
        "/api/views", json={"name": "team", "query": query, "shared": True}, headers=analyst
    )
    assert private.status_code == shared.status_code == 201
    duplicate = await gateway.post(
        "/api/views", json={"name": "team", "query": query}, headers=viewer
    )
    assert duplicate.status_code == 409
    assert [v["name"] for v in (await gateway.get("/api/views", headers=viewer)).json()] == ["team"]
    assert (
        await gateway.get(f"/api/views/{private.json()['id']}", headers=viewer)
    ).status_code == 404
    run = await gateway.get(f"/api/views/{shared.json()['id']}/kpis", headers=viewer)
    direct = await gateway.get("/api/kpis", params=query, headers=viewer)
    assert run.status_code == 200
    assert run.json() == direct.json()
    # Only the owner (or a user admin) changes a view; the viewer may not export it.
    renamed = {"name": "team-2", "query": query, "shared": True}
    assert (
        await gateway.put(f"/api/views/{shared.json()['id']}", json=renamed, headers=viewer)
    ).status_code == 404
    assert (
        await gateway.put(f"/api/views/{shared.json()['id']}", json=renamed, headers=analyst)
    ).status_code == 200
    assert (
        await gateway.get(f"/api/views/{shared.json()['id']}/export", headers=viewer)
    ).status_code == 403
    export = await gateway.get(
        f"/api/views/{shared.json()['id']}/export", params={"format": "csv"}, headers=analyst
    )
    assert export.status_code == 200
    assert export.text.count("\n") == 1 + sum(len(s["points"]) for s in direct.json()["series"])
    admin = await sign_in(gateway, tenant.emails["admin"])
    assert (
        await gateway.delete(f"/api/views/{private.json()['id']}", headers=admin)
    ).status_code == 204
