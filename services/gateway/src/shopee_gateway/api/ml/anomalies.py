"""GET /api/anomalies: what the stream job's detector found (table `anomalies`), scoped to the
caller's shops."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from shopee_gateway.api.ml.schemas import Anomaly, AnomalyPage, Severity, ShopId
from shopee_gateway.errors import field_error, problem_responses
from shopee_gateway.list_params import CommaSeparated, list_description
from shopee_gateway.security.dependencies import require, require_shop
from shopee_gateway.security.principal import Principal

router = APIRouter(tags=["anomalies"])

# The shop list is always the caller's (or the one asked for, once checked against it): the
# scope is in the WHERE clause, not in a filter applied afterwards.
# A product's name comes from its latest catalogue event (product_catalog).
ANOMALIES = """
SELECT a.id, a.shop_id, a.product_id, coalesce(c.payload->>'name', '') AS product_name, a.kpis,
       a.bucket_start, a.bucket_end, a.observed, a.expected, a.expected_low, a.expected_high,
       a.score, a.severity, a.detector, a.explanation, a.created_at, a.updated_at
FROM anomalies AS a
LEFT JOIN product_catalog AS c ON c.shop_id = a.shop_id AND c.product_id = a.product_id
WHERE a.shop_id = ANY($1::text[])
  AND ($2::timestamptz IS NULL OR a.bucket_end > $2)
  AND ($3::timestamptz IS NULL OR a.bucket_start < $3)
  AND ($4::text[] IS NULL OR a.severity = ANY($4::text[]))
  AND ($5::text IS NULL OR a.kpis @> ARRAY[$5::text])
ORDER BY a.bucket_start DESC, a.id
LIMIT $6
"""


@router.get(
    "/api/anomalies",
    summary="Detected anomalies, newest first, with observed and expected values",
    responses=problem_responses(401, 403, 404, 422),
)
async def anomalies(
    request: Request,
    principal: Annotated[Principal, Depends(require("kpis:read"))],
    shop_id: Annotated[ShopId | None, Query(description="Default: every shop you can see.")] = None,
    from_: Annotated[
        datetime | None,
        Query(
            alias="from",
            description="Anomalies ending after this time.",
            examples=["2026-11-01T00:00:00Z"],
        ),
    ] = None,
    to: Annotated[
        datetime | None,
        Query(
            description="Anomalies starting before this time.", examples=["2026-12-01T00:00:00Z"]
        ),
    ] = None,
    severity: Annotated[
        list[Severity] | None,
        Query(
            description=list_description(
                "One or more severities.", "severity", "warning", "critical"
            ),
            examples=[["warning", "critical"]],
        ),
        CommaSeparated,
    ] = None,
    kpi: Annotated[
        str | None,
        Query(max_length=64, description="Anomalies involving this KPI.", examples=["gmv"]),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, examples=[20])] = 100,
) -> AnomalyPage:
    """From the anomalies the stream job's detector recorded for your shops (or the one asked
    for): each with the KPIs that moved, their observed and expected values and range, a score,
    a severity and a plain-language explanation."""
    if shop_id is not None:
        require_shop(principal, shop_id)
    for name, moment in (("from", from_), ("to", to)):
        if moment is not None and moment.tzinfo is None:
            raise field_error(name, "needs a time zone, e.g. 2025-01-01T00:00:00Z")
    if from_ is not None and to is not None and to <= from_:
        raise field_error("to", "must be after from")
    shops = [shop_id] if shop_id is not None else sorted(principal.shop_ids)
    # `severity=` alone splits to no severities: not given, rather than matching none.
    severities = severity or None
    rows = await request.app.state.pool.fetch(ANOMALIES, shops, from_, to, severities, kpi, limit)
    return AnomalyPage(items=[Anomaly.model_validate(dict(row)) for row in rows])
