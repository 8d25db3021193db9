"""Request and response bodies of the forecast, insights and anomaly routes.

Responses mirror the gRPC messages (proto/shopee/forecast/v1, insights/v1) field by field, with
enums as lower-case words ("TARGET_GMV" -> "gmv"). Money is int64 minor units (amount x 100).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shopee_common.events import MAX_AMOUNT_MINOR
from shopee_gateway.api import examples as ex
from shopee_gateway.api.ml import examples

# How much of a refused record's value GET /api/dead-letters shows.
PAYLOAD_PREVIEW_BYTES = 2_000

ShopId = Annotated[
    str, Field(min_length=1, max_length=128, examples=[ex.SHOP_ID], description="A shop id.")
]
ProductId = Annotated[
    str, Field(min_length=1, max_length=128, examples=[ex.PRODUCT_ID], description="A product id.")
]


def _enum_label(prefix: str) -> Callable[[Any], Any]:
    def label(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(prefix):
            return value.removeprefix(prefix).lower()
        return value

    return label


# Proto enums shown as their lower-case names without the prefix ("STRATEGY_ALS" -> "als").
TargetName = Annotated[
    str,
    BeforeValidator(_enum_label("TARGET_")),
    Field(description="gmv (minor units per day), orders, visitors or units"),
]
AlgorithmName = Annotated[
    str,
    BeforeValidator(_enum_label("CLUSTERING_ALGORITHM_")),
    Field(description="kmeans, dbscan or agglomerative"),
]
StrategyName = Annotated[
    str,
    BeforeValidator(_enum_label("STRATEGY_")),
    Field(description="als, bought_together or cold_start"),
]
ElasticitySourceName = Annotated[
    str,
    BeforeValidator(_enum_label("ELASTICITY_SOURCE_")),
    Field(description="product, or category when the product's own price history is thin"),
]
AllocationModeName = Annotated[
    str,
    BeforeValidator(_enum_label("ALLOCATION_MODE_")),
    Field(description="linear_program or bandit"),
]
JobStateName = Annotated[
    str,
    BeforeValidator(_enum_label("JOB_STATE_")),
    Field(description="queued, running, succeeded or failed", examples=["running"]),
]


class Body(BaseModel):
    """Request bodies refuse unknown members, so a misspelt field is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid")


# --- forecasts ---------------------------------------------------------------------------------


class SalesForecastRequest(Body):
    shop_id: ShopId
    horizon_days: int = Field(30, ge=1, le=90, description="Days after the last complete day.")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"shop_id": "glowlab-id", "horizon_days": 30}]}
    )


class TrafficForecastRequest(SalesForecastRequest):
    pass


class ForecastPoint(BaseModel):
    date: str = Field(description="Shop-local day, YYYY-MM-DD.", examples=["2026-12-01"])
    value: float = Field(description="The median: the day is as likely above it as below.")
    lower_80: float
    upper_80: float
    lower_95: float
    upper_95: float
    expected: float = Field(
        description="The mean: what adds up over days (totals, a lead time's demand); usually "
        "above the median, as sales are skewed."
    )


class BacktestScores(BaseModel):
    model: str = Field(examples=["prophet"])
    mape: float | None = Field(
        description="Mean absolute percentage error over the days with sales; null when no day "
        "of the backtest sold anything (a percentage of 0 is undefined)."
    )
    smape: float
    mase: float
    coverage_80: float
    coverage_95: float
    folds: int
    horizon_days: int
    rmsse: float | None = Field(
        None,
        description="RMSSE of the mean forecast: slow movers (intermittent series) choose their "
        "model by it, other series by MASE; null where it was not scored.",
    )


class SeriesForecast(BaseModel):
    target: TargetName
    model: str = Field(description="The chosen model.", examples=["prophet"])
    model_version: str
    trained_at: datetime | None = None
    history_end: str = Field(description="Last complete day of history the model saw.")
    from_cache: bool
    points: list[ForecastPoint]
    expected_total: float = Field(description="The points' `expected` summed: the horizon's total.")
    backtest: list[BacktestScores] = Field(
        description="The chosen model first, then the baselines it was compared with."
    )


class SalesForecastResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SALES]})

    shop_id: str
    time_zone: str
    horizon_days: int
    gmv: SeriesForecast = Field(description="Paid GMV per shop-local day, minor units.")
    orders: SeriesForecast = Field(description="Paid orders per day.")


class TrafficForecastResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.TRAFFIC]})

    shop_id: str
    time_zone: str
    horizon_days: int
    visitors: SeriesForecast = Field(description="Unique visitors per day.")


class DemandForecastRequest(SalesForecastRequest):
    product_id: ProductId

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"shop_id": ex.SHOP_ID, "product_id": ex.PRODUCT_ID, "horizon_days": 30}]
        }
    )


class DemandForecastResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.DEMAND]})

    shop_id: str
    product_id: str
    time_zone: str
    horizon_days: int
    units: SeriesForecast = Field(description="Units of the product sold per shop-local day.")


class InventoryRequest(Body):
    shop_id: ShopId
    product_ids: list[ProductId] = Field(
        default_factory=list,
        max_length=500,
        description="Empty: every active product of the shop, leaving out those listed too "
        "recently to estimate their demand (named, such a product is a 409).",
    )
    service_level: float = Field(
        0.95, ge=0.5, le=0.999, description="Probability of not stocking out during the lead time."
    )
    lead_time_days: int = Field(7, ge=1, le=120, description="Supplier lead time.")
    review_period_days: int = Field(
        14, ge=1, le=120, description="Days of demand one order covers beyond the lead time."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shop_id": "glowlab-id",
                    "product_ids": [ex.PRODUCT_ID, ex.OTHER_PRODUCT_ID],
                    "service_level": 0.95,
                    "lead_time_days": 7,
                    "review_period_days": 14,
                }
            ]
        }
    )


class InventoryAdvice(BaseModel):
    product_id: str = Field(examples=[ex.PRODUCT_ID])
    name: str = Field(
        "",
        description="The product's name, from its latest catalogue event; empty if that has none.",
        examples=[ex.PRODUCT_NAME],
    )
    stock_on_hand: int = Field(description="The catalogue's latest stock.", examples=[42])
    mean_daily_demand: float = Field(
        description="Expected units per day over the lead time and review period.", examples=[3.4]
    )
    lead_time_demand: float = Field(description="Expected units sold during the lead time.")
    safety_stock: float = Field(
        description="Units the reorder point holds above the expected lead-time demand."
    )
    reorder_point: float = Field(
        description="Order when stock on hand falls to this: the lead time's demand is at or "
        "below it with the requested service level's probability (a whole number of units).",
        examples=[32],
    )
    suggested_order_quantity: int = Field(
        description="Units that bring the stock up to the same service level's quantile of the "
        "demand over the lead time and review period; 0 if the stock already covers it.",
        examples=[48],
    )
    expected_stockout_date: str = Field(
        description="Shop-local day the stock is expected to run out, YYYY-MM-DD; empty if not "
        "within 90 days.",
        examples=["2026-12-07"],
    )
    reorder_now: bool = Field(description="The stock on hand is at or below the reorder point.")
    model_version: str = Field(description="The demand model the advice comes from.")


class InventoryResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.INVENTORY]})

    shop_id: str
    service_level: float
    lead_time_days: int
    items: list[InventoryAdvice]


ChurnOrder = Literal["probability", "value_at_risk"]


class ChurnRequest(Body):
    shop_id: ShopId
    horizon_days: int = Field(
        30, ge=1, le=365, description="Churn = no purchase in this many days."
    )
    buyer_ids: list[str] = Field(
        default_factory=list, max_length=1000, description="Empty: the shop's riskiest buyers."
    )
    limit: int = Field(100, ge=1, le=1000)
    order_by: ChurnOrder = Field(
        "probability",
        description="How the shop's buyers are ranked when buyer_ids is empty: by churn "
        "probability, or by value_at_risk_minor (the buyers most worth winning back).",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"shop_id": "glowlab-id", "horizon_days": 30, "limit": 20},
                {"shop_id": "glowlab-id", "limit": 20, "order_by": "value_at_risk"},
            ]
        }
    )


class ChurnReason(BaseModel):
    feature: str = Field(examples=["recency_days"])
    description: str = Field(examples=["no purchase for 74 days (typical: 21)"])
    contribution: float


class BuyerChurn(BaseModel):
    buyer_id: str
    probability: float
    reasons: list[ChurnReason]
    recency_days: float
    frequency: int
    monetary_minor: int
    value_at_risk_minor: int = Field(
        description="Churn probability x what the buyer would spend in the horizon at their pace "
        "so far (total spend / days since their first order, those days at least the horizon)."
    )


class ChurnResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CHURN]})

    shop_id: str
    horizon_days: int
    model_version: str
    buyers: list[BuyerChurn]
    roc_auc: float
    brier: float
    baseline_roc_auc: float
    baseline_brier: float


# --- model admin -------------------------------------------------------------------------------

# The series (proto targets) by their route names, and the churn models (the proto's `churn`).
RetrainTarget = Literal["gmv", "orders", "visitors", "units", "churn"]


class RetrainRequest(Body):
    shop_id: ShopId
    targets: list[RetrainTarget] = Field(
        default_factory=list,
        max_length=5,
        description="Empty: every series of the shop, churn included; `units` is every product; "
        "`churn` the churn models (every horizon kept in use).",
    )

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"shop_id": "glowlab-id", "targets": ["gmv", "orders"]}]}
    )


class RetrainAccepted(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.RETRAIN_ACCEPTED]})

    job_id: str = Field(examples=["0b8f6a52-3c1e-4f0e-9a0c-6d2f4d6f1e7a"])
    status_url: str = Field(
        description="Where the job's progress is read (also the Location header).",
        examples=["/api/models/jobs?job_id=0b8f6a52-3c1e-4f0e-9a0c-6d2f4d6f1e7a"],
    )


class TrainingJob(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.TRAINING_JOB]})

    job_id: str = Field(examples=["0b8f6a52-3c1e-4f0e-9a0c-6d2f4d6f1e7a"])
    state: JobStateName
    series_done: int = Field(examples=[12])
    series_total: int = Field(description="0 until the job has listed its series.", examples=[40])
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str = Field(
        description="Why the job failed; when it succeeded, the series skipped for too little "
        "history (empty if none).",
        examples=[
            f"1 skipped: forecast/glowlab-id/units/{ex.THIRD_PRODUCT_ID}: needs at least 28 days "
            "of history"
        ],
    )


class ModelInfo(BaseModel):
    series: str = Field(
        description="What the model predicts: forecast:gmv, forecast:orders, forecast:visitors, "
        "forecast:units:<product_id>, churn (30 days) or churn:<n>d.",
        examples=[f"forecast:units:{ex.PRODUCT_ID}"],
    )
    model: str = Field(examples=["prophet"])
    version: str
    trained_at: datetime | None = None
    backtest: list[BacktestScores] = Field(
        description="The chosen model first, then the baselines it was compared with."
    )
    # The proto's artefact_uri is left out: where the service stores files is not the API's.


class ModelsResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.MODELS]})

    models: list[ModelInfo]


# --- insights ----------------------------------------------------------------------------------

Algorithm = Literal["kmeans", "dbscan", "agglomerative"]


class Segment(BaseModel):
    segment_id: int
    name: str = Field(examples=["Champions"])
    description: str
    buyers: int
    revenue_share: float
    median_recency_days: float
    median_frequency: float
    median_monetary_minor: int
    sample_buyer_ids: list[str]


class SegmentsResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SEGMENTS]})

    shop_id: str
    algorithm: AlgorithmName
    model_version: str
    computed_at: datetime | None = None
    silhouette: float
    segments: list[Segment]


class RecommendRequest(Body):
    shop_id: ShopId
    buyer_id: str | None = Field(None, description="Personal recommendations for this buyer.")
    product_id: str | None = Field(None, description="Without a buyer: bought together with this.")
    limit: int = Field(10, ge=1, le=100)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"shop_id": ex.SHOP_ID, "buyer_id": ex.BUYER_ID, "limit": 5},
                {"shop_id": ex.SHOP_ID, "product_id": ex.PRODUCT_ID, "limit": 5},
            ]
        }
    )


class Recommendation(BaseModel):
    product_id: str
    name: str = Field(
        "",
        description="The product's name, from its latest catalogue event; empty if that has none.",
    )
    score: float
    reason: str = Field(examples=[f"because you bought {ex.PRODUCT_NAME}"])
    because_product_id: str


class RecommendResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.RECOMMEND]})

    shop_id: str
    strategy: StrategyName
    model_version: str
    items: list[Recommendation]


class OptimizePriceRequest(Body):
    shop_id: ShopId
    product_id: str = Field(min_length=1, max_length=128, examples=[ex.PRODUCT_ID])
    min_price_minor: int | None = Field(
        None, gt=0, le=MAX_AMOUNT_MINOR, description="Default: 70% of the current price."
    )
    max_price_minor: int | None = Field(
        None, gt=0, le=MAX_AMOUNT_MINOR, description="Default: 130% of the current price."
    )
    unit_cost_minor: int | None = Field(
        None, gt=0, le=MAX_AMOUNT_MINOR, description="Default: the catalogue cost."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shop_id": ex.SHOP_ID,
                    "product_id": ex.PRODUCT_ID,
                    "min_price_minor": 2_200_000,
                }
            ]
        }
    )


class OptimizePriceResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.OPTIMIZE_PRICE]})

    shop_id: str
    product_id: str
    current_price_minor: int
    recommended_price_minor: int
    elasticity: float = Field(description="d log(units) / d log(price).")
    elasticity_std_error: float
    source: ElasticitySourceName
    significant: bool = Field(description="False: the elasticity is not significant at 5%.")
    expected_units_change_pct: float
    expected_profit_change_pct: float
    observations: int
    explanation: str


class ChannelBounds(Body):
    channel: str = Field(min_length=1, examples=["ads_search"])
    min_budget_minor: int = Field(0, ge=0, le=MAX_AMOUNT_MINOR)
    max_budget_minor: int | None = Field(
        None, gt=0, le=MAX_AMOUNT_MINOR, description="Default: no bound but the total."
    )


class OptimizeMarketingRequest(Body):
    shop_id: ShopId
    total_budget_minor: int = Field(
        gt=0,
        le=MAX_AMOUNT_MINOR,
        description="A day's budget: the response curves, budgets and revenues are per day.",
    )
    channels: list[ChannelBounds] = Field(
        default_factory=list, max_length=50, description="Empty: every channel with history."
    )
    mode: Literal["linear_program", "bandit"] = "linear_program"

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shop_id": "glowlab-id",
                    "total_budget_minor": 1_000_000_000,
                    "channels": [{"channel": "ads_search", "min_budget_minor": 100_000_000}],
                }
            ]
        }
    )


class ChannelAllocation(BaseModel):
    channel: str
    budget_minor: int
    expected_revenue_minor: int
    expected_roas: float
    historical_roas: float


class OptimizeMarketingResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.OPTIMIZE_MARKETING]})

    shop_id: str
    mode: AllocationModeName
    allocations: list[ChannelAllocation]
    expected_revenue_minor: int
    expected_roas: float
    model_version: str


class SentimentSummary(BaseModel):
    texts: int
    positive_share: float
    neutral_share: float
    negative_share: float
    mean_score: float = Field(description="-1 (negative) to 1 (positive).")


class AspectSentiment(BaseModel):
    aspect: str = Field(examples=["delivery"])
    mentions: int
    mean_score: float
    negative_share: float


class SentimentTrendPoint(BaseModel):
    week: str = Field(description="Start of the ISO week, YYYY-MM-DD.")
    summary: SentimentSummary | None = None


class ProductSentiment(BaseModel):
    product_id: str
    summary: SentimentSummary | None = None


class SentimentResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SENTIMENT]})

    shop_id: str
    product_id: str
    model_version: str
    overall: SentimentSummary | None = None
    aspects: list[AspectSentiment]
    trend: list[SentimentTrendPoint]
    products: list[ProductSentiment]


# --- anomalies ---------------------------------------------------------------------------------

Severity = Literal["info", "warning", "critical"]


class Anomaly(BaseModel):
    id: UUID
    shop_id: str
    product_id: str = Field(description="Empty for the whole shop.")
    product_name: str = Field(
        "",
        description="The product's name, from its latest catalogue event; empty for the whole "
        "shop or a product whose catalogue has none.",
    )
    kpis: list[str] = Field(examples=[["gmv", "created_orders"]])
    bucket_start: datetime
    bucket_end: datetime
    observed: dict[str, float]
    expected: dict[str, float] | None
    expected_low: dict[str, float] | None
    expected_high: dict[str, float] | None
    score: float
    severity: Severity
    detector: str
    explanation: str = Field(
        examples=[
            "GMV 100% below expected (IDR 0 vs IDR 1,520,000); visitors normal; conversion fell "
            "from 4.7% to 0.0%: 6 checkouts started, 0 became orders (usually 90%)"
        ]
    )
    created_at: datetime
    updated_at: datetime


class AnomalyPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.ANOMALIES]})

    items: list[Anomaly]
    judged_until: dict[str, datetime | None] = Field(
        description="Per shop asked about: the detector has judged every closed hour before "
        "this time, so an anomaly before it is in `items` (within the window and limit) and "
        "none after it is known yet. Null: nothing judged yet (a shop without a baseline, or "
        "detection still catching up on an imported history)."
    )


class DataIncompletePeriod(BaseModel):
    id: int
    shop_id: str
    since: datetime = Field(description="Start of the period whose KPIs are incomplete.")
    until: datetime | None = Field(
        description="When the shop's events were complete again; null while the period lasts."
    )
    ongoing: bool = Field(description="The period lasts: the shop's latest KPIs are short.")
    lag_seconds: float = Field(
        description="How far the shop's events were behind (the latest figure while it lasts); "
        "for a stretch of hours without events, its length."
    )
    reason: str = Field(examples=["no events for 13 min"])
    detected_at: datetime
    updated_at: datetime


class DataIncompletePage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.DATA_INCOMPLETE]})

    items: list[DataIncompletePeriod]


class FieldProblem(BaseModel):
    field: str = Field(description="JSON path of the field, or (record) for the whole record.")
    message: str


class DeadLetterRecord(BaseModel):
    id: int
    shop_id: str = Field(
        description="The event's shop; for a record that could not be read, its Kafka key."
    )
    event_id: str = Field(description="Empty when the record could not be read.")
    reason: str = Field(examples=["invalid value: order.items[0].unit_price_minor"])
    errors: list[FieldProblem]
    source_topic: str
    source_partition: int
    source_offset: int
    content_type: str | None = Field(description="The record's content-type header, if any.")
    payload_bytes: int = Field(description="Size of the record's value.")
    payload_preview: str = Field(
        description=f"Its first {PAYLOAD_PREVIEW_BYTES} bytes as UTF-8 (undecodable bytes "
        "replaced): a JSON record reads as sent, a protobuf one does not."
    )
    failed_at: datetime = Field(description="When the stream job refused it.")


class DeadLetterPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.DEAD_LETTERS]})

    items: list[DeadLetterRecord]


class LateEvent(BaseModel):
    shop_id: str
    event_id: str
    topic: str
    occurred_at: datetime = Field(description="The event's own time: the bucket it missed.")
    received_at: datetime = Field(description="When the stream job read it.")
    lateness_seconds: float = Field(
        description="How far it was behind the newest event of its shop and source then."
    )
    reason: str


class LateEventPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.LATE_EVENTS]})

    items: list[LateEvent]
