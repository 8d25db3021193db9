"""Products that stop selling while shoppers still look at them: a stock-out, a broken listing
(pure).

A stock-out of one product is too small to see in the shop's hourly KPIs (a top product is a
tenth of the orders), but plain in its own series: its product views go on and its add-to-carts
stop. For every product the watch keeps its add-to-carts and product views over the last weeks
and the run of hours since its last add-to-cart; the evidence is -log10 of the chance of no
add-to-cart in the run's views when the product's rate is only known from its history
(beta-binomial, the history as a Jeffreys posterior: a product with few views is not trusted
like a popular one). It needs no model of seasons or sales (sales only raise the rate). A run
whose evidence passes `min_evidence` is an anomaly of that product, reported when raised, every
`report_hours` while it lasts, and when it ends (the first add-to-cart after it). Hours the
shop-level detector found anomalous are skipped: bots view products and never add them to
carts, which the shop's anomaly already explains.
"""

from __future__ import annotations

import math
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from scipy import special  # type: ignore[import-untyped]

from shopee_metrics.domain.anomalies.calendar import BASELINE_KINDS, day_kind
from shopee_metrics.domain.anomalies.evidence import DISPLAY_Z
from shopee_metrics.domain.anomalies.explain import Observation, percent
from shopee_metrics.domain.anomalies.reports import AnomalyReport, Severity

PRODUCT_KPIS: tuple[str, ...] = ("product_views", "add_to_carts", "paid_orders")
PRODUCT_DETECTOR = "product-add-to-cart-stop/v1"
HOUR = timedelta(hours=1)
_ID_NAMESPACE = uuid.UUID("0b7c8a52-3d1e-4f4f-8a57-9c1d2e3f4a5b")


@dataclass(frozen=True)
class ProductConfig:
    rate_days: int = 28
    # A run longer than this is not looked back on after a restart (stock-outs last days).
    longest_run_days: int = 14
    # Evidence (-log10 probability of the run) that raises: higher than the shop's, because
    # every product of every shop is watched every hour.
    min_evidence: float = 6.0
    strong_evidence: float = 10.0
    # A product is watched once it had this many add-to-carts over `rate_days` ...
    min_add_to_carts: float = 10.0
    # ... in at least this many ordinary hours (a new product's first days are not its usual).
    min_history_hours: int = 7 * 24
    report_hours: int = 24

    @property
    def warm_up_hours(self) -> int:
        return (self.rate_days + self.longest_run_days) * 24


@dataclass(frozen=True, slots=True)
class ProductHour:
    """One closed hour of a shop: (product views, add-to-carts, paid orders) per product."""

    start: datetime
    local: datetime  # naive local start, for the day's kind
    counts: dict[str, tuple[float, float, float]]


@dataclass
class _Product:
    hours: deque[tuple[float, float, float]]
    views: float = 0.0
    carts: float = 0.0
    orders: float = 0.0
    run_start: datetime | None = None
    run_views: float = 0.0
    run_orders: float = 0.0
    run_expected_orders: float = 0.0
    raised_at: datetime | None = None
    reported_until: datetime | None = None
    # The run's ordinary hours: they join the usual rate only if the run ends unraised, so a
    # long stop does not lower the rate it is judged against.
    run_hours: list[tuple[float, float, float]] = field(default_factory=list)

    def watched(self, config: ProductConfig) -> bool:
        """Whether the product is known and sells enough to notice it stopped."""
        return (
            len(self.hours) >= config.min_history_hours
            and self.carts >= config.min_add_to_carts
            and self.views > 0
        )

    @property
    def cart_rate(self) -> float:
        return self.carts / self.views if self.views > 0 else math.nan

    def remember(self, counts: tuple[float, float, float]) -> None:
        """Add an ordinary hour to the rolling totals (the oldest one leaves)."""
        if len(self.hours) == self.hours.maxlen:
            views, carts, orders = self.hours.popleft()
            self.views -= views
            self.carts -= carts
            self.orders -= orders
        self.hours.append(counts)
        self.views += counts[0]
        self.carts += counts[1]
        self.orders += counts[2]


@dataclass
class ProductWatch:
    """Watches every product of one shop, closed hour after closed hour."""

    shop_id: str
    market: str = ""
    config: ProductConfig = field(default_factory=ProductConfig)
    _products: dict[str, _Product] = field(default_factory=dict)

    def judge(
        self,
        hours: Sequence[ProductHour],
        unjudgeable: Iterable[tuple[datetime, datetime]] = (),
        explained: Iterable[tuple[datetime, datetime]] = (),
    ) -> list[AnomalyReport]:
        """Judge the next closed hours (contiguous, oldest first). Hours overlapping
        `unjudgeable` (incomplete data) end every run; hours overlapping `explained` (a shop-level
        anomaly) are skipped."""
        gaps = list(unjudgeable)
        skipped = list(explained)
        reports: list[AnomalyReport] = []
        for hour in hours:
            if _overlaps(hour.start, skipped):
                continue
            judgeable = not _overlaps(hour.start, gaps)
            reports.extend(self._judge_hour(hour, judgeable, replaying=False))
        return reports

    def warm_up(self, hours: Sequence[ProductHour]) -> None:
        """Rebuild rates and runs after a restart; runs already raised stay raised."""
        for hour in hours:
            self._judge_hour(hour, judgeable=True, replaying=True)

    def _judge_hour(
        self, hour: ProductHour, judgeable: bool, replaying: bool
    ) -> list[AnomalyReport]:
        reports: list[AnomalyReport] = []
        end = hour.start + HOUR
        # Sale days lift add-to-cart rates (discounts): only ordinary days make the usual rate.
        ordinary = day_kind(hour.local.date(), self.market) in BASELINE_KINDS
        for product_id in hour.counts.keys() - self._products.keys():
            self._products[product_id] = _Product(deque(maxlen=self.config.rate_days * 24))
        for product_id, product in self._products.items():
            counts = hour.counts.get(product_id, (0.0, 0.0, 0.0))
            if not judgeable:
                self._end_run(product, hour.start, product_id, reports, replaying)
                continue
            if counts[1] > 0 or not product.watched(self.config):
                self._end_run(product, hour.start, product_id, reports, replaying)
                if ordinary:
                    product.remember(counts)
                continue
            if ordinary:
                product.run_hours.append(counts)
            report = self._extend_run(product, product_id, hour.start, end, counts, replaying)
            if report is not None:
                reports.append(report)
        return reports

    def _extend_run(
        self,
        product: _Product,
        product_id: str,
        start: datetime,
        end: datetime,
        counts: tuple[float, float, float],
        replaying: bool,
    ) -> AnomalyReport | None:
        if product.run_start is None:
            product.run_start = start
        product.run_views += counts[0]
        product.run_orders += counts[2]
        product.run_expected_orders += counts[0] * product.orders / product.views
        evidence = _evidence(product)
        if product.raised_at is None:
            if evidence < self.config.min_evidence:
                return None
            product.raised_at = end
        elif product.reported_until is not None and (
            end - product.reported_until < self.config.report_hours * HOUR
        ):
            return None
        first = product.reported_until is None
        product.reported_until = end
        return None if replaying else self._report(product, product_id, end, first)

    def _end_run(
        self,
        product: _Product,
        until: datetime,
        product_id: str,
        reports: list[AnomalyReport],
        replaying: bool,
    ) -> None:
        """The run stops (an add-to-cart, or data that cannot be judged); a raised one is
        reported a last time with its final end, the hours of one that was not are ordinary."""
        if product.raised_at is None:
            for counts in product.run_hours:
                product.remember(counts)
        elif product.reported_until != until and not replaying:
            reports.append(self._report(product, product_id, until, first=False))
        product.run_hours.clear()
        product.run_start = None
        product.run_views = product.run_orders = product.run_expected_orders = 0.0
        product.raised_at = product.reported_until = None

    def _report(
        self, product: _Product, product_id: str, end: datetime, first: bool
    ) -> AnomalyReport:
        assert product.run_start is not None
        rate = product.cart_rate
        expected_carts = product.run_views * rate
        evidence = _evidence(product)
        hours = round((end - product.run_start) / HOUR)
        spread = DISPLAY_Z * math.sqrt(expected_carts)
        order_spread = DISPLAY_Z * math.sqrt(product.run_expected_orders)
        score = round(min(1.0, evidence / self.config.strong_evidence), 3)
        return AnomalyReport(
            anomaly_id=str(
                uuid.uuid5(
                    _ID_NAMESPACE, f"{self.shop_id}|{product_id}|{product.run_start.isoformat()}"
                )
            ),
            shop_id=self.shop_id,
            product_id=product_id,
            kpis=("add_to_cart_rate", "paid_orders"),
            bucket_start=product.run_start,
            bucket_end=end,
            observations=(
                Observation("add_to_cart_rate", 0.0, rate, 0.0, rate + spread / product.run_views),
                Observation(
                    "add_to_carts",
                    0.0,
                    expected_carts,
                    max(0.0, expected_carts - spread),
                    expected_carts + spread,
                ),
                Observation(
                    "paid_orders",
                    product.run_orders,
                    product.run_expected_orders,
                    max(0.0, product.run_expected_orders - order_spread),
                    product.run_expected_orders + order_spread,
                ),
            ),
            score=score,
            severity=Severity.WARNING if score >= 0.6 else Severity.INFO,
            explanation=(
                f"{_subject(product_id)}: no add-to-cart for {hours} h from "
                f"{product.run_views:,.0f} product views (usually {percent(rate)}, "
                f"{expected_carts:,.0f} expected); {product.run_orders:,.0f} "
                f"paid order{'' if product.run_orders == 1 else 's'} "
                f"({product.run_expected_orders:,.1f} expected); out of stock or listing broken?"
            ),
            first=first,
            detector=PRODUCT_DETECTOR,
        )


def _subject(product_id: str) -> str:
    return f"product {product_id}"


def with_product_names(
    reports: Sequence[AnomalyReport], names: dict[str, str]
) -> list[AnomalyReport]:
    """The reports with each product named in its explanation, `Serum 30 ml (product 4716):`,
    where the catalogue gives a name; the watch itself knows products by their ids only."""
    named = []
    for report in reports:
        name = names.get(report.product_id)
        if name and report.detector == PRODUCT_DETECTOR:
            subject = _subject(report.product_id)
            report = replace(
                report, explanation=report.explanation.replace(subject, f"{name} ({subject})", 1)
            )
        named.append(report)
    return named


def _overlaps(start: datetime, intervals: list[tuple[datetime, datetime]]) -> bool:
    return any(a < start + HOUR and start < b for a, b in intervals)


def product_hours_between(
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    counts: dict[datetime, dict[str, tuple[float, float, float]]],
) -> list[ProductHour]:
    """Every hour bucket from `start` to `end` with the product counts stored for it."""
    hours = []
    bucket = start
    while bucket < end:
        local = bucket.astimezone(zone).replace(tzinfo=None)
        hours.append(ProductHour(bucket, local, counts.get(bucket, {})))
        bucket += HOUR
    return hours


def _evidence(product: _Product) -> float:
    """-log10 P(no add-to-cart in the run's views), the rate drawn from the product's history."""
    carts = product.carts + 0.5
    others = product.views - product.carts + 0.5
    log_chance = special.betaln(carts, others + product.run_views) - special.betaln(carts, others)
    return float(-log_chance / math.log(10))
