"""Streaming anomaly detection on a shop's hourly KPI tree (pure: no I/O).

`ShopDetector` judges closed hours in time order against a seasonal, calendar-aware baseline
with count-based tail probabilities per tree component, confirmed and scored with a pyod ECOD
model; `completeness` decides which hours are closed and when a shop's data is incomplete.
See docs/metrics.md, "Anomaly detection".
"""

from shopee_metrics.domain.anomalies.calendar import CampaignCalendar, DayKind, PlannedCampaign
from shopee_metrics.domain.anomalies.completeness import (
    JUDGED_SOURCES,
    Incomplete,
    SourceMark,
    closed_until,
    incompleteness,
)
from shopee_metrics.domain.anomalies.detector import DetectorConfig, ShopDetector
from shopee_metrics.domain.anomalies.explain import Observation
from shopee_metrics.domain.anomalies.history import BASE_KPIS, ClosedHour
from shopee_metrics.domain.anomalies.reports import DETECTOR, AnomalyReport, Severity

__all__ = [
    "BASE_KPIS",
    "DETECTOR",
    "JUDGED_SOURCES",
    "AnomalyReport",
    "CampaignCalendar",
    "ClosedHour",
    "DayKind",
    "DetectorConfig",
    "Incomplete",
    "Observation",
    "PlannedCampaign",
    "Severity",
    "ShopDetector",
    "SourceMark",
    "closed_until",
    "incompleteness",
]
