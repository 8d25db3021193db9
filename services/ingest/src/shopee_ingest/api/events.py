"""POST /v1/events: a batch of events as a JSON array, NDJSON or a protobuf EventBatch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shopee_common.http import problem
from shopee_ingest.adapters.publisher import PublishFailed
from shopee_ingest.api.deps import CallingProducer, Components, publishing_for
from shopee_ingest.domain.batch import (
    MalformedBody,
    RecordError,
    TooManyRecords,
    media_type,
    parse_batch,
    reject_other_zones,
)
from shopee_ingest.domain.encoding import InflatedTooLarge, UnsupportedEncoding, decoded_body

router = APIRouter(prefix="/v1", tags=["events"])

ORDER_EXAMPLE = {
    "event_id": "7d4c1a8e-0b1f-4a51-9b0e-1f2a3b4c5d6e",
    "shop_id": "shop-id-1",
    "occurred_at": "2026-11-11T02:15:00Z",
    "time_zone": "Asia/Jakarta",
    "order": {
        "order_id": "241111ABCDEF",
        "status": "ORDER_STATUS_PAID",
        "items": [
            {
                "product_id": "p-1001",
                "quantity": 2,
                "unit_price_minor": "12500000",
                "discount_minor": "2500000",
            }
        ],
        "buyer_id": "buyer-88",
        "channel": "CHANNEL_APP",
        "currency": "IDR",
    },
}


class RejectedRecord(BaseModel):
    record: int = Field(description="0-based index of the record in the request (line for NDJSON)")
    field: str = Field(description="JSON path of the offending field, or (record)")
    message: str


class AcceptedBatch(BaseModel):
    accepted: int = Field(description="events Kafka acknowledged")
    topics: dict[str, int] = Field(description="acknowledged events per topic")
    rejected: list[RejectedRecord] = Field(
        default_factory=list, description="records left out (only with partial=true)"
    )


REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"type": "array", "items": {"type": "object"}},
            "example": [ORDER_EXAMPLE],
        },
        "application/x-ndjson": {"schema": {"type": "string"}},
        "application/x-protobuf": {
            "schema": {"type": "string", "format": "binary"},
            "description": "a serialized shopee.events.v1.EventBatch",
        },
    },
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body cannot be read (malformed JSON, protobuf or gzip)"},
    401: {"description": "missing or invalid API key"},
    403: {"description": "the key may not publish for a shop in the batch"},
    413: {"description": "body larger than the limit (once inflated too), or too many records"},
    415: {"description": "unsupported Content-Type or Content-Encoding"},
    422: {
        "description": "records failed validation; `errors` names record and field; nothing published"
    },
    503: {
        "description": "Kafka did not acknowledge; nothing is guaranteed published; retry the batch"
    },
}


def _errors_body(errors: list[RecordError]) -> list[dict[str, object]]:
    return [{"record": e.record, "field": e.field, "message": e.message} for e in errors]


@router.post(
    "/events",
    summary="Publish events",
    description=(
        "Validates every record against `shopee.events.v1.Event` and publishes the batch to the "
        "topic of each event's payload (key = shop_id), answering only after Kafka acknowledged "
        "(acks=all, idempotent producer). With an organisation's key, an event whose `time_zone` "
        "is not the zone its shop is registered in is an invalid record (field `time_zone`).\n\n"
        "**Mixed batches.** By default a batch is all-or-nothing: if any record is invalid the "
        "answer is 422 listing every bad record and field, and nothing is published, so the "
        "producer can fix and resend the whole batch. With `partial=true` the valid records are "
        "published and the invalid ones are listed under `rejected` (200).\n\n"
        "**Compression.** A body may be sent gzipped (`Content-Encoding: gzip`); the body limit "
        "applies to it inflated as well."
    ),
    response_model=AcceptedBatch,
    responses=ERROR_RESPONSES,
    openapi_extra={"requestBody": REQUEST_BODY},
)
async def post_events(
    request: Request,
    wired: Components,
    caller: CallingProducer,
    partial: Annotated[
        bool, Query(description="publish the valid records of a mixed batch")
    ] = False,
    content_encoding: Annotated[
        str | None,
        Header(description="`gzip` for a gzipped body; none (or `identity`) otherwise"),
    ] = None,
) -> Any:
    body_format = media_type(request.headers.get("content-type"))
    if body_format is None:
        return problem(
            415,
            "Unsupported media type",
            "send application/json, application/x-ndjson or application/x-protobuf",
        )
    try:
        body = decoded_body(
            await request.body(),
            content_encoding,
            wired.settings.ingest_max_body_bytes,
        )
        batch = parse_batch(body, body_format, wired.settings.ingest_max_records)
    except UnsupportedEncoding as exc:
        return problem(415, "Unsupported content encoding", str(exc))
    except InflatedTooLarge as exc:
        return problem(413, "Payload too large", str(exc))
    except TooManyRecords as exc:
        return problem(413, "Too many records", str(exc))
    except MalformedBody as exc:
        return problem(400, "Unreadable body", str(exc))
    caller = await publishing_for(wired, caller, (event.shop_id for _, event in batch.accepted))
    forbidden = [
        RecordError(index, "shop_id", f"this API key may not publish for shop {event.shop_id!r}")
        for index, event in batch.accepted
        if not caller.may_publish_for(event.shop_id)
    ]
    if forbidden:
        return problem(
            403,
            "Forbidden shop",
            "the batch holds events for shops outside your organisation",
            errors=_errors_body(forbidden),
        )
    if caller.shop_zones is not None:
        reject_other_zones(batch, caller.shop_zones)
    if batch.errors:
        wired.metrics.records_rejected.labels("events").inc(len({e.record for e in batch.errors}))
    if batch.errors and not partial:
        return problem(
            422,
            "Invalid events",
            f"{len({e.record for e in batch.errors})} of {batch.record_count} records are "
            "invalid; nothing was published",
            errors=_errors_body(batch.errors),
        )
    try:
        per_topic = await wired.publisher.publish(batch.events)
    except PublishFailed as exc:
        return problem(503, "Kafka unavailable", str(exc))
    accepted = AcceptedBatch(
        accepted=len(batch.accepted),
        topics=per_topic,
        rejected=[
            RejectedRecord(record=e.record, field=e.field, message=e.message) for e in batch.errors
        ],
    )
    return JSONResponse(accepted.model_dump())
