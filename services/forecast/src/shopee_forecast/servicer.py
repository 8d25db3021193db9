"""The gRPC servicer of shopee.forecast.v1.ForecastService: checks requests, asks the predictor
or the job runner, maps answers to messages. Bad input raises the platform's ServiceError
subclasses, which the server turns into gRPC statuses with the message."""

from __future__ import annotations

import time

import grpc
import redis.exceptions
import structlog

from shopee.forecast.v1 import forecast_pb2, forecast_pb2_grpc
from shopee_common.grpc_server import FailedPrecondition, InvalidArgument, NotFound
from shopee_forecast.adapters.churn_requests import ChurnRequests
from shopee_forecast.adapters.jobs import TrainingJobs
from shopee_forecast.adapters.store import ForecastStore, Shop
from shopee_forecast.domain.churn import describe, value_at_risk
from shopee_forecast.domain.inventory import Advice, advise, most_urgent_first
from shopee_forecast.domain.selection import MAX_HORIZON_DAYS
from shopee_forecast.domain.series import SeriesKey, Target
from shopee_forecast.observability import PREDICTION_SECONDS
from shopee_forecast.predictions import Predictor, backtest_proto, timestamp
from shopee_forecast.retraining import CHURN, JobRunner
from shopee_forecast.training import DEFAULT_CHURN_HORIZON

TARGET_BY_PROTO = {
    forecast_pb2.TARGET_GMV: Target.GMV,
    forecast_pb2.TARGET_ORDERS: Target.ORDERS,
    forecast_pb2.TARGET_VISITORS: Target.VISITORS,
    forecast_pb2.TARGET_UNITS: Target.UNITS,
}
JOB_STATES = {
    "queued": forecast_pb2.JOB_STATE_QUEUED,
    "running": forecast_pb2.JOB_STATE_RUNNING,
    "succeeded": forecast_pb2.JOB_STATE_SUCCEEDED,
    "failed": forecast_pb2.JOB_STATE_FAILED,
}
ACTIVE_PRODUCT = "PRODUCT_STATUS_ACTIVE"
# proto3 cannot tell 0 from unset: 0 in these fields means the default.
DEFAULT_SERVICE_LEVEL = 0.95
DEFAULT_LEAD_TIME_DAYS = 7
DEFAULT_REVIEW_PERIOD_DAYS = 14
log = structlog.get_logger("forecast")


def _in_range(field: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise InvalidArgument(f"{field}: must be {low:g} to {high:g}, got {value:g}")


def target_of(value: int, field: str = "target") -> Target:
    """The domain target of a proto Target, or INVALID_ARGUMENT."""
    if value not in TARGET_BY_PROTO:
        names = ", ".join(forecast_pb2.Target.Name(v) for v in TARGET_BY_PROTO)
        raise InvalidArgument(f"{field}: must be one of {names}, got {value}")
    return TARGET_BY_PROTO[value]  # type: ignore[index]


def series_key(request: forecast_pb2.ForecastRequest) -> SeriesKey:
    """Check a ForecastRequest's fields (not the database) and name its series."""
    if not request.shop_id:
        raise InvalidArgument("shop_id: required")
    target = target_of(request.target)
    _in_range("horizon_days", request.horizon_days, 1, MAX_HORIZON_DAYS)
    if target is Target.UNITS and not request.product_id:
        raise InvalidArgument("product_id: required for TARGET_UNITS")
    if target is not Target.UNITS and request.product_id:
        raise InvalidArgument(
            f"product_id: only TARGET_UNITS is per product, got {request.product_id!r} with "
            f"{forecast_pb2.Target.Name(request.target)}"
        )
    return SeriesKey(request.shop_id, target, request.product_id)


def inventory_policy(request: forecast_pb2.InventoryRequest) -> tuple[float, int, int]:
    """Service level, lead time and review period of an InventoryRequest, 0 (unset) read as the
    default; so a review period of 0 days (continuous review) cannot be asked for."""
    service_level = request.service_level or DEFAULT_SERVICE_LEVEL
    _in_range("service_level", service_level, 0.5, 0.999)
    lead_time = request.lead_time_days or DEFAULT_LEAD_TIME_DAYS
    _in_range("lead_time_days", lead_time, 1, 120)
    review = request.review_period_days or DEFAULT_REVIEW_PERIOD_DAYS
    _in_range("review_period_days", review, 1, 120)
    return service_level, lead_time, review


class ForecastServicer(forecast_pb2_grpc.ForecastServiceServicer):
    def __init__(
        self,
        store: ForecastStore,
        predictor: Predictor,
        jobs: TrainingJobs,
        runner: JobRunner,
        churn_requests: ChurnRequests,
    ) -> None:
        self.store = store
        self.predictor = predictor
        self.jobs = jobs
        self.runner = runner
        self.churn_requests = churn_requests

    async def _shop(self, shop_id: str) -> Shop:
        if not shop_id:
            raise InvalidArgument("shop_id: required")
        shop = await self.store.shop(shop_id)
        if shop is None:
            raise NotFound(f"shop {shop_id!r} is not registered")
        return shop

    async def _check_products(self, shop: Shop, product_ids: list[str]) -> dict[str, int]:
        """Stock on hand per product; NOT_FOUND for a product the shop never listed."""
        catalog = await self.store.catalog(shop.shop_id)
        for product_id in product_ids:
            if product_id not in catalog:
                raise NotFound(f"product {product_id!r} is not in shop {shop.shop_id!r}'s catalog")
        return {product_id: catalog[product_id][0] for product_id in product_ids}

    async def Forecast(
        self, request: forecast_pb2.ForecastRequest, context: grpc.aio.ServicerContext
    ) -> forecast_pb2.ForecastResponse:
        key = series_key(request)
        shop = await self._shop(request.shop_id)
        if key.product_id:
            await self._check_products(shop, [key.product_id])
        return await self.predictor.forecast(shop, key, request.horizon_days)

    async def PredictChurn(
        self, request: forecast_pb2.ChurnRequest, context: grpc.aio.ServicerContext
    ) -> forecast_pb2.ChurnResponse:
        started = time.perf_counter()
        horizon = request.horizon_days or DEFAULT_CHURN_HORIZON
        _in_range("horizon_days", horizon, 1, 365)
        limit = request.limit or 100
        _in_range("limit", limit, 1, 1000)
        if request.order_by not in forecast_pb2.ChurnOrder.values():
            names = ", ".join(forecast_pb2.ChurnOrder.keys())
            raise InvalidArgument(f"order_by: must be one of {names}, got {request.order_by}")
        shop = await self._shop(request.shop_id)
        if horizon != DEFAULT_CHURN_HORIZON:
            await self._record_churn_request(shop.shop_id, horizon)
        version, model = await self.predictor.churn_model(shop, horizon)
        scores = model.scores
        if request.buyer_ids:
            unknown = [b for b in request.buyer_ids if b not in scores.index]
            if unknown:
                raise NotFound(
                    f"buyer {unknown[0]!r} has no paid order in shop {shop.shop_id!r} in the year "
                    f"before {model.scored_at.isoformat()}"
                )
            chosen = scores.loc[list(dict.fromkeys(request.buyer_ids))]
        elif request.order_by == forecast_pb2.CHURN_ORDER_VALUE_AT_RISK:
            chosen = scores.loc[value_at_risk(scores, horizon).nlargest(limit).index]
        else:
            chosen = scores.head(limit)
        chosen = chosen.assign(value_at_risk=value_at_risk(chosen, horizon))
        holdout = model.holdout
        response = forecast_pb2.ChurnResponse(
            shop_id=shop.shop_id,
            horizon_days=horizon,
            model_version=version.version,
            roc_auc=holdout.roc_auc,
            brier=holdout.brier,
            baseline_roc_auc=holdout.baseline_roc_auc,
            baseline_brier=holdout.baseline_brier,
            buyers=[
                forecast_pb2.BuyerChurn(
                    buyer_id=str(buyer),
                    probability=float(row["probability"]),
                    recency_days=float(row["recency_days"]),
                    frequency=int(row["frequency"]),
                    monetary_minor=int(row["monetary_minor"]),
                    value_at_risk_minor=round(float(row["value_at_risk"])),
                    reasons=[
                        forecast_pb2.ChurnReason(
                            feature=feature,
                            description=describe(
                                feature, row[feature], model.typical[feature], shop.currency
                            ),
                            contribution=contribution,
                        )
                        for feature, contribution in row["reasons"]
                    ],
                )
                for buyer, row in chosen.iterrows()
            ],
        )
        PREDICTION_SECONDS.labels("PredictChurn", "none").observe(time.perf_counter() - started)
        return response

    async def _record_churn_request(self, shop_id: str, horizon: int) -> None:
        """Keep the horizon in the scheduled retrain; a Redis outage must not cost the answer."""
        try:
            await self.churn_requests.record(shop_id, horizon)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            log.warning("churn request not recorded", shop_id=shop_id, error=str(exc))

    async def AdviseInventory(
        self, request: forecast_pb2.InventoryRequest, context: grpc.aio.ServicerContext
    ) -> forecast_pb2.InventoryResponse:
        started = time.perf_counter()
        service_level, lead_time, review = inventory_policy(request)
        shop = await self._shop(request.shop_id)
        if request.product_ids:
            stock = await self._check_products(shop, list(dict.fromkeys(request.product_ids)))
        else:
            catalog = await self.store.catalog(shop.shop_id)
            stock = {p: s for p, (s, status) in sorted(catalog.items()) if status == ACTIVE_PRODUCT}
            if not stock:
                raise FailedPrecondition(f"shop {shop.shop_id!r} has no active product")
        advised: list[tuple[str, Advice, str]] = []
        too_new: list[FailedPrecondition] = []
        demands = await self.predictor.demands(shop, list(stock))
        for product_id, on_hand in stock.items():
            demand = demands[product_id]
            if isinstance(demand, FailedPrecondition):
                # A product listed days ago must not withhold the advice on every other one.
                if request.product_ids:
                    raise demand
                too_new.append(demand)
                continue
            advice = advise(demand.forecast, on_hand, service_level, lead_time, review)
            advised.append((product_id, advice, demand.model_version))
        if not request.product_ids:
            advised.sort(key=lambda entry: most_urgent_first(entry[1]))
        items = [
            forecast_pb2.InventoryAdvice(
                product_id=product_id,
                stock_on_hand=advice.stock_on_hand,
                mean_daily_demand=advice.mean_daily_demand,
                lead_time_demand=advice.lead_time_demand,
                safety_stock=advice.safety_stock,
                reorder_point=advice.reorder_point,
                suggested_order_quantity=advice.suggested_order_quantity,
                expected_stockout_date=(
                    advice.expected_stockout_date.isoformat()
                    if advice.expected_stockout_date
                    else ""
                ),
                reorder_now=advice.reorder_now,
                model_version=model_version,
            )
            for product_id, advice, model_version in advised
        ]
        if not items:
            raise too_new[0]
        PREDICTION_SECONDS.labels("AdviseInventory", "none").observe(time.perf_counter() - started)
        return forecast_pb2.InventoryResponse(
            shop_id=shop.shop_id,
            service_level=service_level,
            lead_time_days=lead_time,
            items=items,
        )

    async def Retrain(
        self, request: forecast_pb2.RetrainRequest, context: grpc.aio.ServicerContext
    ) -> forecast_pb2.RetrainResponse:
        targets = [target_of(t, "targets").value for t in request.targets]
        if request.churn:
            targets.append(CHURN)
        if request.shop_id:
            await self._shop(request.shop_id)
        job_id = await self.runner.start(request.shop_id or None, targets, "rpc")
        return forecast_pb2.RetrainResponse(job_id=job_id)

    async def GetTrainingJob(
        self, request: forecast_pb2.GetTrainingJobRequest, context: grpc.aio.ServicerContext
    ) -> forecast_pb2.TrainingJob:
        if not request.job_id:
            raise InvalidArgument("job_id: required")
        row = await self.jobs.get(request.job_id)
        if row is None:
            raise NotFound(f"training job {request.job_id!r} does not exist")
        job = forecast_pb2.TrainingJob(
            job_id=row.job_id,
            state=JOB_STATES[row.state],
            series_done=row.series_done,
            series_total=row.series_total,
            error=row.error,
        )
        if row.started_at:
            job.started_at.CopyFrom(timestamp(row.started_at))
        if row.finished_at:
            job.finished_at.CopyFrom(timestamp(row.finished_at))
        return job

    async def ListModels(
        self, request: forecast_pb2.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> forecast_pb2.ListModelsResponse:
        shop = await self._shop(request.shop_id)
        versions = await self.predictor.registry.versions(prefix=f"forecast/{shop.shop_id}/")
        return forecast_pb2.ListModelsResponse(
            models=[
                forecast_pb2.ModelInfo(
                    series=str(v.metadata.get("series", v.model_name)),
                    model=str(v.metadata.get("model", "")),
                    version=v.version,
                    trained_at=timestamp(v.trained_at),
                    backtest=[backtest_proto(s) for s in v.backtest_scores.get("models", [])],
                    artefact_uri=v.artefact_uri,
                )
                for v in versions
            ]
        )
