"""Request dependencies: the wired components and the calling producer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from shopee_ingest.adapters.api_keys import ApiKeyAuthority, KeyCheckUnavailable, Producer
from shopee_ingest.adapters.import_progress import ImportProgressStore
from shopee_ingest.adapters.publisher import KafkaEventPublisher
from shopee_ingest.metrics import IngestMetrics
from shopee_ingest.settings import IngestSettings


@dataclass
class IngestComponents:
    settings: IngestSettings
    publisher: KafkaEventPublisher
    authority: ApiKeyAuthority
    progress: ImportProgressStore
    metrics: IngestMetrics


def components(request: Request) -> IngestComponents:
    wired: IngestComponents = request.app.state.components
    return wired


async def producer(
    request: Request,
    x_api_key: Annotated[str | None, Header(description="Producer API key")] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Producer:
    key = x_api_key
    if key is None and authorization and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    if not key:
        raise HTTPException(401, "an API key is required: send it in the X-API-Key header")
    try:
        resolved = await components(request).authority.resolve(key)
    except KeyCheckUnavailable as exc:
        raise HTTPException(503, str(exc)) from exc
    if resolved is None:
        raise HTTPException(401, "the API key is not valid (unknown, revoked or expired)")
    return resolved


async def publishing_for(
    wired: IngestComponents, caller: Producer, shops: Iterable[str]
) -> Producer:
    """The caller, its key looked up again if it may not publish for one of `shops` (a shop
    registered since the key was cached)."""
    try:
        return await wired.authority.for_shops(caller, shops)
    except KeyCheckUnavailable as exc:
        raise HTTPException(503, str(exc)) from exc


Components = Annotated[IngestComponents, Depends(components)]
CallingProducer = Annotated[Producer, Depends(producer)]
