"""How far a window of closed hours is from what was expected, per component of the KPI tree.

GMV = visitors x conversion x AOV, and conversion runs through two funnel stages that fail in
recognisable ways: add-to-cart (bots view products and never buy) and checkout completion (a
broken checkout starts checkouts that never become orders). Each component is judged against an
expectation conditional on what fed it (paid orders expected from the visitors that came, orders
from the checkouts started), so a sale that brings more visitors does not move the ratios.

Hourly counts of a shop are small (often 0 to 3 orders), so a median/MAD z-score of the ratios
would be degenerate; the tail probabilities come from count models instead: quasi-Poisson for
paid orders and add-to-carts, quasi-binomial for checkout completion, each with a dispersion
factor fitted on the shop's recent hours (not for checkout completion: there the only excess
variance is orders spilling over an hour boundary, which never makes all checkouts fail), and a
negative binomial for visitors, whose day-level variance comes from the MAD of recent log
ratios. Checkout completion is also judged on the window's run of failed checkouts, to the
minute (checkout_runs.py), when that says more than its hours. `evidence` = -log10(tail
probability), signed: negative when the component is below its expectation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special  # type: ignore[import-untyped]

MAX_EVIDENCE = 50.0
MAX_COMPLETION = 0.995  # a checkout completion expectation is never certainty
# A change in visitors smaller than this is never worth an alert, however unlikely.
MIN_VISITORS_CHANGE = 20.0
# A buyer retrying a declined payment fails a checkout or two in a row: never an outage alone.
MIN_RUN_CHECKOUTS = 3
DISPLAY_Z = 3.0  # the expected ranges shown with an anomaly: about 99.7 % of ordinary hours


@dataclass(frozen=True, slots=True)
class WindowSums:
    """Observed and expected totals of consecutive closed hours (see history.HourRing.window)."""

    visitors: float
    product_views: float
    add_to_carts: float
    checkout_starts: float
    created_orders: float
    paid_orders: float
    gmv: float
    expected_visitors: float  # NaN when the shop has no baseline yet
    expected_paid: float  # visitors that came x expected conversion
    expected_add_to_carts: float  # product views x expected add-to-cart rate
    expected_created: float  # checkouts started x expected completion
    expected_gmv: float  # expected visitors x expected conversion x expected AOV
    expected_aov: float
    traffic_variance: float  # day-level variance of log visitors (without the Poisson part)
    dispersion_paid: float
    dispersion_add_to_carts: float
    rise_expected: bool  # a sale day or a planned campaign: more traffic is the plan
    fall_expected: bool  # a holiday or the lull before a mega sale
    sale_day: bool
    # Checkouts of the failed run (checkout_runs.py) that starts in the window's first hour and
    # grew in its last; 0 for none.
    failed_run: float = 0.0


@dataclass(frozen=True, slots=True)
class Component:
    """One judged component of the tree in a window."""

    name: str  # traffic, conversion, add_to_cart, checkout
    kpi: str  # the registry KPI it is reported as
    observed: float
    expected: float
    low: float
    high: float
    evidence: float  # signed -log10 tail probability
    # Moved in the direction that hurts, by at least the minimum change, so it may raise.
    harmful: bool
    # Checkout only: the checkouts that `observed` orders came from, and whether they were a
    # run of consecutive failed checkouts (then the run, not the hours, spans the window).
    attempts: float = math.nan
    consecutive: bool = False


def poisson_tail(observed: float, expected: float, dispersion: float) -> tuple[float, float]:
    """(P(X <= observed), P(X >= observed)) for a quasi-Poisson count with the given mean."""
    if expected <= 0:
        return 1.0, 1.0 if observed <= 0 else 0.0
    x, mu = observed / dispersion, expected / dispersion
    lower = float(special.gammaincc(x + 1.0, mu))
    upper = 1.0 if x <= 0 else float(special.gammainc(x, mu))
    return lower, upper


def binomial_tail(
    successes: float, trials: float, rate: float, dispersion: float
) -> tuple[float, float]:
    """(P(X <= successes), P(X >= successes)) for a quasi-binomial count."""
    if trials <= 0 or not 0 < rate < 1:
        return 1.0, 1.0
    k, n = min(successes, trials) / dispersion, trials / dispersion
    lower = 1.0 if k >= n else float(special.betainc(n - k, k + 1.0, 1.0 - rate))
    upper = 1.0 if k <= 0 else float(special.betainc(k, n - k + 1.0, rate))
    return lower, upper


def signed_evidence(lower: float, upper: float) -> float:
    """-log10 of the smaller tail, negative for the lower one."""
    if lower < upper:
        return -min(MAX_EVIDENCE, -math.log10(max(lower, 1e-300)))
    return min(MAX_EVIDENCE, -math.log10(max(upper, 1e-300)))


def _count_range(expected: float, dispersion: float) -> tuple[float, float]:
    spread = DISPLAY_Z * math.sqrt(max(expected, 0.0) * dispersion)
    return max(0.0, expected - spread), expected + spread


def negative_binomial_tail(
    observed: float, expected: float, variance: float
) -> tuple[float, float]:
    """(P(X <= observed), P(X >= observed)) for a count with the given mean whose rate varies
    from day to day with relative variance `variance` (Poisson-gamma)."""
    if expected <= 0:
        return 1.0, 1.0 if observed <= 0 else 0.0
    shape = 1.0 / variance
    success = shape / (shape + expected)
    lower = float(special.betainc(shape, observed + 1.0, success))
    upper = 1.0 if observed <= 0 else float(special.betainc(observed, shape, 1.0 - success))
    return lower, upper


def traffic(sums: WindowSums, min_change: float, buyers_held: bool) -> Component | None:
    """Visitors against the seasonal baseline. During a sale or a planned campaign more visitors
    are the plan: a rise is harmful there only if the extra visitors did not shop (add-to-cart
    fell, `buyers_held` is False), as with bots."""
    if not math.isfinite(sums.expected_visitors):
        return None
    expected = sums.expected_visitors
    variance = sums.traffic_variance * (4.0 if sums.sale_day else 1.0)
    lower, upper = negative_binomial_tail(sums.visitors, expected, variance)
    evidence = signed_evidence(lower, upper)
    ratio = (sums.visitors + 1.0) / (expected + 1.0)
    moved = (ratio >= 1.0 / min_change or ratio <= min_change) and abs(
        sums.visitors - expected
    ) >= MIN_VISITORS_CHANGE
    excused = sums.fall_expected if evidence < 0 else sums.rise_expected and buyers_held
    harmful = moved and not excused
    spread = DISPLAY_Z * math.sqrt(expected + variance * expected**2)
    return Component(
        "traffic",
        "unique_visitors",
        sums.visitors,
        expected,
        max(0.0, expected - spread),
        expected + spread,
        evidence,
        harmful,
    )


def _rate(
    name: str,
    kpi: str,
    count: float,
    expected: float,
    dispersion: float,
    exposure: float,
    min_change: float,
) -> Component | None:
    """A rate component: `count` events per unit of `exposure` against `expected` of them."""
    if not math.isfinite(expected) or exposure <= 0:
        return None
    lower, upper = poisson_tail(count, expected, dispersion)
    low, high = _count_range(expected, dispersion)
    return Component(
        name,
        kpi,
        count / exposure,
        expected / exposure,
        low / exposure,
        min(1.0, high / exposure),
        signed_evidence(lower, upper),
        count <= (1.0 - min_change) * expected,
    )


def conversion(sums: WindowSums, min_change: float) -> Component | None:
    return _rate(
        "conversion",
        "conversion_rate",
        sums.paid_orders,
        sums.expected_paid,
        sums.dispersion_paid,
        sums.visitors,
        min_change,
    )


def add_to_cart(sums: WindowSums, min_change: float) -> Component | None:
    return _rate(
        "add_to_cart",
        "add_to_cart_rate",
        sums.add_to_carts,
        sums.expected_add_to_carts,
        sums.dispersion_add_to_carts,
        sums.product_views,
        min_change,
    )


def checkout(sums: WindowSums, min_change: float) -> Component | None:
    """Orders created from the checkouts started: over the window's hours, or over its run of
    failed checkouts when that is the stronger evidence (the run is exact to the minute, the
    hours mix an outage with the ordinary minutes around it)."""
    if not math.isfinite(sums.expected_created) or sums.checkout_starts <= 0:
        return None
    rate = min(sums.expected_created / sums.checkout_starts, MAX_COMPLETION)
    lower, upper = binomial_tail(sums.created_orders, sums.checkout_starts, rate, 1.0)
    evidence = signed_evidence(lower, upper)
    run = failed_run(sums.failed_run, rate)
    if run is not None and run.evidence < evidence:
        return run
    harmful = sums.created_orders <= (1.0 - min_change) * rate * sums.checkout_starts
    return _checkout_component(
        sums.created_orders, sums.checkout_starts, rate, evidence, harmful, False
    )


def failed_run(checkouts: float, rate: float) -> Component | None:
    """The checkout component of a run of `checkouts` failed in a row at completion `rate`
    (checkout_runs.py): probability (1 - rate)^checkouts; None for a run too short to count."""
    if checkouts < MIN_RUN_CHECKOUTS or not 0 < rate < 1:
        return None
    evidence = min(MAX_EVIDENCE, -checkouts * math.log10(1.0 - rate))
    return _checkout_component(0.0, checkouts, rate, -evidence, True, True)


def _checkout_component(
    created: float, attempts: float, rate: float, evidence: float, harmful: bool, run: bool
) -> Component:
    spread = DISPLAY_Z * math.sqrt(attempts * rate * (1.0 - rate))
    return Component(
        "checkout",
        "created_orders",
        created,
        rate * attempts,
        max(0.0, rate * attempts - spread),
        min(attempts, rate * attempts + spread),
        evidence,
        harmful,
        attempts,
        run,
    )


def components(sums: WindowSums, min_change: float) -> dict[str, Component]:
    """Every component that can be judged in the window, by name."""
    converted = conversion(sums, min_change)
    carted = add_to_cart(sums, min_change)
    # Did the extra visitors of a planned rise shop? Bots do not even add to cart; a broken
    # checkout on a sale day loses orders from visitors who did.
    engaged = carted if carted is not None else converted
    judged = (
        traffic(sums, min_change, buyers_held=engaged is None or not engaged.harmful),
        converted,
        carted,
        checkout(sums, min_change),
    )
    return {c.name: c for c in judged if c is not None}


FEATURES = ("traffic", "conversion", "add_to_cart", "checkout")


def features(judged: dict[str, Component], sums: WindowSums) -> np.ndarray:
    """The multivariate view of a window for the outlier model: the signed evidence of each
    component (0 when it cannot be judged) and the log ratio of AOV to its expectation."""
    values = [judged[name].evidence if name in judged else 0.0 for name in FEATURES]
    aov_ratio = 0.0
    if sums.paid_orders > 0 and math.isfinite(sums.expected_aov) and sums.expected_aov > 0:
        aov_ratio = math.log(max(sums.gmv / sums.paid_orders, 1.0) / sums.expected_aov)
    values.append(aov_ratio)
    return np.clip(np.asarray(values, dtype=np.float64), -MAX_EVIDENCE, MAX_EVIDENCE)
