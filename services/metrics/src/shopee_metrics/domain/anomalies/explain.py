"""One line that walks the KPI tree (GMV = visitors x conversion x AOV) and says what moved and
what did not, in the units people read: percent for rates, money in major units, counts."""

from __future__ import annotations

import math
from dataclasses import dataclass

from shopee_metrics.domain.anomalies.evidence import DISPLAY_Z, Component, WindowSums

# Below this relative change a KPI is "normal" in the explanation.
NORMAL_CHANGE = 0.25
# Spread of log order value between orders, for the AOV range shown (baskets vary a lot).
ORDER_VALUE_LOG_SPREAD = 0.7


@dataclass(frozen=True, slots=True)
class Observation:
    kpi: str
    observed: float
    expected: float
    expected_low: float
    expected_high: float


def money(minor: float, currency: str) -> str:
    amount = minor / 100
    text = f"{amount:,.0f}" if abs(amount) >= 1000 else f"{amount:,.2f}"
    return f"{currency} {text}" if currency else text


def percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _change(observed: float, expected: float) -> str:
    """'60% below expected', '35% above expected' or '9.7x expected'."""
    if expected <= 0:
        return "above expected" if observed > 0 else "as expected"
    ratio = observed / expected
    if ratio >= 2:
        return f"{ratio:.1f}x expected"
    if ratio >= 1:
        return f"{round((ratio - 1) * 100)}% above expected"
    return f"{round((1 - ratio) * 100)}% below expected"


def _normal(observed: float, expected: float) -> bool:
    return expected > 0 and abs(observed / expected - 1) < NORMAL_CHANGE


def observations(judged: dict[str, Component], sums: WindowSums) -> list[Observation]:
    """Observed, expected and the expected range of every tree KPI in the window."""
    result: list[Observation] = []
    orders_expected = (
        sums.expected_gmv / sums.expected_aov
        if sums.expected_aov > 0 and math.isfinite(sums.expected_gmv)
        else math.nan
    )
    traffic = judged.get("traffic")
    if math.isfinite(orders_expected):
        spread = DISPLAY_Z * math.sqrt(orders_expected)
        low = max(0.0, orders_expected - spread) * sums.expected_aov
        high = (orders_expected + spread) * sums.expected_aov
        if traffic is not None and traffic.expected > 0:
            low *= traffic.low / traffic.expected
            high *= traffic.high / traffic.expected
        result.append(Observation("gmv", sums.gmv, sums.expected_gmv, low, high))
    for name in ("traffic", "conversion"):
        if name in judged:
            component = judged[name]
            result.append(observation(component))
    if sums.paid_orders > 0 and math.isfinite(sums.expected_aov):
        spread = DISPLAY_Z * ORDER_VALUE_LOG_SPREAD / math.sqrt(max(1.0, sums.paid_orders))
        result.append(
            Observation(
                "aov",
                sums.gmv / sums.paid_orders,
                sums.expected_aov,
                sums.expected_aov * math.exp(-spread),
                sums.expected_aov * math.exp(spread),
            )
        )
    for name in ("add_to_cart", "checkout"):
        if name in judged:
            result.append(observation(judged[name]))
    return result


def observation(component: Component) -> Observation:
    """A component as the observation an anomaly carries for its KPI."""
    return Observation(
        component.kpi, component.observed, component.expected, component.low, component.high
    )


def moved_kpis(judged: dict[str, Component], raised: set[str], sums: WindowSums) -> list[str]:
    """The KPIs named by the anomaly, in tree order: GMV if it moved by half, then the raised
    components."""
    kpis = []
    if sums.expected_gmv > 0 and abs(sums.gmv / sums.expected_gmv - 1) >= 0.5:
        kpis.append("gmv")
    kpis.extend(judged[name].kpi for name in _TREE_ORDER if name in raised and name in judged)
    return kpis


_TREE_ORDER = ("traffic", "conversion", "add_to_cart", "checkout")


def explanation(
    judged: dict[str, Component],
    raised: set[str],
    sums: WindowSums,
    currency: str,
    occasion: str,
) -> str:
    """E.g. "GMV 100% below expected (IDR 0 vs IDR 1,520,000); visitors normal; conversion fell
    from 4.7% to 0.0%: 6 checkouts started, 0 became orders (usually 90%)"."""
    parts = [_gmv(sums, currency)]
    traffic = judged.get("traffic")
    if traffic is not None:
        parts.append(_visitors(traffic, "traffic" in raised, sums.rise_expected, occasion))
    conversion = judged.get("conversion")
    stages = _stages(judged, raised, sums)
    if conversion is not None:
        text = _conversion(conversion, "conversion" in raised)
        parts.append(f"{text}: {stages}" if stages else text)
    elif stages:
        parts.append(stages)
    if sums.paid_orders > 0 and math.isfinite(sums.expected_aov) and sums.expected_aov > 0:
        aov = sums.gmv / sums.paid_orders
        parts.append(
            "AOV normal"
            if sums.paid_orders < 3 or abs(aov / sums.expected_aov - 1) < 0.3
            else f"AOV {_change(aov, sums.expected_aov)} ({money(aov, currency)})"
        )
    if occasion and not (
        traffic is not None and sums.rise_expected and traffic.observed > traffic.expected
    ):
        parts.append(f"during {occasion}")
    return "; ".join(parts)


def _gmv(sums: WindowSums, currency: str) -> str:
    if not math.isfinite(sums.expected_gmv) or sums.expected_gmv <= 0:
        return f"GMV {money(sums.gmv, currency)}"
    if _normal(sums.gmv, sums.expected_gmv):
        return "GMV normal"
    return (
        f"GMV {_change(sums.gmv, sums.expected_gmv)} "
        f"({money(sums.gmv, currency)} vs {money(sums.expected_gmv, currency)})"
    )


def _visitors(traffic: Component, raised: bool, rise_expected: bool, occasion: str) -> str:
    counts = f"({traffic.observed:,.0f} vs {traffic.expected:,.0f})"
    if raised:
        return f"visitors {_change(traffic.observed, traffic.expected)} {counts}"
    if rise_expected and traffic.observed > traffic.expected * (1 + NORMAL_CHANGE):
        planned = f", planned: {occasion}" if occasion else ", planned"
        return f"visitors {_change(traffic.observed, traffic.expected)} {counts}{planned}"
    if _normal(traffic.observed, traffic.expected):
        return "visitors normal"
    return f"visitors {_change(traffic.observed, traffic.expected)}"


def _conversion(conversion: Component, raised: bool) -> str:
    if raised or conversion.observed < conversion.expected * (1 - NORMAL_CHANGE):
        return (
            f"conversion fell from {percent(conversion.expected)} to {percent(conversion.observed)}"
        )
    if conversion.observed > conversion.expected * (1 + NORMAL_CHANGE):
        return (
            f"conversion rose from {percent(conversion.expected)} to {percent(conversion.observed)}"
        )
    return f"conversion normal ({percent(conversion.observed)})"


def _stages(judged: dict[str, Component], raised: set[str], sums: WindowSums) -> str:
    texts = []
    cart = judged.get("add_to_cart")
    if cart is not None and "add_to_cart" in raised:
        texts.append(
            f"add-to-cart rate fell from {percent(cart.expected)} to {percent(cart.observed)}"
        )
    checkout = judged.get("checkout")
    if checkout is not None and "checkout" in raised and checkout.attempts > 0:
        usual = checkout.expected / checkout.attempts
        texts.append(
            f"{checkout.attempts:,.0f} checkouts in a row became no order (usually {usual:.0%} do)"
            if checkout.consecutive
            else f"{checkout.attempts:,.0f} checkouts started, {checkout.observed:,.0f} became "
            f"orders (usually {usual:.0%})"
        )
    return ", ".join(texts)
