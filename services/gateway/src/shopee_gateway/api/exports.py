"""Exports of any KPI query as CSV, Excel or JSON, streamed in constant memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from shopee_gateway.api.kpis import visible_shops
from shopee_gateway.errors import problem_responses
from shopee_gateway.exports import Batches, csv_stream, excel_stream, json_stream
from shopee_gateway.kpi_query import ExportQuery
from shopee_gateway.repositories.kpis import KpiRepository
from shopee_gateway.security.dependencies import require
from shopee_gateway.security.principal import Principal

router = APIRouter(
    prefix="/api/exports", tags=["exports"], responses=problem_responses(401, 403, 404, 422, 429)
)
Exporter = Annotated[Principal, Depends(require("exports:create"))]


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.JSON: "application/json",
}
WRITERS: dict[ExportFormat, Callable[[Batches, ZoneInfo], AsyncIterator[bytes]]] = {
    ExportFormat.CSV: csv_stream,
    ExportFormat.XLSX: excel_stream,
    ExportFormat.JSON: json_stream,
}
FORMAT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The rows: shop_id, product_id, kpi, bucket, value, numerator, denominator",
        "content": {media: {} for media in MEDIA_TYPES.values()},
    }
}


def export_response(
    request: Request, principal: Principal, query: ExportQuery, export_format: ExportFormat
) -> StreamingResponse:
    """Stream `query`'s rows in `export_format` (after checking every shop is the caller's)."""
    visible_shops(principal, query.shops)
    repo: KpiRepository = request.app.state.kpis
    rows = repo.export_rows(query, with_products=query.products)
    filename = f"kpis-{query.interval.value}-{query.start:%Y%m%d}.{export_format.value}"
    return StreamingResponse(
        WRITERS[export_format](rows, ZoneInfo(query.time_zone)),
        media_type=MEDIA_TYPES[export_format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/kpis",
    summary="Export a KPI query as CSV, Excel or JSON",
    response_class=StreamingResponse,
    responses=FORMAT_RESPONSES,
)
async def export_kpis(
    request: Request,
    query: Annotated[ExportQuery, Query()],
    principal: Exporter,
    export_format: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.CSV,
) -> StreamingResponse:
    """Every bucket of the query (and every product's with `products=true`), any size.

    CSV and JSON start at once; Excel is written to disk first (see docs/gateway.md).
    """
    return export_response(request, principal, query, export_format)
