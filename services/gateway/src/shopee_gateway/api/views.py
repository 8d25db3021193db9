"""Saved views: named KPI queries shared within an organisation; run or export one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from shopee_gateway.api import examples as ex
from shopee_gateway.api.exports import (
    FORMAT_RESPONSES,
    ExportFormat,
    ExportFormatParam,
    export_response,
)
from shopee_gateway.api.kpi_models import SeriesResponse
from shopee_gateway.api.kpis import cached_json, series_answer, visible_shops
from shopee_gateway.errors import ProblemError, not_found, problem_responses
from shopee_gateway.kpi_query import ExportQuery, KpiQuery
from shopee_gateway.repositories.kpis import KpiRepository
from shopee_gateway.repositories.views import ViewExists, ViewsRepository
from shopee_gateway.security.dependencies import KpiReader, require
from shopee_gateway.security.principal import Principal

router = APIRouter(
    prefix="/api/views", tags=["saved views"], responses=problem_responses(401, 403, 404, 422, 429)
)
Exporter = Annotated[Principal, Depends(require("exports:create"))]
ViewId = Annotated[UUID, Path(description="A view's `id` (GET /api/views).", examples=[ex.VIEW_ID])]

# A saved view as stored: its query in the canonical form of KpiQuery (UTC times, defaults).
_VIEW_QUERY: JsonDict = {
    "shops": [ex.SHOP_ID],
    "kpis": ["gmv", "conversion_rate"],
    "from": "2026-10-31T17:00:00Z",
    "to": "2026-11-07T17:00:00Z",
    "interval": "day",
    "time_zone": ex.TIME_ZONE,
    "product_id": "",
    "group": "shop",
}


class ViewIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "GlowLab weekly GMV",
                    "shared": True,
                    "query": {
                        "shops": [ex.SHOP_ID],
                        "kpis": ["gmv", "conversion_rate"],
                        "from": "2026-11-01T00:00:00",
                        "to": "2026-11-08T00:00:00",
                        "interval": "day",
                        "time_zone": ex.TIME_ZONE,
                    },
                }
            ]
        }
    )
    name: str = Field(min_length=1, max_length=200)
    query: KpiQuery
    shared: bool = Field(False, description="Visible to the whole organisation.")


class ViewOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": ex.VIEW_ID,
                    "name": "GlowLab weekly GMV",
                    "query": _VIEW_QUERY,
                    "shared": True,
                    "owner_id": ex.ANALYST_ID,
                    "created_at": "2026-11-08T03:12:44Z",
                    "updated_at": "2026-11-08T03:12:44Z",
                }
            ]
        }
    )
    id: UUID
    name: str
    query: dict[str, Any]
    shared: bool
    owner_id: UUID | None = Field(description="Null for a view saved by an API key.")
    created_at: datetime
    updated_at: datetime


def _views(request: Request) -> ViewsRepository:
    views: ViewsRepository = request.app.state.views
    return views


def _out(row: asyncpg.Record) -> ViewOut:
    return ViewOut(**dict(row.items()))


async def _load(request: Request, principal: Principal, view_id: UUID) -> asyncpg.Record:
    row = await _views(request).get(principal.organisation_id, principal.user_id, view_id)
    if row is None:
        raise not_found("view")
    return row


@router.get("", response_model=list[ViewOut], summary="Your views and the shared ones")
async def list_views(request: Request, principal: KpiReader) -> list[ViewOut]:
    """Views the caller may read, by name."""
    rows = await _views(request).visible(principal.organisation_id, principal.user_id)
    return [_out(r) for r in rows]


@router.post(
    "",
    response_model=ViewOut,
    status_code=201,
    summary="Save a view",
    responses=problem_responses(409),
)
async def create_view(request: Request, body: ViewIn, principal: KpiReader) -> ViewOut:
    """Its shops must be the caller's; names are unique in the organisation."""
    visible_shops(principal, body.query.shops)
    try:
        row = await _views(request).create(
            principal.organisation_id,
            principal.user_id,
            body.name,
            body.query.model_dump(mode="json", by_alias=True),
            body.shared,
        )
    except ViewExists as exc:
        raise ProblemError(409, f"a view named {body.name!r} exists") from exc
    return _out(row)


@router.get("/{view_id}", response_model=ViewOut, summary="One view")
async def get_view(request: Request, view_id: ViewId, principal: KpiReader) -> ViewOut:
    """A view the caller may read."""
    return _out(await _load(request, principal, view_id))


@router.put(
    "/{view_id}", response_model=ViewOut, summary="Replace a view", responses=problem_responses(409)
)
async def replace_view(
    request: Request, view_id: ViewId, body: ViewIn, principal: KpiReader
) -> ViewOut:
    """The owner, or a user admin, may change a view."""
    visible_shops(principal, body.query.shops)
    try:
        row = await _views(request).update(
            principal.organisation_id,
            principal.user_id,
            principal.has("users:manage"),
            view_id,
            body.name,
            body.query.model_dump(mode="json", by_alias=True),
            body.shared,
        )
    except ViewExists as exc:
        raise ProblemError(409, f"a view named {body.name!r} exists") from exc
    if row is None:
        raise not_found("view")
    return _out(row)


@router.delete(
    "/{view_id}",
    status_code=204,
    summary="Delete a view",
    responses={204: {"description": "Deleted."}},
)
async def delete_view(request: Request, view_id: ViewId, principal: KpiReader) -> Response:
    """The owner, or a user admin, may delete a view."""
    deleted = await _views(request).delete(
        principal.organisation_id, principal.user_id, principal.has("users:manage"), view_id
    )
    if not deleted:
        raise not_found("view")
    return Response(status_code=204)


@router.get("/{view_id}/kpis", response_model=SeriesResponse, summary="Run a view")
async def run_view(request: Request, view_id: ViewId, principal: KpiReader) -> Response:
    """The view's KPI series, as `GET /api/kpis` would answer it."""
    query = KpiQuery.model_validate((await _load(request, principal, view_id))["query"])
    visible_shops(principal, query.shops)

    async def compute() -> bytes:
        repo: KpiRepository = request.app.state.kpis
        return await series_answer(repo, query)

    return await cached_json(request, query.shops, query.cache_key(), compute)


@router.get(
    "/{view_id}/export",
    summary="Export a view",
    response_class=StreamingResponse,
    responses=FORMAT_RESPONSES,
)
async def export_view(
    request: Request,
    view_id: ViewId,
    principal: Exporter,
    export_format: ExportFormatParam = ExportFormat.CSV,
    products: Annotated[
        bool, Query(description="Also export every product's rows.", examples=[True])
    ] = False,
) -> StreamingResponse:
    """The view's rows as CSV, Excel or JSON."""
    stored = (await _load(request, principal, view_id))["query"]
    query = ExportQuery.model_validate({**stored, "products": products})
    return export_response(request, principal, query, export_format)
