"""KPI routes on the real stack, checked against the independent recomputation of generated
events: series per shop and across shops, period totals, top products, funnel, and the cache."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from shopee_common.kpis import KPI_BY_NAME, Rollup
from tests.integration.gateway_fixtures import (  # noqa: F401 - pytest fixtures
    FIRST_DAY,
    World,
    gateway_fixture,
    sign_in,
    world_fixture,
)

pytestmark = pytest.mark.integration
RATIO_KPIS = ["conversion_rate", "aov", "add_to_cart_rate"]


def _ratio(num: Decimal, den: Decimal | None) -> float | None:
    return None if den is None or den == 0 else float(num / den)


def _day_totals(
    world: World, shops: list[str], kpi: str, first: date, last: date
) -> tuple[Decimal, Decimal]:
    num = den = Decimal(0)
    for (kind, shop, product, name, bucket), (n, d) in world.rows.items():
        local = bucket.astimezone(ZoneInfo(world.zones[shop])).date()
        if (
            kind == "day"
            and shop in shops
            and product == ""
            and name == kpi
            and first <= local <= last
        ):
            num += n
            den += d or 0
    return num, den


HOUR = timedelta(hours=1)


async def test_day_series_per_shop_and_total(gateway: httpx.AsyncClient, world: World) -> None:
    tenant = world.tenants["a"]
    headers = await sign_in(gateway, tenant.emails["viewer"])
    params = {
        "shops": tenant.shops,
        "kpis": ["gmv", *RATIO_KPIS],
        "from": f"{FIRST_DAY}T00:00:00+14:00",
        "to": f"{FIRST_DAY + timedelta(days=7)}T00:00:00",
        "interval": "day",
        "time_zone": "Asia/Jakarta",
    }
    per_shop = await gateway.get("/api/kpis", params=params, headers=headers)
    assert per_shop.status_code == 200, per_shop.text
    expected = {
        (shop, kpi, bucket): (num, den)
        for (kind, shop, product, kpi, bucket), (num, den) in world.rows.items()
        if kind == "day" and shop in tenant.shops and product == "" and kpi in params["kpis"]
    }
    got = {}
    for series in per_shop.json()["series"]:
        for point in series["points"]:
            bucket = datetime.fromisoformat(point["bucket"])
            assert bucket.utcoffset() == timedelta(hours=7)  # labelled in the asked zone
            got[(series["shop_id"], series["kpi"], bucket)] = point
    assert set(got) == set(expected)
    for key, (num, den) in expected.items():
        kpi = KPI_BY_NAME[key[1]]
        want = _ratio(num, den) if kpi.rollup is Rollup.RATIO else float(num)
        assert got[key]["value"] == pytest.approx(want)
    # Across the shops, ratios are recomputed from summed parts (never averaged).
    total = await gateway.get("/api/kpis", params={**params, "group": "total"}, headers=headers)
    local_day_parts: dict[tuple[str, date], list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0)]
    )
    for (shop, name, bucket), (num, den) in expected.items():
        parts = local_day_parts[(name, bucket.astimezone(ZoneInfo(world.zones[shop])).date())]
        parts[0] += num
        parts[1] += den or 0
    points = {(s["kpi"], i): p for s in total.json()["series"] for i, p in enumerate(s["points"])}
    assert len(points) == len(local_day_parts)
    for series in total.json()["series"]:
        assert series["shop_id"] is None
        days = sorted(d for k, d in local_day_parts if k == series["kpi"])
        for day, point in zip(days, series["points"], strict=True):
            num, den = local_day_parts[(series["kpi"], day)]
            ratio = KPI_BY_NAME[series["kpi"]].rollup is Rollup.RATIO
            assert point["value"] == pytest.approx(_ratio(num, den) if ratio else float(num))


async def test_minute_and_hour_series(gateway: httpx.AsyncClient, world: World) -> None:
    tenant = world.tenants["b"]
    headers = await sign_in(gateway, tenant.emails["analyst"])
    shop = tenant.shops[0]
    start = datetime.fromisoformat(f"{FIRST_DAY + timedelta(days=2)}T00:00:00+00:00")
    for interval, span in (("minute", timedelta(hours=6)), ("hour", timedelta(days=2))):
        response = await gateway.get(
            "/api/kpis",
            params={
                "shops": shop,
                "kpis": "page_views",
                "from": start.isoformat(),
                "to": (start + span).isoformat(),
                "interval": interval,
            },
            headers=headers,
        )
        assert response.status_code == 200, response.text
        got = {
            datetime.fromisoformat(p["bucket"]): p["value"]
            for s in response.json()["series"]
            for p in s["points"]
        }
        want = {
            bucket: float(num)
            for (kind, s, product, kpi, bucket), (num, _) in world.rows.items()
            if kind == interval
            and s == shop
            and product == ""
            and kpi == "page_views"
            and start <= bucket < start + span
        }
        assert got == want
        assert want


async def test_summary_compares_with_previous_period(
    gateway: httpx.AsyncClient, world: World
) -> None:
    tenant = world.tenants["a"]
    counting, quiet = tenant.shops
    # How far the stream job has counted each shop, from its sources' watermarks.
    now = datetime.now(UTC)
    watermarks = [
        # Being counted: traffic (a history catching up, say) holds the shop back; a chat
        # source quiet for days holds nothing back.
        (counting, "order", now - HOUR, now),
        (counting, "traffic", now - 30 * HOUR, now),
        (counting, "chat", now - 120 * HOUR, now - 120 * HOUR),
        # Every source quiet (its events stopped): counted up to its newest event.
        (quiet, "order", now - 50 * HOUR, now - 50 * HOUR),
        (quiet, "traffic", now - 51 * HOUR, now - 51 * HOUR),
    ]
    with psycopg.connect(world.dsn) as connection:
        for row in watermarks:
            connection.execute(
                "INSERT INTO stream_watermarks (shop_id, source, watermark, updated_at) "
                "VALUES (%s, %s, %s, %s)",
                row,
            )
    headers = await sign_in(gateway, tenant.emails["viewer"])
    first, last = FIRST_DAY + timedelta(days=3), FIRST_DAY + timedelta(days=5)
    response = await gateway.get(
        "/api/kpis/summary",
        params={"from": str(first), "to": str(last), "kpis": ["gmv", "conversion_rate"]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["previous_from"] == str(FIRST_DAY)
    assert body["previous_to"] == str(first - timedelta(days=1))
    by_shop = {s["shop_id"]: {k["kpi"]: k for k in s["kpis"]} for s in body["shops"]}
    assert set(by_shop) == {None, *tenant.shops}
    counted = {s["shop_id"]: datetime.fromisoformat(s["counted_until"]) for s in body["shops"]}
    assert counted == {
        counting: now - 30 * HOUR,
        quiet: now - 50 * HOUR,
        None: now - 50 * HOUR,  # all the shops together: the earliest
    }
    for shop, shops in [(None, tenant.shops), *((s, [s]) for s in tenant.shops)]:
        gmv_now = _day_totals(world, shops, "gmv", first, last)[0]
        gmv_before = _day_totals(world, shops, "gmv", FIRST_DAY, first - timedelta(days=1))[0]
        gmv = by_shop[shop]["gmv"]
        assert gmv["current"] == float(gmv_now)
        assert gmv["previous"] == float(gmv_before)
        assert gmv["delta"] == float(gmv_now - gmv_before)
        conversion = by_shop[shop]["conversion_rate"]
        assert conversion["current"] == pytest.approx(
            _ratio(*_day_totals(world, shops, "conversion_rate", first, last))
        )


async def test_funnel_top_products_campaigns_service(
    gateway: httpx.AsyncClient, world: World
) -> None:
    tenant = world.tenants["a"]
    headers = await sign_in(gateway, tenant.emails["viewer"])
    period = {"from": str(FIRST_DAY), "to": str(FIRST_DAY + timedelta(days=DAYS_SPAN))}
    funnel = await gateway.get("/api/kpis/funnel", params=period, headers=headers)
    assert funnel.status_code == 200
    total = next(f for f in funnel.json()["funnels"] if f["shop_id"] is None)
    counts = [step["count"] for step in total["steps"]]
    assert [step["step"] for step in total["steps"]] == ["views", "cart", "checkout", "paid"]
    last = FIRST_DAY + timedelta(days=DAYS_SPAN)
    assert counts[0] == float(_day_totals(world, tenant.shops, "product_views", FIRST_DAY, last)[0])
    assert counts[3] == float(_day_totals(world, tenant.shops, "paid_orders", FIRST_DAY, last)[0])
    assert total["steps"][1]["rate_from_previous"] == pytest.approx(counts[1] / counts[0])
    top = await gateway.get(
        "/api/kpis/top-products", params={**period, "kpi": "gmv", "limit": 5}, headers=headers
    )
    assert top.status_code == 200
    products = top.json()["products"]
    product_gmv: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for (kind, shop, product, kpi, _), (num, _) in world.rows.items():
        if kind == "day" and shop in tenant.shops and product and kpi == "gmv":
            product_gmv[(shop, product)] += num
    best = sorted(product_gmv.values(), reverse=True)[:5]
    assert [p["value"] for p in products] == [float(v) for v in best]
    # Named as the seller named them in the catalogue (its latest event).
    assert [p["name"] for p in products] == [
        world.names[(p["shop_id"], p["product_id"])] for p in products
    ]
    assert all(p["name"] for p in products)
    shop_only = await gateway.get(
        "/api/kpis/top-products", params={**period, "kpi": "aov"}, headers=headers
    )
    assert shop_only.status_code == 422
    assert shop_only.json()["errors"][0]["field"] == "query.kpi"
    for route in ("campaigns", "customer-service"):
        response = await gateway.get(f"/api/kpis/{route}", params=period, headers=headers)
        assert response.status_code == 200
        assert response.json()["shops"][0]["kpis"]


DAYS_SPAN = 5


async def test_cache_hit_then_invalidated_by_shop(gateway: httpx.AsyncClient, world: World) -> None:
    tenant = world.tenants["b"]
    headers = await sign_in(gateway, tenant.emails["viewer"])
    shop = tenant.shops[1]
    params = {
        "shops": shop,
        "kpis": "gmv",
        "from": str(FIRST_DAY),
        "to": str(FIRST_DAY + timedelta(days=2)),
        "interval": "day",
    }
    first = await gateway.get("/api/kpis", params=params, headers=headers)
    second = await gateway.get("/api/kpis", params=params, headers=headers)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert first.content == second.content
    with psycopg.connect(world.dsn, autocommit=True) as connection:
        connection.execute(
            "UPDATE kpi_day SET numerator = numerator + 100, value = value + 100 "
            "WHERE shop_id = %s AND kpi = 'gmv' AND product_id = '' AND bucket = %s",
            (shop, datetime.fromisoformat(first.json()["series"][0]["points"][0]["bucket"])),
        )
    stale = await gateway.get("/api/kpis", params=params, headers=headers)
    assert stale.headers["x-cache"] == "hit"
    await gateway._transport.app.state.kpi_cache.invalidate_shop(shop)  # type: ignore[attr-defined]
    fresh = await gateway.get("/api/kpis", params=params, headers=headers)
    assert fresh.headers["x-cache"] == "miss"
    before = first.json()["series"][0]["points"][0]["value"]
    assert fresh.json()["series"][0]["points"][0]["value"] == before + 100


async def test_validation_errors_name_the_field(gateway: httpx.AsyncClient, world: World) -> None:
    tenant = world.tenants["a"]
    headers = await sign_in(gateway, tenant.emails["viewer"])
    bad = await gateway.get(
        "/api/kpis",
        params={"shops": tenant.shops[0], "kpis": "nope", "from": "2026-03-02", "to": "2026-03-03"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert any(e["field"].endswith("kpis") for e in bad.json()["errors"])
    missing = await gateway.get("/api/kpis", params={"kpis": "gmv"}, headers=headers)
    assert missing.status_code == 422
    assert "shops" in missing.json()["detail"]
    assert (await gateway.get("/api/nowhere", headers=headers)).json()["status"] == 404
    wrong_method = await gateway.delete("/api/kpis", headers=headers)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "application/problem+json"
