"""The organisation's shops: list them, register one, rename one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from shopee_gateway.api import examples as ex
from shopee_gateway.api.models import ShopCreate, ShopOut, ShopRename
from shopee_gateway.api.users import members_repository
from shopee_gateway.errors import ProblemError, not_found, problem_responses
from shopee_gateway.repositories.members import ShopExists, record_dict
from shopee_gateway.security.dependencies import authenticated, require
from shopee_gateway.security.principal import Principal

router = APIRouter(prefix="/api/shops", tags=["shops"], responses=problem_responses(401, 403, 429))
ManageShops = Annotated[Principal, Depends(require("shops:manage"))]
ShopId = Annotated[
    str, Path(description="A shop's `id` (GET /api/shops).", examples=[ex.SHOP_ID], max_length=128)
]


@router.get("", response_model=list[ShopOut], summary="The organisation's shops")
async def list_shops(
    request: Request, principal: Annotated[Principal, Depends(authenticated)]
) -> list[ShopOut]:
    """Every shop of the caller's organisation, by id."""
    rows = await members_repository(request).shops(principal.organisation_id)
    return [ShopOut(**record_dict(r)) for r in rows]


@router.post(
    "",
    response_model=ShopOut,
    status_code=201,
    summary="Register a shop",
    responses=problem_responses(409, 422),
)
async def register_shop(request: Request, body: ShopCreate, principal: ManageShops) -> ShopOut:
    """From now on its events are counted: the stream job and ingest accept them (a record
    dead-lettered before as `unknown shop` can be sent again: `shopee-dlq redrive`). Its zone
    and currency cannot change later: every hour and day already counted is in them."""
    try:
        row = await members_repository(request).register_shop(
            principal.organisation_id,
            body.id,
            body.name,
            body.market,
            body.currency,
            body.time_zone,
        )
    except ShopExists as exc:
        raise ProblemError(409, f"a shop with id {body.id!r} is registered already") from exc
    return ShopOut(**record_dict(row))


@router.patch(
    "/{shop_id}",
    response_model=ShopOut,
    summary="Rename a shop",
    responses=problem_responses(404, 422),
)
async def rename_shop(
    request: Request, shop_id: ShopId, body: ShopRename, principal: ManageShops
) -> ShopOut:
    """Only the name changes: the id is what its events carry, and its zone and currency are
    those its figures are counted in."""
    row = await members_repository(request).rename_shop(
        principal.organisation_id, shop_id, body.name
    )
    if row is None:
        raise not_found("shop")
    return ShopOut(**record_dict(row))
