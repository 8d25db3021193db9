"""List-valued query parameters: repeated, comma-separated or both, validated item by item with
the same 422s and the same maximum counts, on the real app's routes (fake repository, cache and
pool; no lifespan: no database or Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from shopee_common.kpis import KPI_BY_NAME
from shopee_gateway.app import create_app
from shopee_gateway.cache import CacheLookup
from shopee_gateway.kpi_query import KpiQuery, Period
from shopee_gateway.list_params import split_commas
from shopee_gateway.repositories.kpis import SeriesText, TotalRow
from shopee_gateway.security.principal import Principal
from shopee_gateway.settings import GatewaySettings

# The `sign_in` fixture (conftest.py): installs the callers an app knows, by access token.
SignIn = Callable[[FastAPI, Mapping[str, Principal]], None]


# One more shop than a question may name, all the caller's: a refusal is the count's, not a 404.
SHOPS = [f"shop-{i}" for i in range(1, 52)]
PERIOD = "from=2026-03-01&to=2026-03-02"
SERIES = f"/api/kpis?{PERIOD}&interval=day"


@dataclass
class Reads:
    """What the routes asked the repository and the pool."""

    series: list[KpiQuery] = field(default_factory=list)
    totals: list[tuple[list[str], list[str]]] = field(default_factory=list)
    exports: list[KpiQuery] = field(default_factory=list)
    anomalies: list[tuple[Any, ...]] = field(default_factory=list)


class Kpis:
    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    async def series(self, query: KpiQuery) -> list[SeriesText]:
        self.reads.series.append(query)
        return []

    async def totals(self, shops: list[str], kpis: list[str], period: Period) -> list[TotalRow]:
        self.reads.totals.append((shops, kpis))
        return []

    async def counted_until(self, shops: list[str]) -> dict[str, datetime]:
        return {}

    async def export_rows(self, query: KpiQuery, with_products: bool) -> AsyncIterator[list[Any]]:
        self.reads.exports.append(query)
        nothing: list[list[Any]] = []
        for batch in nothing:
            yield batch


class Pool:
    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.reads.anomalies.append(args)
        return []


class NoCache:
    async def get(self, shop_ids: Iterable[str], query_key: str) -> CacheLookup:
        return CacheLookup(query_key, None)

    async def set(self, lookup: CacheLookup, value: bytes) -> None:
        return None


@dataclass
class Gateway:
    app: FastAPI
    client: httpx.AsyncClient
    reads: Reads


@pytest.fixture
async def gateway(sign_in: SignIn) -> AsyncIterator[Gateway]:
    settings = GatewaySettings.model_validate(
        {"environment": "development", "database_url": "postgresql://unused@127.0.0.1:1/none"}
    )
    app = create_app(settings)
    reads = Reads()
    analyst = Principal(
        str(uuid4()),
        uuid4(),
        "analyst",
        frozenset({"kpis:read", "exports:create"}),
        frozenset(SHOPS),
    )
    sign_in(app, {"analyst-token": analyst})
    app.state.kpis = Kpis(reads)
    app.state.kpi_cache = NoCache()
    app.state.pool = Pool(reads)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer analyst-token"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gw", headers=headers
    ) as client:
        yield Gateway(app, client, reads)


def test_split_commas_strips_drops_empty_items_and_keeps_order_and_duplicates() -> None:
    assert split_commas(["b,a", " c , ,", "", "a"]) == ["b", "a", "c", "a"]
    assert split_commas([]) == []
    # Not a list of strings: left to the list's own validation.
    assert split_commas("a,b") == "a,b"
    assert split_commas(None) is None
    assert split_commas([1, "2,3"]) == [1, "2", "3"]


@pytest.mark.parametrize(
    ("params", "shops", "kpis"),
    [
        ("shops=shop-1&shops=shop-2&kpis=gmv&kpis=aov", ["shop-1", "shop-2"], ["gmv", "aov"]),
        ("shops=shop-2,shop-1&kpis=gmv,aov", ["shop-1", "shop-2"], ["gmv", "aov"]),
        (
            "shops=shop-1,shop-2&shops=shop-3&kpis=gmv,aov&kpis=units",
            SHOPS[:3],
            ["gmv", "aov", "units"],
        ),
        (
            "shops=%20shop-1%20,%09shop-2&kpis=gmv%20,%20aov%20",
            ["shop-1", "shop-2"],
            ["gmv", "aov"],
        ),
        ("shops=shop-1,,&shops=&kpis=,gmv,,aov,&kpis=", ["shop-1"], ["gmv", "aov"]),
        # De-duplicated as before: shops sorted, KPIs in their first order.
        ("shops=shop-2,shop-1,shop-2&kpis=aov,gmv&kpis=aov", ["shop-1", "shop-2"], ["aov", "gmv"]),
    ],
    ids=["repeated", "commas", "mixed", "whitespace", "empty-items", "duplicates"],
)
async def test_series_lists_in_any_form(
    gateway: Gateway, params: str, shops: list[str], kpis: list[str]
) -> None:
    response = await gateway.client.get(f"{SERIES}&{params}")
    assert response.status_code == 200, response.text
    [query] = gateway.reads.series
    assert (query.shops, query.kpis) == (shops, kpis)


async def test_the_forms_are_one_question_and_one_cache_key(gateway: Gateway) -> None:
    for params in (
        "shops=shop-1&shops=shop-2&kpis=gmv&kpis=aov",
        "shops=shop-1,shop-2&kpis=gmv,aov",
    ):
        assert (await gateway.client.get(f"{SERIES}&{params}")).status_code == 200
    repeated, commas = gateway.reads.series
    assert repeated == commas
    assert repeated.cache_key() == commas.cache_key()


async def test_summary_funnel_exports_and_anomalies_split_too(gateway: Gateway) -> None:
    summary = await gateway.client.get(
        f"/api/kpis/summary?{PERIOD}&shops=shop-2,shop-1&kpis=gmv,%20aov&kpis=units,gmv"
    )
    assert summary.status_code == 200, summary.text
    funnel = await gateway.client.get(f"/api/kpis/funnel?{PERIOD}&shops=shop-3,shop-1")
    assert funnel.status_code == 200, funnel.text
    assert gateway.reads.totals[0] == (["shop-1", "shop-2"], ["gmv", "aov", "units"])
    assert gateway.reads.totals[-1][0] == ["shop-1", "shop-3"]

    export = await gateway.client.get(
        f"/api/exports/kpis?{PERIOD}&format=csv&shops=shop-1,shop-2&kpis=gmv,units"
    )
    assert export.status_code == 200, export.text
    [query] = gateway.reads.exports
    assert (query.shops, query.kpis) == (["shop-1", "shop-2"], ["gmv", "units"])

    anomalies = await gateway.client.get(
        "/api/anomalies?severity=warning,%20critical&severity=info"
    )
    assert anomalies.status_code == 200, anomalies.text
    assert gateway.reads.anomalies[-1][3] == ["warning", "critical", "info"]


async def test_a_list_of_only_empty_items_is_not_given(gateway: Gateway) -> None:
    # Optional lists: `shops=` / `kpis=` / `severity=` read as absent (all shops, the default
    # KPIs, every severity), not as "none of them".
    summary = await gateway.client.get(f"/api/kpis/summary?{PERIOD}&shops=,&kpis=")
    assert summary.status_code == 200, summary.text
    shops, kpis = gateway.reads.totals[0]
    assert shops == sorted(SHOPS)
    assert kpis == ["gmv", "paid_orders", "units", "aov", "unique_visitors", "conversion_rate"]
    assert (await gateway.client.get("/api/anomalies?severity=")).status_code == 200
    assert gateway.reads.anomalies[-1][3] is None
    # A required list still needs an item.
    series = await gateway.client.get(f"{SERIES}&shops=shop-1&kpis=,%20,")
    assert series.status_code == 422
    assert [e["field"] for e in series.json()["errors"]] == ["query.kpis"]
    assert "at least 1 item" in series.json()["detail"]


@pytest.mark.parametrize(
    ("path", "field", "bad"),
    [
        (f"{SERIES}&shops=shop-1&kpis=gmv,nope", "query.kpis", "'nope'"),
        (f"{SERIES}&shops=shop-1&kpis=gmv&kpis=aov,nope", "query.kpis", "'nope'"),
        (f"/api/kpis/summary?{PERIOD}&kpis=gmv,nope", "query.kpis", "'nope'"),
        (f"/api/exports/kpis?{PERIOD}&shops=shop-1&kpis=gmv,nope", "query.kpis", "'nope'"),
        # The index is the item's, after splitting.
        (f"{SERIES}&kpis=gmv&shops=shop-1,bad%20shop", "query.shops.1", "pattern"),
        ("/api/anomalies?severity=warning,bogus", "query.severity.1", "'critical'"),
    ],
    ids=["series", "series-mixed", "summary", "export", "shop-id", "severity"],
)
async def test_a_bad_item_in_a_comma_list_is_422_naming_the_field_and_item(
    gateway: Gateway, path: str, field: str, bad: str
) -> None:
    response = await gateway.client.get(path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert bad in error["message"]
    assert gateway.reads == Reads()


KPI_NAMES = list(KPI_BY_NAME)


@pytest.mark.parametrize(
    ("path", "items", "limit"),
    [
        (f"{SERIES}&shops=shop-1&kpis=", [*KPI_NAMES, "gmv"], len(KPI_NAMES)),
        (f"/api/kpis/summary?{PERIOD}&kpis=", [*KPI_NAMES, "gmv"], 30),
        (f"{SERIES}&kpis=gmv&shops=", SHOPS, 50),
        (f"/api/kpis/funnel?{PERIOD}&shops=", SHOPS, 50),
    ],
    ids=["series-kpis", "summary-kpis", "series-shops", "funnel-shops"],
)
async def test_the_maximum_count_applies_after_splitting(
    gateway: Gateway, path: str, items: list[str], limit: int
) -> None:
    assert len(items) == limit + 1
    name = path.rsplit("&", 1)[1].removesuffix("=")
    too_many = ",".join(items)
    commas = await gateway.client.get(path + too_many)
    half = len(items) // 2
    mixed = await gateway.client.get(
        f"{path}{','.join(items[:half])}&{name}={','.join(items[half:])}"
    )
    repeated = await gateway.client.get(f"{path}{f'&{name}='.join(items)}")
    for response in (commas, mixed, repeated):
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == f"query.{name}"
        assert f"at most {limit} items" in response.json()["detail"]
    at_the_limit = await gateway.client.get(path + ",".join(items[:limit]))
    assert at_the_limit.status_code == 200, at_the_limit.text


async def test_openapi_says_every_query_list_takes_both_forms(gateway: Gateway) -> None:
    spec = gateway.app.openapi()
    lists = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                if parameter["in"] == "query" and "array" in {
                    option.get("type") for option in [schema, *schema.get("anyOf", [])]
                }:
                    lists.append(f"{method} {path} {parameter['name']}")
                    name = parameter["name"]
                    assert f"`{name}=" in parameter["description"], lists[-1]
                    assert "commas" in parameter["description"], lists[-1]
    assert len(lists) == 11, lists  # shops and kpis of 3 routes, shops of 4, severity
