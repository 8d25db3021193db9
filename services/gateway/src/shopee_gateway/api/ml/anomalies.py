"""GET /api/anomalies: what the stream job's detector found (table `anomalies`); GET
/api/data-incomplete: the periods it could not judge because events were late or missing (table
`data_incomplete`); GET /api/dead-letters: the records it refused, and why (table
`dead_letters`); GET /api/late-events: the events that came past the late grace and are not in
their buckets (table `late_events`). All scoped to the caller's shops."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from shopee_gateway.api.ml.schemas import (
    PAYLOAD_PREVIEW_BYTES,
    Anomaly,
    AnomalyPage,
    DataIncompletePage,
    DataIncompletePeriod,
    DeadLetterPage,
    DeadLetterRecord,
    LateEvent,
    LateEventPage,
    Severity,
    ShopId,
)
from shopee_gateway.errors import field_error, problem_responses
from shopee_gateway.list_params import CommaSeparated, list_description
from shopee_gateway.security.dependencies import KpiReader, require_shop
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

# How far the detector has judged each shop; read before the anomalies, so that every anomaly
# before it is in what they return.
JUDGED_UNTIL = """
SELECT shop_id, judged_until FROM anomaly_detector_state WHERE shop_id = ANY($1::text[])
"""

DATA_INCOMPLETE = """
SELECT id, shop_id, since, resolved_at AS until, resolved_at IS NULL AS ongoing, lag_seconds,
       reason, detected_at, updated_at
FROM data_incomplete
WHERE shop_id = ANY($1::text[])
  AND ($2::timestamptz IS NULL OR resolved_at IS NULL OR resolved_at > $2)
  AND ($3::timestamptz IS NULL OR since < $3)
  AND (NOT $4::boolean OR resolved_at IS NULL)
ORDER BY since DESC, id DESC
LIMIT $5
"""

DEAD_LETTERS = f"""
SELECT id, shop_id, event_id, reason, errors, source_topic, source_partition, source_offset,
       content_type, octet_length(payload) AS payload_bytes,
       substring(payload FROM 1 FOR {PAYLOAD_PREVIEW_BYTES}) AS preview, failed_at
FROM dead_letters
WHERE shop_id = ANY($1::text[])
  AND ($2::timestamptz IS NULL OR failed_at >= $2)
  AND ($3::timestamptz IS NULL OR failed_at < $3)
  AND ($4::text IS NULL OR starts_with(reason, $4))
ORDER BY failed_at DESC, id DESC
LIMIT $5
"""

LATE_EVENTS = """
SELECT shop_id, event_id, topic, occurred_at, received_at, lateness_seconds, reason
FROM late_events
WHERE shop_id = ANY($1::text[])
  AND ($2::timestamptz IS NULL OR occurred_at >= $2)
  AND ($3::timestamptz IS NULL OR occurred_at < $3)
ORDER BY occurred_at DESC, event_id
LIMIT $4
"""

ShopParam = Annotated[ShopId | None, Query(description="Default: every shop you can see.")]
# What every list here may answer besides its page: no caller, no permission, a shop not the
# caller's, a window the wrong way round.
LIST_ERRORS = problem_responses(401, 403, 404, 422)
Limit = Annotated[int, Query(ge=1, le=1000, examples=[20])]


def _from(description: str) -> Any:
    return Query(alias="from", description=description, examples=["2026-11-01T00:00:00Z"])


def _to(description: str) -> Any:
    return Query(description=description, examples=["2026-12-01T00:00:00Z"])


def _scope(
    principal: Principal, shop_id: str | None, from_: datetime | None, to: datetime | None
) -> list[str]:
    """The shops asked about (the caller's own, or the one named once checked against them),
    after checking the window."""
    if shop_id is not None:
        require_shop(principal, shop_id)
    for name, moment in (("from", from_), ("to", to)):
        if moment is not None and moment.tzinfo is None:
            raise field_error(name, "needs a time zone, e.g. 2025-01-01T00:00:00Z")
    if from_ is not None and to is not None and to <= from_:
        raise field_error("to", "must be after from")
    return [shop_id] if shop_id is not None else sorted(principal.shop_ids)


@router.get(
    "/api/anomalies",
    summary="Detected anomalies, newest first, with observed and expected values",
    responses=LIST_ERRORS,
)
async def anomalies(
    request: Request,
    principal: KpiReader,
    shop_id: ShopParam = None,
    from_: Annotated[datetime | None, _from("Anomalies ending after this time.")] = None,
    to: Annotated[datetime | None, _to("Anomalies starting before this time.")] = None,
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
    limit: Limit = 100,
) -> AnomalyPage:
    """From the anomalies the stream job's detector recorded for your shops (or the one asked
    for): each with the KPIs that moved, their observed and expected values and range, a score,
    a severity and a plain-language explanation; and per shop, how far the detector has
    judged (`judged_until`), so that "no anomaly" is told from "not judged yet"."""
    shops = _scope(principal, shop_id, from_, to)
    # `severity=` alone splits to no severities: not given, rather than matching none.
    severities = severity or None
    pool = request.app.state.pool
    judged = {row["shop_id"]: row["judged_until"] for row in await pool.fetch(JUDGED_UNTIL, shops)}
    rows = await pool.fetch(ANOMALIES, shops, from_, to, severities, kpi, limit)
    return AnomalyPage(
        items=[Anomaly.model_validate(dict(row)) for row in rows],
        judged_until={shop: judged.get(shop) for shop in shops},
    )


@router.get(
    "/api/data-incomplete",
    summary="Periods whose KPIs are incomplete (events late or missing), newest first",
    responses=LIST_ERRORS,
)
async def data_incomplete(
    request: Request,
    principal: KpiReader,
    shop_id: ShopParam = None,
    from_: Annotated[
        datetime | None, _from("Periods ending after this time (or still going on).")
    ] = None,
    to: Annotated[datetime | None, _to("Periods starting before this time.")] = None,
    ongoing: Annotated[
        bool, Query(description="Only the periods still going on.", examples=[True])
    ] = False,
    limit: Limit = 100,
) -> DataIncompletePage:
    """The periods the stream job did not judge for anomalies because a shop's events were
    late or had stopped arriving: its "data incomplete" signal, with the lag and the reason.
    A period still going on has no `until`: that shop's latest KPIs are short of the truth."""
    shops = _scope(principal, shop_id, from_, to)
    rows = await request.app.state.pool.fetch(DATA_INCOMPLETE, shops, from_, to, ongoing, limit)
    return DataIncompletePage(items=[DataIncompletePeriod.model_validate(dict(r)) for r in rows])


@router.get(
    "/api/dead-letters",
    summary="Records the stream job refused, newest first, with the reason and the field",
    responses=LIST_ERRORS,
)
async def dead_letters(
    request: Request,
    principal: KpiReader,
    shop_id: ShopParam = None,
    from_: Annotated[datetime | None, _from("Refused at or after this time.")] = None,
    to: Annotated[datetime | None, _to("Refused before this time.")] = None,
    reason: Annotated[
        str | None,
        Query(
            max_length=200,
            description='Reasons starting with this ("invalid value" takes every field).',
            examples=["invalid value"],
        ),
    ] = None,
    limit: Limit = 100,
) -> DeadLetterPage:
    """What a producer writing to the event topics itself (rather than through ingest, which
    answers each record's errors at once) sent and the stream job refused: undecodable bytes, a
    schema violation, an absurd value, another zone than the shop's. The record itself stays in
    the topic `events.dlq` for 30 days; an operator can send it again once fixed (`shopee-dlq`).
    A record of a shop that is not registered belongs to no organisation and is not listed."""
    shops = _scope(principal, shop_id, from_, to)
    rows = await request.app.state.pool.fetch(DEAD_LETTERS, shops, from_, to, reason, limit)
    return DeadLetterPage(
        items=[
            DeadLetterRecord.model_validate(
                {
                    **dict(row),
                    "payload_preview": bytes(row["preview"]).decode("utf-8", "replace"),
                }
            )
            for row in rows
        ]
    )


@router.get(
    "/api/late-events",
    summary="Events that came too late to be counted in their buckets, newest first",
    responses=LIST_ERRORS,
)
async def late_events(
    request: Request,
    principal: KpiReader,
    shop_id: ShopParam = None,
    from_: Annotated[datetime | None, _from("Events that occurred at or after this time.")] = None,
    to: Annotated[datetime | None, _to("Events that occurred before this time.")] = None,
    limit: Limit = 100,
) -> LateEventPage:
    """An event more than the late grace (10 minutes by default) behind the newest event of its
    shop and source when it arrives is recorded here and not counted: its minute, hour and day
    were closed and judged. The figures of the hours it names are short by it."""
    shops = _scope(principal, shop_id, from_, to)
    rows = await request.app.state.pool.fetch(LATE_EVENTS, shops, from_, to, limit)
    return LateEventPage(items=[LateEvent.model_validate(dict(r)) for r in rows])
