"""What the detector reports: anomalies (one per episode, re-reported as it grows), their score
and severity, and the occasion named in explanations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shopee_metrics.domain.anomalies.calendar import DayKind, PlannedCampaign
from shopee_metrics.domain.anomalies.explain import Observation

DETECTOR = "kpi-tree/seasonal+ecod/v1"
_ID_NAMESPACE = uuid.UUID("6f1d2b1e-8f57-4c43-9a43-3f0e1f4d2a10")
# GMV this far below its expectation makes an anomaly a business problem, not only a signal.
GMV_LOSS_CRITICAL = 0.5


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class AnomalyReport:
    """An anomaly as first raised or as grown by a later hour (same id)."""

    anomaly_id: str
    shop_id: str
    kpis: tuple[str, ...]
    bucket_start: datetime
    bucket_end: datetime
    observations: tuple[Observation, ...]
    score: float
    severity: Severity
    explanation: str
    first: bool
    detector: str = DETECTOR
    product_id: str = ""


@dataclass
class Episode:
    """Consecutive raising windows of one shop: one anomaly."""

    anomaly_id: str
    start: datetime
    end: datetime
    evidence: float
    probability: float
    raised: set[str] = field(default_factory=set)

    @classmethod
    def open(
        cls,
        shop_id: str,
        start: datetime,
        end: datetime,
        evidence: float,
        probability: float,
        raised: set[str],
    ) -> Episode:
        """A new episode; its id depends only on the shop and start, so a replay of the same
        hours reports the same anomaly."""
        return cls(episode_id(shop_id, start), start, end, evidence, probability, set(raised))

    def grow(self, end: datetime, evidence: float, probability: float, raised: set[str]) -> None:
        self.end = max(self.end, end)
        self.evidence = max(self.evidence, evidence)
        self.probability = max(self.probability, probability)
        self.raised |= raised

    def to_json(self) -> dict[str, Any]:
        return {
            "anomaly_id": self.anomaly_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "evidence": self.evidence,
            "probability": self.probability,
            "raised": sorted(self.raised),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Episode:
        return cls(
            data["anomaly_id"],
            datetime.fromisoformat(data["start"]),
            datetime.fromisoformat(data["end"]),
            float(data["evidence"]),
            float(data["probability"]),
            set(data.get("raised", [])),
        )


def episode_id(shop_id: str, start: datetime) -> str:
    """The id of the anomaly of a shop that starts with the hour `start`."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{shop_id}|{start.isoformat()}"))


def score(evidence: float, probability: float, strong_evidence: float) -> float:
    """0..1: half the count evidence (full at `strong_evidence`), half the multivariate
    outlier probability."""
    return round((min(1.0, evidence / strong_evidence) + probability) / 2, 3)


def severity(score: float, gmv_loss: float) -> Severity:
    """Critical when the anomaly is clear and costs at least half the expected GMV; warning
    when it is clear or costly; info otherwise."""
    if score >= 0.75 and gmv_loss >= GMV_LOSS_CRITICAL:
        return Severity.CRITICAL
    if score >= 0.6 or gmv_loss >= GMV_LOSS_CRITICAL:
        return Severity.WARNING
    return Severity.INFO


def occasion(kind: DayKind, local: datetime, campaigns: Sequence[PlannedCampaign]) -> str:
    """The sale day, holiday or planned campaign an hour belongs to, for explanations."""
    label = f"{local.month}.{local.day}"
    if kind is DayKind.MEGA_SALE:
        return f"the {label} mega sale"
    if kind is DayKind.DOUBLE_DATE:
        return f"the {label} sale"
    if kind is DayKind.HOLIDAY:
        return "the Eid al-Fitr holiday"
    if campaigns:
        names = ", ".join(sorted({c.name or c.campaign_id for c in campaigns}))
        return f"planned campaign {names}"
    return ""
