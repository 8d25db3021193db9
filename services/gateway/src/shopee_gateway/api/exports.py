"""Exports of any KPI query as CSV, Excel or JSON, streamed in constant memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from shopee_gateway.api import examples as ex
from shopee_gateway.api.kpis import visible_shops
from shopee_gateway.errors import problem_responses
from shopee_gateway.exports import Batches, csv_stream, excel_stream, json_stream
from shopee_gateway.kpi_query import ExportQuery
from shopee_gateway.openapi import keep_nulls
from shopee_gateway.repositories.kpis import EXPORT_COLUMNS, KpiRepository
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
ExportFormatParam = Annotated[
    ExportFormat,
    Query(alias="format", description="csv, xlsx (Excel) or json.", examples=["json"]),
]

# The rows of glowlab-id's gmv and paid_orders on 2026-11-01 (Asia/Jakarta), the shop's then a
# product's: shop_id, product_id ('' = the whole shop), kpi, bucket, value, numerator,
# denominator (null but for ratios).
_ROWS: list[tuple[str, str, str, str, int, int, int | None]] = [
    (ex.SHOP_ID, "", "gmv", "2026-11-01T00:00:00+07:00", 1542350000, 1542350000, None),
    (ex.SHOP_ID, "", "paid_orders", "2026-11-01T00:00:00+07:00", 162, 162, None),
    (ex.SHOP_ID, ex.PRODUCT_ID, "gmv", "2026-11-01T00:00:00+07:00", 118800000, 118800000, None),
    (ex.SHOP_ID, ex.PRODUCT_ID, "paid_orders", "2026-11-01T00:00:00+07:00", 41, 41, None),
]
FORMAT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The rows: shop_id, product_id, kpi, bucket, value, numerator, denominator",
        "content": {
            MEDIA_TYPES[ExportFormat.CSV]: {
                "example": "\n".join(
                    [
                        ",".join(EXPORT_COLUMNS),
                        *(",".join("" if v is None else str(v) for v in row) for row in _ROWS),
                    ]
                )
                + "\n"
            },
            MEDIA_TYPES[ExportFormat.XLSX]: {},
            MEDIA_TYPES[ExportFormat.JSON]: {
                "example": keep_nulls(
                    [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in _ROWS]
                )
            },
        },
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
    export_format: ExportFormatParam = ExportFormat.CSV,
) -> StreamingResponse:
    """Every bucket of the query (and every product's with `products=true`), any size.

    CSV and JSON start at once; Excel is written to disk first (see docs/gateway.md).
    """
    return export_response(request, principal, query, export_format)
