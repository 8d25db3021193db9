"""KPI routes: series, period summary with deltas, top products, funnel, campaigns, service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ValidationError

from shopee_common.kpis import KPI_BY_NAME, KPIS, Rollup
from shopee_gateway.api import examples as ex
from shopee_gateway.api.kpi_models import (
    PERIOD_NOTE,
    FunnelResponse,
    FunnelStep,
    KpiChange,
    KpiDefinition,
    ProductValue,
    SeriesResponse,
    ShopFunnel,
    ShopSummary,
    SummaryResponse,
    TopProductsResponse,
    summary_example,
)
from shopee_gateway.cache import KpiCache
from shopee_gateway.errors import ProblemError, field_error, problem_responses
from shopee_gateway.kpi_query import MAX_SHOPS, KpiQuery, Period, change, check_kpis, kpi_value
from shopee_gateway.list_params import CommaSeparated, list_description
from shopee_gateway.openapi import json_example
from shopee_gateway.repositories.catalog import CatalogRepository
from shopee_gateway.repositories.kpis import (
    KpiRepository,
    SeriesText,
    TotalRow,
    UnknownTimeZoneError,
)
from shopee_gateway.security.dependencies import KpiReader
from shopee_gateway.security.principal import Principal

router = APIRouter(
    prefix="/api/kpis", tags=["kpis"], responses=problem_responses(401, 403, 404, 422, 429)
)

OVERVIEW_KPIS = ("gmv", "paid_orders", "units", "aov", "unique_visitors", "conversion_rate")
FUNNEL = (
    ("views", "product_views"),
    ("cart", "add_to_carts"),
    ("checkout", "checkout_starts"),
    ("paid", "paid_orders"),
)
CAMPAIGN_KPIS = (
    "campaign_gmv",
    "flash_sale_gmv",
    "live_stream_gmv",
    "ads_gmv",
    "ads_spend",
    "roas",
    "voucher_orders",
    "voucher_usage_rate",
    "discount_cost",
)
SERVICE_KPIS = (
    "chat_conversations",
    "chat_response_rate",
    "avg_first_response_seconds",
    "csat",
    "reviews",
    "avg_review_rating",
)

ShopsParam = Annotated[
    list[str] | None,
    Query(
        max_length=MAX_SHOPS,
        description=list_description(
            "Shop ids; default: all of yours.", "shops", ex.SHOP_ID, ex.OTHER_SHOP_ID
        ),
        examples=[[ex.SHOP_ID]],
    ),
    CommaSeparated,
]
SummaryKpisParam = Annotated[
    list[str] | None,
    Query(
        max_length=30,
        description=list_description(
            f"KPI names; default: {', '.join(OVERVIEW_KPIS)}.", "kpis", "gmv", "aov"
        ),
        examples=[["gmv", "conversion_rate"]],
    ),
    CommaSeparated,
]
FromDate = Annotated[
    date, Query(alias="from", description="First local day, inclusive.", examples=["2026-11-01"])
]
ToDate = Annotated[
    date, Query(alias="to", description="Last local day, inclusive.", examples=["2026-11-07"])
]


def visible_shops(principal: Principal, shops: list[str] | None) -> list[str]:
    """The requested shops (or all the caller's); 404 for one the caller cannot see."""
    if not shops:
        return sorted(principal.shop_ids)
    for shop in shops:
        if not principal.can_see(shop):
            raise ProblemError(404, "shop not found")
    return sorted(set(shops))


def period_of(start: date, end: date) -> Period:
    """The validated period, or a 422 naming `from`/`to`."""
    try:
        return Period(start=start, end=end)
    except ValidationError as exc:
        raise field_error("query.to", exc.errors()[0]["msg"]) from exc


async def cached_json(
    request: Request,
    shops: list[str],
    key: str,
    compute: Callable[[], Awaitable[BaseModel | bytes]],
) -> Response:
    """The answer to `key` from the KPI cache, or computed now (a model, or its JSON) and cached."""
    cache: KpiCache = request.app.state.kpi_cache
    lookup = await cache.get(shops, key)
    if lookup.value is None:
        answer = await compute()
        body = (
            answer if isinstance(answer, bytes) else answer.model_dump_json(by_alias=True).encode()
        )
        await cache.set(lookup, body)
        return Response(body, media_type="application/json", headers={"X-Cache": "miss"})
    return Response(lookup.value, media_type="application/json", headers={"X-Cache": "hit"})


def _repo(request: Request) -> KpiRepository:
    repo: KpiRepository = request.app.state.kpis
    return repo


@router.get("/registry", response_model=list[KpiDefinition], summary="Every KPI and its formula")
async def kpi_registry(principal: KpiReader) -> list[KpiDefinition]:
    """The KPI registry the stream job computes from: names to ask for, titles, units, formulas
    and how each rolls up. The dashboard labels and formats every number from it."""
    return [
        KpiDefinition(
            name=kpi.name,
            title=kpi.title,
            unit=kpi.unit.value,
            rollup=kpi.rollup.value,
            formula=kpi.formula,
            per_product=kpi.per_product,
            higher_is_better=kpi.higher_is_better,
        )
        for kpi in KPIS
    ]


@router.get("", response_model=SeriesResponse, summary="KPI series per minute, hour or day")
async def kpi_series(
    request: Request, query: Annotated[KpiQuery, Query()], principal: KpiReader
) -> Response:
    """Buckets of each KPI for each shop (or across them with `group=total`).

    Minute and hour buckets are absolute; day buckets are each shop's local days.
    """
    visible_shops(principal, query.shops)

    async def compute() -> bytes:
        return await series_answer(_repo(request), query)

    return await cached_json(request, query.shops, query.cache_key(), compute)


async def series_answer(repo: KpiRepository, query: KpiQuery) -> bytes:
    """The SeriesResponse JSON of `query`; 422 if the database cannot label in its zone."""
    try:
        series = await repo.series(query)
    except UnknownTimeZoneError as exc:
        raise field_error("query.time_zone", f"the database does not know {exc}") from exc
    return build_series(query, series)


def build_series(query: KpiQuery, series: list[SeriesText]) -> bytes:
    """The SeriesResponse JSON of the series, their points' JSON spliced in unparsed.

    Each series' other fields are written by orjson in the model's field order, as
    `SeriesResponse(...).model_dump_json()` writes them (a test holds whole answers equal).
    """
    parts = [
        orjson.dumps({"interval": query.interval.value, "time_zone": query.time_zone})[:-1],
        b',"series":[',
    ]
    for index, (shop_id, kpi_name, points) in enumerate(series):
        kpi = KPI_BY_NAME[kpi_name]
        fields = {"shop_id": shop_id, "kpi": kpi.name, "title": kpi.title, "unit": kpi.unit.value}
        parts += [
            b"," if index else b"",
            orjson.dumps(fields)[:-1],
            b',"points":[',
            points,
            b"]}",
        ]
    parts.append(b"]}")
    return b"".join(parts)


def _parts(rows: list[TotalRow]) -> dict[tuple[str | None, str], tuple[float, float | None]]:
    """Numerator and denominator per (shop, kpi), plus per (None, kpi) across the shops."""
    parts: dict[tuple[str | None, str], tuple[float, float | None]] = {}
    for row in rows:
        num, den = float(row.numerator), None if row.denominator is None else float(row.denominator)
        parts[(row.shop_id, row.kpi)] = (num, den)
        total_num, total_den = parts.get((None, row.kpi), (0.0, None))
        parts[(None, row.kpi)] = (
            total_num + num,
            None if den is None and total_den is None else (total_den or 0.0) + (den or 0.0),
        )
    return parts


def _value(
    parts: dict[tuple[str | None, str], tuple[float, float | None]], shop: str | None, kpi: str
) -> float | None:
    found = parts.get((shop, kpi))
    if found is None:
        # No rows: a sum is 0, a ratio is undefined.
        return None if KPI_BY_NAME[kpi].rollup is Rollup.RATIO else 0.0
    return kpi_value(KPI_BY_NAME[kpi], *found)


async def period_summary(
    repo: KpiRepository, shops: list[str], kpis: list[str], period: Period
) -> SummaryResponse:
    """Each shop's (and the total's) KPIs over `period` against the period before it."""
    previous = period.previous()
    # Connections of the pool: the periods and how far each shop is counted, read at once.
    current_rows, previous_rows, counted = await asyncio.gather(
        repo.totals(shops, kpis, period),
        repo.totals(shops, kpis, previous),
        repo.counted_until(shops),
    )
    # All the shops together are counted up to the earliest of theirs.
    counted_all = min((counted[s] for s in shops if s in counted), default=None)
    current_parts, previous_parts = _parts(current_rows), _parts(previous_rows)
    summaries = []
    for shop in [None, *shops]:
        changes = []
        for name in kpis:
            kpi = KPI_BY_NAME[name]
            now, before = _value(current_parts, shop, name), _value(previous_parts, shop, name)
            delta, ratio = change(now, before)
            changes.append(
                KpiChange(
                    kpi=name,
                    title=kpi.title,
                    unit=kpi.unit.value,
                    current=now,
                    previous=before,
                    delta=delta,
                    delta_ratio=ratio,
                    higher_is_better=kpi.higher_is_better,
                )
            )
        summaries.append(
            ShopSummary(
                shop_id=shop,
                kpis=changes,
                counted_until=counted_all if shop is None else counted.get(shop),
            )
        )
    return SummaryResponse(
        start=period.start,
        end=period.end,
        previous_start=previous.start,
        previous_end=previous.end,
        note=PERIOD_NOTE,
        shops=summaries,
    )


async def _summary_route(
    request: Request,
    principal: Principal,
    shops: list[str] | None,
    kpis: list[str],
    start: date,
    end: date,
    name: str,
) -> Response:
    scoped = visible_shops(principal, shops)
    period = period_of(start, end)
    key = f"{name}:{','.join(scoped)}:{','.join(kpis)}:{period.start}:{period.end}"

    async def compute() -> SummaryResponse:
        return await period_summary(_repo(request), scoped, kpis, period)

    return await cached_json(request, scoped, key, compute)


@router.get(
    "/summary",
    response_model=SummaryResponse,
    summary="This period against the previous one, with deltas",
)
async def summary(
    request: Request,
    principal: KpiReader,
    start: FromDate,
    end: ToDate,
    shops: ShopsParam = None,
    kpis: SummaryKpisParam = None,
) -> Response:
    """Per shop and for all of them; the previous period has the same number of days."""
    try:
        names = check_kpis(kpis) if kpis else list(OVERVIEW_KPIS)
    except ValueError as exc:
        raise field_error("query.kpis", str(exc)) from exc
    return await _summary_route(request, principal, shops, names, start, end, "summary")


CAMPAIGNS_EXAMPLE = summary_example(
    {
        "campaign_gmv": (4_312_500_000, 3_954_200_000),
        "flash_sale_gmv": (1_186_000_000, 1_402_750_000),
        "live_stream_gmv": (935_400_000, 688_100_000),
        "ads_gmv": (2_048_600_000, 1_873_300_000),
        "ads_spend": (312_000_000, 298_500_000),
        "roas": (6.566026, 6.275712),
        "voucher_orders": (418, 389),
        "voucher_usage_rate": (0.370896, 0.372963),
        "discount_cost": (646_250_000, 612_800_000),
    }
)
SERVICE_EXAMPLE = summary_example(
    {
        "chat_conversations": (1_364, 1_298),
        "chat_response_rate": (0.948680, 0.931433),
        "avg_first_response_seconds": (212.4, 247.9),
        "csat": (4.62, 4.55),
        "reviews": (386, 352),
        "avg_review_rating": (4.81, 4.79),
    }
)


@router.get(
    "/campaigns",
    response_model=SummaryResponse,
    summary="Campaign and ads performance",
    responses={200: json_example(CAMPAIGNS_EXAMPLE)},
)
async def campaigns(
    request: Request, principal: KpiReader, start: FromDate, end: ToDate, shops: ShopsParam = None
) -> Response:
    """Campaign, flash sale, live stream and ads GMV, ads spend, ROAS, vouchers and discounts."""
    return await _summary_route(
        request, principal, shops, list(CAMPAIGN_KPIS), start, end, "campaigns"
    )


@router.get(
    "/customer-service",
    response_model=SummaryResponse,
    summary="Chat and review performance",
    responses={200: json_example(SERVICE_EXAMPLE)},
)
async def customer_service(
    request: Request, principal: KpiReader, start: FromDate, end: ToDate, shops: ShopsParam = None
) -> Response:
    """Chats, response rate and time, CSAT, reviews and rating."""
    return await _summary_route(
        request, principal, shops, list(SERVICE_KPIS), start, end, "service"
    )


@router.get("/funnel", response_model=FunnelResponse, summary="Views, cart, checkout, paid")
async def funnel(
    request: Request, principal: KpiReader, start: FromDate, end: ToDate, shops: ShopsParam = None
) -> Response:
    """The purchase funnel per shop and in total, with step-to-step rates."""
    scoped = visible_shops(principal, shops)
    period = period_of(start, end)

    async def compute() -> FunnelResponse:
        kpis = [kpi for _, kpi in FUNNEL]
        parts = _parts(await _repo(request).totals(scoped, kpis, period))
        funnels = []
        for shop in [None, *scoped]:
            counts = [parts.get((shop, kpi), (0.0, None))[0] for kpi in kpis]
            funnels.append(
                ShopFunnel(
                    shop_id=shop,
                    steps=[
                        FunnelStep(
                            step=step,
                            kpi=kpi,
                            count=count,
                            rate_from_previous=(
                                count / counts[i - 1] if i and counts[i - 1] else None
                            ),
                            rate_from_first=count / counts[0] if i and counts[0] else None,
                        )
                        for i, ((step, kpi), count) in enumerate(zip(FUNNEL, counts, strict=True))
                    ],
                )
            )
        return FunnelResponse(start=period.start, end=period.end, funnels=funnels)

    key = f"funnel:{','.join(scoped)}:{period.start}:{period.end}"
    return await cached_json(request, scoped, key, compute)


@router.get("/top-products", response_model=TopProductsResponse, summary="Best products by a KPI")
async def top_products(
    request: Request,
    principal: KpiReader,
    start: FromDate,
    end: ToDate,
    shops: ShopsParam = None,
    kpi: Annotated[str, Query(description="A KPI kept per product.", examples=["gmv"])] = "gmv",
    limit: Annotated[int, Query(ge=1, le=100, examples=[3])] = 10,
) -> Response:
    """Products ranked by `kpi` over the period (ratios recomputed per product)."""
    definition = KPI_BY_NAME.get(kpi)
    if definition is None or not definition.per_product:
        per_product = ", ".join(k.name for k in KPI_BY_NAME.values() if k.per_product)
        raise field_error("query.kpi", f"choose a KPI kept per product: {per_product}")
    scoped = visible_shops(principal, shops)
    period = period_of(start, end)

    async def compute() -> TopProductsResponse:
        ratio = definition.rollup is Rollup.RATIO
        rows = await _repo(request).top_products(scoped, kpi, ratio, period, limit)
        catalog: CatalogRepository = request.app.state.catalog
        names = await catalog.names((r.shop_id, r.product_id) for r in rows)
        return TopProductsResponse(
            kpi=kpi,
            start=period.start,
            end=period.end,
            products=[
                ProductValue(
                    shop_id=r.shop_id,
                    product_id=r.product_id,
                    name=names.get((r.shop_id, r.product_id), ""),
                    value=kpi_value(definition, r.numerator, r.denominator),
                    numerator=float(r.numerator),
                    denominator=None if r.denominator is None else float(r.denominator),
                )
                for r in rows
            ],
        )

    key = f"top:{','.join(scoped)}:{kpi}:{limit}:{period.start}:{period.end}"
    return await cached_json(request, scoped, key, compute)
