"""/api/models: retrain a shop's forecast and churn models, follow the job, list the versions.
For those who administer the organisation's shops (permission shops:manage)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.datastructures import URL

from shopee.forecast.v1 import forecast_pb2
from shopee_gateway.api import examples as ex
from shopee_gateway.api.ml.dependencies import UpstreamsDep
from shopee_gateway.api.ml.schemas import (
    ModelsResponse,
    RetrainAccepted,
    RetrainRequest,
    ShopId,
    TrainingJob,
)
from shopee_gateway.errors import not_found, problem_responses
from shopee_gateway.repositories.training_jobs import TrainingJobsRepository
from shopee_gateway.security.dependencies import require, require_shop
from shopee_gateway.security.principal import Principal

router = APIRouter(prefix="/api/models", tags=["models"])
ModelAdmin = Annotated[Principal, Depends(require("shops:manage"))]
PROBLEMS = problem_responses(401, 403, 404, 422, 503)

TARGETS = {
    "gmv": forecast_pb2.TARGET_GMV,
    "orders": forecast_pb2.TARGET_ORDERS,
    "visitors": forecast_pb2.TARGET_VISITORS,
    "units": forecast_pb2.TARGET_UNITS,
}


@router.post(
    "/retrain",
    status_code=202,
    summary="Retrain a shop's models in the background",
    responses=PROBLEMS,
)
async def retrain(
    request: Request,
    response: Response,
    body: RetrainRequest,
    principal: ModelAdmin,
    upstreams: UpstreamsDep,
) -> RetrainAccepted:
    """Answers at once with the training job; its progress is at `status_url`."""
    require_shop(principal, body.shop_id)
    started = await upstreams.call(
        "forecast",
        upstreams.forecast.Retrain,
        forecast_pb2.RetrainRequest(
            shop_id=body.shop_id,
            targets=[TARGETS[t] for t in dict.fromkeys(body.targets) if t in TARGETS],
            churn="churn" in body.targets,
        ),
    )
    status_url = str(
        URL(request.app.url_path_for("training_job")).include_query_params(job_id=started.job_id)
    )
    response.headers["Location"] = status_url
    return RetrainAccepted(job_id=started.job_id, status_url=status_url)


@router.get(
    "/jobs",
    name="training_job",
    summary="Progress of a training job",
    responses=PROBLEMS,
)
async def training_job(
    request: Request,
    principal: ModelAdmin,
    upstreams: UpstreamsDep,
    job_id: Annotated[
        UUID,
        Query(description="The job_id POST /api/models/retrain answered.", examples=[ex.JOB_ID]),
    ],
) -> TrainingJob:
    """Only jobs of the organisation's shops: any other id is a 404."""
    jobs: TrainingJobsRepository = request.app.state.training_jobs
    if not await jobs.visible(job_id, principal.shop_ids):
        raise not_found("training job")
    return await upstreams.answer(
        "forecast",
        upstreams.forecast.GetTrainingJob,
        forecast_pb2.GetTrainingJobRequest(job_id=str(job_id)),
        TrainingJob,
    )


@router.get(
    "",
    summary="A shop's registered model versions with their backtest scores",
    responses=PROBLEMS,
)
async def list_models(
    principal: ModelAdmin, upstreams: UpstreamsDep, shop_id: Annotated[ShopId, Query()]
) -> ModelsResponse:
    """From the forecast service's model registry: every version registered for the shop's
    series (GMV, orders, visitors, each product's units, churn), when it was trained and how it
    scored in its backtest against the baselines."""
    require_shop(principal, shop_id)
    return await upstreams.answer(
        "forecast",
        upstreams.forecast.ListModels,
        forecast_pb2.ListModelsRequest(shop_id=shop_id),
        ModelsResponse,
    )
