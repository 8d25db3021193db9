"""The OpenAPI examples of the forecast, model admin, insights and anomaly answers: glowlab-id
(IDR, Asia/Jakarta) at the start of December 2026, money in minor units (IDR x 100).

Documentation only: `schemas` shows them; a test validates each against its model.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic.config import JsonDict

from shopee_gateway.api import examples as ex

HISTORY_END = "2026-11-30"
TRAINED_AT = "2026-12-01T02:00:00Z"
FORECAST_VERSION = "20261201T020000412871Z-3f9a1c7e"
CHURN_VERSION = "20261201T021512093344Z-8b2d4e61"
INSIGHTS_VERSION = "20261201T030000218754Z-2a839227"


def _points(medians: list[float], decimals: int = 0) -> list[dict[str, Any]]:
    """A forecast's days from the day after HISTORY_END: the median with 80% and 95% intervals
    (skewed upwards, as sales are) and the mean."""
    first = date.fromisoformat(HISTORY_END) + timedelta(days=1)
    return [
        {
            "date": str(first + timedelta(days=day)),
            "value": median,
            "lower_80": round(median * 0.8, decimals),
            "upper_80": round(median * 1.22, decimals),
            "lower_95": round(median * 0.69, decimals),
            "upper_95": round(median * 1.38, decimals),
            "expected": round(median * 1.03, decimals),
        }
        for day, median in enumerate(medians)
    ]


# A model's backtest: name, MAPE and sMAPE (percent), MASE, 80% and 95% coverage, RMSSE.
Scores = tuple[str, float, float, float, float, float, float | None]


def _backtest(scores: list[Scores]) -> list[dict[str, Any]]:
    return [
        {
            "model": name,
            "mape": mape,
            "smape": smape,
            "mase": mase,
            "coverage_80": coverage_80,
            "coverage_95": coverage_95,
            "folds": 6,
            "horizon_days": 30,
            "rmsse": rmsse,
        }
        for name, mape, smape, mase, coverage_80, coverage_95, rmsse in scores
    ]


def series_forecast(target: str, medians: list[float], scores: list[Scores]) -> dict[str, Any]:
    """A SeriesForecast of glowlab-id's `target` from its day medians and backtest scores (the
    chosen model's first)."""
    points = _points(medians)
    return {
        "target": target,
        "model": scores[0][0],
        "model_version": FORECAST_VERSION,
        "trained_at": TRAINED_AT,
        "history_end": HISTORY_END,
        "from_cache": True,
        "points": points,
        "expected_total": round(sum(point["expected"] for point in points), 1),
        "backtest": _backtest(scores),
    }


GMV_FORECAST = series_forecast(
    "gmv",
    [1_548_000_000, 1_502_500_000, 1_611_000_000, 1_587_500_000, 1_836_000_000, 2_012_000_000],
    [
        ("prophet", 24.2, 23.9, 0.72, 0.81, 0.97, None),
        ("ets", 27.5, 26.8, 0.83, 0.74, 0.92, None),
        ("seasonal_naive", 31.0, 30.2, 1.0, 0.62, 0.85, None),
    ],
)
ORDERS_FORECAST = series_forecast(
    "orders",
    [163, 158, 169, 167, 192, 211],
    [
        ("prophet", 20.1, 21.0, 0.77, 0.79, 0.93, None),
        ("seasonal_naive", 26.4, 25.1, 1.0, 0.6, 0.82, None),
    ],
)
VISITORS_FORECAST = series_forecast(
    "visitors",
    [5_460, 5_395, 5_580, 5_512, 6_120, 6_480],
    [
        ("prophet", 12.7, 12.7, 0.82, 0.8, 0.96, None),
        ("seasonal_naive", 15.9, 15.6, 1.0, 0.66, 0.88, None),
    ],
)
UNITS_FORECAST = series_forecast(
    "units",
    [7, 6, 8, 7, 9, 11],
    [
        # A slow mover: chosen by RMSSE.
        ("tsb", 38.5, 41.2, 0.86, 0.84, 0.95, 0.79),
        ("seasonal_naive", 52.3, 49.8, 1.0, 0.71, 0.88, 1.0),
    ],
)
HORIZON_DAYS = len(GMV_FORECAST["points"])

SALES: JsonDict = {
    "shop_id": ex.SHOP_ID,
    "time_zone": ex.TIME_ZONE,
    "horizon_days": HORIZON_DAYS,
    "gmv": GMV_FORECAST,
    "orders": ORDERS_FORECAST,
}
TRAFFIC: JsonDict = {
    "shop_id": ex.SHOP_ID,
    "time_zone": ex.TIME_ZONE,
    "horizon_days": HORIZON_DAYS,
    "visitors": VISITORS_FORECAST,
}
DEMAND: JsonDict = {
    "shop_id": ex.SHOP_ID,
    "product_id": ex.PRODUCT_ID,
    "time_zone": ex.TIME_ZONE,
    "horizon_days": HORIZON_DAYS,
    "units": UNITS_FORECAST,
}

INVENTORY: JsonDict = {
    "shop_id": ex.SHOP_ID,
    "service_level": 0.95,
    "lead_time_days": 7,
    "items": [
        {
            "product_id": ex.PRODUCT_ID,
            "name": ex.PRODUCT_NAME,
            "stock_on_hand": 42,
            "mean_daily_demand": 6.4,
            "lead_time_demand": 44.8,
            "safety_stock": 13.2,
            "reorder_point": 58.0,
            "suggested_order_quantity": 151,
            "expected_stockout_date": "2026-12-07",
            "reorder_now": True,
            "model_version": FORECAST_VERSION,
        },
        {
            "product_id": ex.OTHER_PRODUCT_ID,
            "name": ex.OTHER_PRODUCT_NAME,
            "stock_on_hand": 180,
            "mean_daily_demand": 2.1,
            "lead_time_demand": 14.7,
            "safety_stock": 6.9,
            "reorder_point": 22.0,
            "suggested_order_quantity": 0,
            "expected_stockout_date": "2027-02-24",
            "reorder_now": False,
            "model_version": FORECAST_VERSION,
        },
    ],
}

CHURN: JsonDict = {
    "shop_id": ex.SHOP_ID,
    "horizon_days": 30,
    "model_version": CHURN_VERSION,
    "buyers": [
        {
            "buyer_id": ex.BUYER_ID,
            "probability": 0.83,
            "reasons": [
                {
                    "feature": "recency_days",
                    "description": "no purchase for 74 days (typical: 21)",
                    "contribution": 1.42,
                },
                {
                    "feature": "overdue_ratio",
                    "description": "time since the last order is 3.5x their usual gap (typical: 0.9x)",
                    "contribution": 0.61,
                },
            ],
            "recency_days": 74.0,
            "frequency": 6,
            "monetary_minor": 96_500_000,
            "value_at_risk_minor": 6_008_000,
        },
        {
            "buyer_id": "dewi.santoso388",
            "probability": 0.71,
            "reasons": [
                {
                    "feature": "visits_30d",
                    "description": "0 shop visits in the last 30 days (typical: 3)",
                    "contribution": 0.88,
                }
            ],
            "recency_days": 52.0,
            "frequency": 2,
            "monetary_minor": 21_400_000,
            "value_at_risk_minor": 3_798_000,
        },
    ],
    "roc_auc": 0.81,
    "brier": 0.143,
    "baseline_roc_auc": 0.74,
    "baseline_brier": 0.171,
}

RETRAIN_ACCEPTED: JsonDict = {
    "job_id": ex.JOB_ID,
    "status_url": f"/api/models/jobs?job_id={ex.JOB_ID}",
}
TRAINING_JOB: JsonDict = {
    "job_id": ex.JOB_ID,
    "state": "running",
    "series_done": 12,
    "series_total": 44,
    "started_at": "2026-12-01T02:00:04Z",
    "finished_at": None,
    "error": "",
}
MODELS: JsonDict = {
    "models": [
        {
            "series": "forecast:gmv",
            "model": "prophet",
            "version": FORECAST_VERSION,
            "trained_at": TRAINED_AT,
            "backtest": GMV_FORECAST["backtest"],
        },
        {
            "series": f"forecast:units:{ex.PRODUCT_ID}",
            "model": "tsb",
            "version": FORECAST_VERSION,
            "trained_at": TRAINED_AT,
            "backtest": UNITS_FORECAST["backtest"],
        },
    ]
}

SEGMENTS: JsonDict = {
    "shop_id": ex.SHOP_ID,
    "algorithm": "kmeans",
    "model_version": INSIGHTS_VERSION,
    "computed_at": "2026-12-01T03:00:00Z",
    "silhouette": 0.42,
    "segments": [
        {
            "segment_id": 0,
            "name": "Champions",
            "description": "Bought recently, buy often and spend the most.",
            "buyers": 18_240,
            "revenue_share": 0.41,
            "median_recency_days": 9.0,
            "median_frequency": 7.0,
            "median_monetary_minor": 84_500_000,
            "sample_buyer_ids": ["ayu.kusuma2071", "rina.pratama15523"],
        },
        {
            "segment_id": 1,
            "name": "At risk",
            "description": "Used to buy often and spend well, but not for a long time.",
            "buyers": 31_905,
            "revenue_share": 0.17,
            "median_recency_days": 96.0,
            "median_frequency": 4.0,
            "median_monetary_minor": 38_000_000,
            "sample_buyer_ids": [ex.BUYER_ID, "dewi.santoso388"],
        },
    ],
}

RECOMMEND: JsonDict = {
    "shop_id": ex.SHOP_ID,
    "strategy": "als",
    "model_version": INSIGHTS_VERSION,
    "items": [
        {
            "product_id": ex.OTHER_PRODUCT_ID,
            "name": ex.OTHER_PRODUCT_NAME,
            "score": 0.87,
            "reason": f"because you bought {ex.PRODUCT_NAME}",
            "because_product_id": ex.PRODUCT_ID,
        },
        {
            "product_id": ex.THIRD_PRODUCT_ID,
            "name": ex.THIRD_PRODUCT_NAME,
            "score": 0.64,
            "reason": f"because you bought {ex.PRODUCT_NAME}",
            "because_product_id": ex.PRODUCT_ID,
        },
    ],
}

# A unit cost of IDR 13,500 and an elasticity of -2.4: p* = cost x e / (1 + e).
OPTIMIZE_PRICE: JsonDict = {
    "shop_id": ex.SHOP_ID,
    "product_id": ex.PRODUCT_ID,
    "current_price_minor": ex.PRODUCT_PRICE_MINOR,
    "recommended_price_minor": 2_314_286,
    "elasticity": -2.4,
    "elasticity_std_error": 0.38,
    "source": "product",
    "significant": True,
    "expected_units_change_pct": 44.77,
    "expected_profit_change_pct": 3.41,
    "observations": 212,
    "explanation": "With elasticity -2.40 the margin-optimal price is cost x e/(1+e).",
}

OPTIMIZE_MARKETING: JsonDict = {
    "shop_id": ex.SHOP_ID,
    "mode": "linear_program",
    "allocations": [
        {
            "channel": "ads_search",
            "budget_minor": 520_000_000,
            "expected_revenue_minor": 3_588_000_000,
            "expected_roas": 6.9,
            "historical_roas": 6.57,
        },
        {
            "channel": "ads_discovery",
            "budget_minor": 300_000_000,
            "expected_revenue_minor": 1_530_000_000,
            "expected_roas": 5.1,
            "historical_roas": 5.42,
        },
        {
            "channel": "affiliate",
            "budget_minor": 180_000_000,
            "expected_revenue_minor": 792_000_000,
            "expected_roas": 4.4,
            "historical_roas": 4.1,
        },
    ],
    "expected_revenue_minor": 5_910_000_000,
    "expected_roas": 5.91,
    "model_version": INSIGHTS_VERSION,
}


def _summary(texts: int, positive: float, neutral: float, mean_score: float) -> dict[str, Any]:
    return {
        "texts": texts,
        "positive_share": positive,
        "neutral_share": neutral,
        "negative_share": round(1 - positive - neutral, 2),
        "mean_score": mean_score,
    }


SENTIMENT: JsonDict = {
    "shop_id": ex.SHOP_ID,
    "product_id": "",
    "model_version": INSIGHTS_VERSION,
    "overall": _summary(4_812, 0.71, 0.19, 0.48),
    "aspects": [
        {"aspect": "delivery", "mentions": 1_204, "mean_score": 0.22, "negative_share": 0.21},
        {"aspect": "quality", "mentions": 1_876, "mean_score": 0.61, "negative_share": 0.07},
        {"aspect": "price", "mentions": 642, "mean_score": 0.44, "negative_share": 0.09},
        {"aspect": "service", "mentions": 915, "mean_score": 0.53, "negative_share": 0.08},
    ],
    "trend": [
        {"week": "2026-11-16", "summary": _summary(1_130, 0.7, 0.2, 0.46)},
        {"week": "2026-11-23", "summary": _summary(1_342, 0.73, 0.18, 0.51)},
    ],
    "products": [
        {"product_id": ex.PRODUCT_ID, "summary": _summary(602, 0.76, 0.16, 0.57)},
        {"product_id": ex.OTHER_PRODUCT_ID, "summary": _summary(311, 0.64, 0.22, 0.38)},
    ],
}

ANOMALIES: JsonDict = {
    "items": [
        {
            "id": "7f3a2c9e-1d4b-4e8a-b5c6-0a9d8e7f6b43",
            "shop_id": ex.SHOP_ID,
            "product_id": "",
            "product_name": "",
            "kpis": ["gmv", "created_orders"],
            "bucket_start": "2026-11-27T06:00:00Z",
            "bucket_end": "2026-11-27T08:00:00Z",
            "observed": {"gmv": 0.0, "unique_visitors": 471.0, "conversion_rate": 0.0},
            "expected": {"gmv": 152_000_000.0, "unique_visitors": 455.0, "conversion_rate": 0.047},
            "expected_low": {
                "gmv": 98_000_000.0,
                "unique_visitors": 380.0,
                "conversion_rate": 0.031,
            },
            "expected_high": {
                "gmv": 214_000_000.0,
                "unique_visitors": 540.0,
                "conversion_rate": 0.064,
            },
            "score": 0.97,
            "severity": "critical",
            "detector": "kpi-tree/seasonal+ecod/v1",
            "explanation": "GMV 100% below expected (IDR 0 vs IDR 1,520,000); visitors normal; "
            "conversion fell from 4.7% to 0.0%: 6 checkouts started, 0 became orders "
            "(usually 90%)",
            "created_at": "2026-11-27T07:00:12Z",
            "updated_at": "2026-11-27T08:00:09Z",
        },
        {
            "id": "3c9d5e1a-8b2f-4c6d-9e0a-7b1f2d3c4e5f",
            "shop_id": ex.SHOP_ID,
            "product_id": ex.PRODUCT_ID,
            "product_name": ex.PRODUCT_NAME,
            "kpis": ["add_to_cart_rate", "paid_orders"],
            "bucket_start": "2026-11-24T01:00:00Z",
            "bucket_end": "2026-11-26T02:00:00Z",
            "observed": {"add_to_cart_rate": 0.0, "paid_orders": 1.0},
            "expected": {"add_to_cart_rate": 0.058, "paid_orders": 7.7},
            "expected_low": None,
            "expected_high": None,
            "score": 0.74,
            "severity": "warning",
            "detector": "product-add-to-cart-stop/v1",
            "explanation": f"{ex.PRODUCT_NAME} (product {ex.PRODUCT_ID}): no add-to-cart for "
            "49 h from 249 product views (usually 5.8%, 14 expected); 1 paid orders "
            "(7.7 expected); out of stock or listing broken?",
            "created_at": "2026-11-26T02:00:31Z",
            "updated_at": "2026-11-26T02:00:31Z",
        },
    ],
    "judged_until": {ex.SHOP_ID: "2026-11-27T09:00:00Z"},
}


DATA_INCOMPLETE: JsonDict = {
    "items": [
        {
            "id": 412,
            "shop_id": ex.SHOP_ID,
            "since": "2026-12-07T09:41:05Z",
            "until": None,
            "ongoing": True,
            "lag_seconds": 780.0,
            "reason": "no events for 13 min",
            "detected_at": "2026-12-07T09:51:10Z",
            "updated_at": "2026-12-07T09:54:10Z",
        },
        {
            "id": 398,
            "shop_id": ex.SHOP_ID,
            "since": "2026-12-06T17:00:00Z",
            "until": "2026-12-07T15:00:00Z",
            "ongoing": False,
            "lag_seconds": 79200.0,
            "reason": "no events for 22 h where 716 visitors were expected: events missing, "
            "not judged",
            "detected_at": "2026-12-07T16:12:03Z",
            "updated_at": "2026-12-07T16:12:03Z",
        },
    ]
}


DEAD_LETTERS: JsonDict = {
    "items": [
        {
            "id": 5120,
            "shop_id": ex.SHOP_ID,
            "event_id": "7d4c1a8e-0b1f-4a51-9b0e-1f2a3b4c5d6e",
            "reason": "invalid value: order.items[0].unit_price_minor",
            "errors": [
                {
                    "field": "order.items[0].unit_price_minor",
                    "message": "must not be negative, got -125000",
                }
            ],
            "source_topic": "events.orders",
            "source_partition": 4,
            "source_offset": 1833021,
            "content_type": "application/json",
            "payload_bytes": 311,
            "payload_preview": '{"event_id": "7d4c1a8e-0b1f-4a51-9b0e-1f2a3b4c5d6e", "shop_id": '
            '"glowlab-id", "occurred_at": "2026-12-07T09:14:02Z", ...',
            "failed_at": "2026-12-07T09:14:03Z",
        }
    ]
}


LATE_EVENTS: JsonDict = {
    "items": [
        {
            "shop_id": ex.SHOP_ID,
            "event_id": "0b6f1c2e-4d1a-4f7e-9c3b-2a5d8e7f6a10",
            "topic": "events.orders",
            "occurred_at": "2026-12-07T02:15:00Z",
            "received_at": "2026-12-07T09:14:03Z",
            "lateness_seconds": 24843.0,
            "reason": "older than the 0:10:00 grace behind the newest event of its shop and source",
        }
    ]
}
