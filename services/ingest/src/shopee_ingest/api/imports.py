"""POST /v1/imports (Seller Centre export files) and GET /v1/imports/{id} (progress)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shopee_common.events import zone_mismatch
from shopee_common.http import problem
from shopee_ingest.adapters.import_progress import MAX_REPORTED_ERRORS, ImportProgress
from shopee_ingest.adapters.publisher import PublishFailed
from shopee_ingest.api.deps import CallingProducer, Components, IngestComponents, publishing_for
from shopee_ingest.domain.export_files import ExportFileError, read_export
from shopee_ingest.domain.export_mapping import ImportOptions, map_export

router = APIRouter(prefix="/v1/imports", tags=["imports"])
log = structlog.get_logger("ingest.imports")
PUBLISH_CHUNK = 2_000


class ImportView(BaseModel):
    import_id: str
    shop_id: str
    filename: str
    status: str = Field(description="queued, reading, publishing, completed or failed")
    export_kind: str | None
    percent: float = Field(description="share of the file's events Kafka acknowledged")
    rows_total: int
    rows_rejected: int
    events_total: int
    events_published: int
    errors: list[dict[str, object]] = Field(description=f"first {MAX_REPORTED_ERRORS} row errors")
    ignored_columns: list[str]
    detail: str | None


def _view(progress: ImportProgress) -> ImportView:
    return ImportView(
        percent=progress.percent,
        **{k: getattr(progress, k) for k in ImportView.model_fields if k != "percent"},
    )


@router.post(
    "",
    status_code=202,
    summary="Import a Seller Centre export file",
    description=(
        "Upload the orders export or the traffic (shop performance) export of Shopee Seller Centre, "
        "as CSV or XLSX. Column order, header language (English or Indonesian), thousands "
        "separators and the usual date formats are handled. The import runs in the background: "
        "follow it at the returned `status_url`. Rows that cannot be read are reported with their "
        "row number and column and left out (an order with a bad row is left out whole); the rest "
        "is published. Event ids derive from the shop and the order or date, so importing the "
        "same file again counts nothing twice.\n\n"
        "Times in the file are read in `time_zone`, which must be the zone the shop is registered "
        "in; with an organisation's key it may be omitted and defaults to that zone (an operator "
        "key must send it)."
    ),
    responses={
        202: {"description": "accepted; progress at status_url"},
        400: {"description": "bad form field, or time_zone not the shop's registered zone"},
        401: {"description": "missing or invalid key"},
        403: {"description": "shop outside the key's organisation"},
        413: {"description": "file too large"},
    },
)
async def create_import(
    request: Request,
    wired: Components,
    caller: CallingProducer,
    file: Annotated[UploadFile, File(description="the .csv or .xlsx export")],
    shop_id: Annotated[str, Form(examples=["shop-id-1"])],
    currency: Annotated[str, Form(pattern="^[A-Z]{3}$", examples=["IDR"])],
    time_zone: Annotated[
        str | None,
        Form(
            description="the IANA zone the shop is registered in; defaults to it with an "
            "organisation's key, required with an operator key",
            examples=["Asia/Jakarta"],
        ),
    ] = None,
    kind: Annotated[str | None, Form(description="orders or traffic; detected if omitted")] = None,
    decimal_separator: Annotated[
        str | None, Form(pattern="^[.,]$", description="override the number format guess")
    ] = None,
) -> Any:
    caller = await publishing_for(wired, caller, [shop_id])
    if not caller.may_publish_for(shop_id):
        return problem(403, "Forbidden shop", f"this API key may not publish for shop {shop_id!r}")
    registered = caller.registered_zone(shop_id)
    if time_zone is None:
        if registered is None:
            # The same answer as any other missing form field.
            raise RequestValidationError(
                [{"type": "missing", "loc": ("body", "time_zone"), "msg": "Field required"}]
            )
        time_zone = registered
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return problem(
            400,
            "Invalid field",
            f"time_zone: unknown IANA time zone {time_zone!r}",
            errors=[{"field": "time_zone", "message": "unknown IANA time zone"}],
        )
    wrong_zone = zone_mismatch(shop_id, time_zone, registered) if registered else None
    if wrong_zone is not None:
        return problem(
            400,
            "Invalid field",
            f"time_zone: {wrong_zone}",
            errors=[{"field": "time_zone", "message": wrong_zone}],
        )
    content = await file.read()
    filename = file.filename or "upload"
    progress = ImportProgress(
        import_id=uuid.uuid4().hex,
        shop_id=shop_id,
        filename=filename,
        organisation_id=caller.organisation_id,
    )
    await wired.progress.save(progress)
    options = ImportOptions(
        shop_id=shop_id,
        time_zone=time_zone,
        currency=currency,
        source_name=filename,
        decimal_separator=decimal_separator,
    )
    task = asyncio.create_task(_run_import(wired, progress, content, kind, options))
    running: set[asyncio.Task[None]] = request.app.state.imports
    running.add(task)
    task.add_done_callback(running.discard)
    url = str(request.url_for("get_import", import_id=progress.import_id))
    return JSONResponse(
        {"import_id": progress.import_id, "status_url": url, "status": progress.status},
        status_code=202,
        headers={"Location": url},
    )


@router.get(
    "/{import_id}",
    name="get_import",
    summary="Progress of an import",
    response_model=ImportView,
    responses={404: {"description": "no such import for this key"}},
)
async def get_import(import_id: str, wired: Components, caller: CallingProducer) -> ImportView:
    progress = await wired.progress.load(import_id)
    visible = progress is not None and (
        caller.organisation_id is None or progress.organisation_id == caller.organisation_id
    )
    if progress is None or not visible:
        raise HTTPException(404, f"no import {import_id!r}")
    return _view(progress)


async def _run_import(
    wired: IngestComponents,
    progress: ImportProgress,
    content: bytes,
    kind: str | None,
    options: ImportOptions,
) -> None:
    try:
        progress.status = "reading"
        await wired.progress.save(progress)
        # Parsing a large XLSX is CPU work: keep it off the event loop.
        table = await asyncio.to_thread(read_export, progress.filename, content, kind)
        mapped = await asyncio.to_thread(map_export, table, options)
        progress.export_kind = table.export_format.name
        progress.ignored_columns = table.ignored_headers
        progress.rows_total = mapped.rows_read
        progress.rows_rejected = len({e.row for e in mapped.errors})
        progress.errors = [
            {"row": e.row, "column": e.column, "message": e.message}
            for e in mapped.errors[:MAX_REPORTED_ERRORS]
        ]
        progress.events_total = len(mapped.events)
        progress.status = "publishing"
        await wired.progress.save(progress)
        for start in range(0, len(mapped.events), PUBLISH_CHUNK):
            chunk = mapped.events[start : start + PUBLISH_CHUNK]
            await wired.publisher.publish(chunk)
            progress.events_published += len(chunk)
            await wired.progress.save(progress)
        progress.status = "completed"
    except ExportFileError as exc:
        progress.status, progress.detail = "failed", str(exc)
    except PublishFailed as exc:
        progress.status = "failed"
        progress.detail = (
            f"{exc}; {progress.events_published} events were published; upload again to finish"
        )
    except Exception as exc:
        log.exception("import failed", import_id=progress.import_id)
        progress.status, progress.detail = "failed", f"internal error: {type(exc).__name__}"
    await wired.progress.save(progress)
    wired.metrics.imports.labels(progress.status).inc()
    wired.metrics.records_rejected.labels("imports").inc(progress.rows_rejected)
    log.info(
        "import finished",
        import_id=progress.import_id,
        status=progress.status,
        events=progress.events_published,
        rejected_rows=progress.rows_rejected,
    )
