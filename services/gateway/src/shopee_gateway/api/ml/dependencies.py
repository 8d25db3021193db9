"""The upstream stubs the ML routes call (shop checks: security.dependencies.require_shop)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shopee_gateway.clients.services import Upstreams
from shopee_gateway.errors import ProblemError


def upstreams(request: Request) -> Upstreams:
    """The app's upstream stubs (set by `shopee_gateway.api.ml.start`)."""
    found: Upstreams | None = getattr(request.app.state, "upstreams", None)
    if found is None:
        raise ProblemError(503, "the gateway is starting; try again shortly")
    return found


UpstreamsDep = Annotated[Upstreams, Depends(upstreams)]
