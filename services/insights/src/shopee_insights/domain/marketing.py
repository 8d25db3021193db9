"""Marketing mix: a saturating response curve per ads channel, and budget allocation.

Daily spend per channel comes from campaign SPEND events (`ads_channel`); the response is the
daily revenue of orders whose buyer arrived that day through paid traffic (Shopee Ads, affiliate
and external ads sessions). Channels share that revenue, so their curves are fitted jointly:
revenue(day) = base + sum_c vmax_c * spend_c / (spend_c + k_c) (Michaelis-Menten, scipy
least_squares, non-negative). Allocation maximises expected revenue over a piecewise-linear
approximation of the concave curves with scipy's linprog (HiGHS), within per-channel bounds and
the total budget; bandit mode draws the curve parameters from their approximate posterior
(Thompson sampling) before solving, so ongoing allocation keeps exploring uncertain channels.
Budgets and revenues are per day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import least_squares, linprog  # type: ignore[import-untyped]

from shopee_insights.domain.shop_data import PAID_STATUSES, ShopData

FloatArray = npt.NDArray[np.float64]
CHANNEL_NAMES = {
    "ADS_CHANNEL_SEARCH": "ads_search",
    "ADS_CHANNEL_DISCOVERY": "ads_discovery",
    "ADS_CHANNEL_AFFILIATE": "affiliate",
    "ADS_CHANNEL_EXTERNAL": "ads_external",
}
PAID_SOURCES = ("TRAFFIC_SOURCE_ADS",)
PAID_CHANNELS = ("CHANNEL_AFFILIATE",)
SEGMENTS = 24
MIN_DAYS = 28


@dataclass(frozen=True)
class ResponseCurves:
    """Fitted curves: channel order, vmax and k per channel, their covariance, the base."""

    channels: list[str]
    vmax: FloatArray
    half_saturation: FloatArray
    covariance: FloatArray
    base: float
    historical_roas: dict[str, float]
    max_daily_spend: dict[str, float]
    days: int

    def revenue(
        self, channel: int, spend: float, vmax: float | None = None, k: float | None = None
    ) -> float:
        v = self.vmax[channel] if vmax is None else vmax
        h = self.half_saturation[channel] if k is None else k
        return float(v * spend / (spend + h)) if spend > 0 else 0.0


@dataclass(frozen=True)
class Bounds:
    channel: str
    low: float
    high: float


@dataclass(frozen=True)
class Allocation:
    channel: str
    budget: float
    expected_revenue: float
    expected_roas: float
    historical_roas: float


def daily_spend_and_revenue(data: ShopData) -> pd.DataFrame:
    """Per shop-local day: spend per channel (columns named as CHANNEL_NAMES) and `revenue`,
    the paid-traffic revenue (orders placed by buyers who came through ads that day)."""
    zone = data.time_zone
    spend = data.campaigns[
        (data.campaigns["action"] == "CAMPAIGN_ACTION_SPEND")
        & data.campaigns["ads_channel"].isin(list(CHANNEL_NAMES))
    ]
    spend = spend.assign(
        day=spend["occurred_at"].dt.tz_convert(zone).dt.date,
        channel=spend["ads_channel"].map(CHANNEL_NAMES),
    )
    table = spend.pivot_table(index="day", columns="channel", values="spend_minor", aggfunc="sum")
    traffic = data.traffic
    paid = traffic[
        traffic["source"].isin(PAID_SOURCES)
        | traffic["channel"].isin(PAID_CHANNELS)
        | ((traffic["source"] == "TRAFFIC_SOURCE_EXTERNAL") & (traffic["channel"] == "CHANNEL_WEB"))
    ]
    paid_visits = set(
        zip(paid["visitor_id"], paid["occurred_at"].dt.tz_convert(zone).dt.date, strict=True)
    )
    lines = data.orders[data.orders["status"].isin(PAID_STATUSES)]
    days = lines["occurred_at"].dt.tz_convert(zone).dt.date
    attributed = [
        (buyer, day) in paid_visits for buyer, day in zip(lines["buyer_id"], days, strict=True)
    ]
    revenue = lines[attributed].groupby(days[attributed])["paid_minor"].sum()
    table["revenue"] = revenue.reindex(table.index).fillna(0.0)
    return table.fillna(0.0).astype(float)


def fit_response_curves(daily: pd.DataFrame) -> ResponseCurves:
    """Jointly fit one Michaelis-Menten curve per channel plus a base to daily revenue."""
    channels = [c for c in daily.columns if c != "revenue" and daily[c].sum() > 0]
    spend = daily[channels].to_numpy(float)
    revenue = daily["revenue"].to_numpy(float)
    scale_spend = np.maximum(spend.mean(axis=0), 1.0)
    scale_revenue = max(float(revenue.mean()), 1.0)
    x = spend / scale_spend
    y = revenue / scale_revenue
    n = len(channels)

    def predict(theta: FloatArray) -> FloatArray:
        vmax, k, base = theta[:n], theta[n : 2 * n], theta[2 * n]
        return np.asarray(base + (vmax * x / (x + k)).sum(axis=1), dtype=np.float64)

    start = np.concatenate([np.full(n, 1.0 / n * 2), np.ones(n), [0.1]])
    fitted = least_squares(
        lambda t: predict(t) - y,
        start,
        # Half-saturation within 0.1x to 10x the usual spend: outside it the history cannot tell
        # a curve from a straight line, and a straight line would put the whole budget on one
        # channel.
        bounds=(
            np.concatenate([np.zeros(n), np.full(n, 0.1), [0.0]]),
            np.concatenate([np.full(n, 50.0), np.full(n, 10.0), [50.0]]),
        ),
    )
    theta = fitted.x
    residual_var = float((fitted.fun**2).sum() / max(len(y) - len(theta), 1))
    jac = fitted.jac
    covariance = np.linalg.pinv(jac.T @ jac) * residual_var
    # Back to money: vmax in revenue units, k in spend units.
    vmax = theta[:n] * scale_revenue
    k = theta[n : 2 * n] * scale_spend
    unit = np.concatenate([np.full(n, scale_revenue), scale_spend])
    covariance = covariance[: 2 * n, : 2 * n] * np.outer(unit, unit)
    covariance = (covariance + covariance.T) / 2
    contribution = {
        c: float((vmax[i] * spend[:, i] / (spend[:, i] + k[i])).sum())
        for i, c in enumerate(channels)
    }
    return ResponseCurves(
        channels=channels,
        vmax=vmax,
        half_saturation=k,
        covariance=covariance,
        base=float(theta[2 * n] * scale_revenue),
        historical_roas={
            c: contribution[c] / float(spend[:, i].sum()) for i, c in enumerate(channels)
        },
        max_daily_spend={c: float(spend[:, i].max()) for i, c in enumerate(channels)},
        days=len(daily),
    )


def allocate(
    curves: ResponseCurves,
    total: float,
    bounds: list[Bounds],
    vmax: FloatArray | None = None,
    half_saturation: FloatArray | None = None,
) -> list[Allocation]:
    """Split `total` over the bounded channels to maximise the curves' revenue: each concave
    curve becomes SEGMENTS linear pieces with falling slopes, so the LP fills them in order."""
    v = curves.vmax if vmax is None else vmax
    k = curves.half_saturation if half_saturation is None else half_saturation
    index = {c: i for i, c in enumerate(curves.channels)}
    slopes: list[float] = []
    widths: list[float] = []
    owner: list[int] = []
    for position, bound in enumerate(bounds):
        i = index[bound.channel]
        top = min(bound.high, total)
        points = np.linspace(0.0, top, SEGMENTS + 1)
        values = v[i] * points / (points + k[i])
        for s in range(SEGMENTS):
            width = float(points[s + 1] - points[s])
            slopes.append(float(values[s + 1] - values[s]) / width if width > 0 else 0.0)
            widths.append(width)
            owner.append(position)
    count = len(slopes)
    membership = np.zeros((len(bounds), count))
    membership[np.array(owner), np.arange(count)] = 1.0
    lows = np.array([b.low for b in bounds])
    a_ub = np.vstack([np.ones((1, count)), -membership])
    b_ub = np.concatenate([[total], -lows])
    solution = linprog(
        -np.array(slopes),
        A_ub=a_ub,
        b_ub=b_ub,
        bounds=list(zip([0.0] * count, widths, strict=True)),
        method="highs",
    )
    if not solution.success:
        raise ValueError(f"no allocation satisfies the bounds: {solution.message}")
    budgets = membership @ solution.x
    out = []
    for position, bound in enumerate(bounds):
        i = index[bound.channel]
        budget = float(budgets[position])
        revenue = curves.revenue(i, budget)
        out.append(
            Allocation(
                channel=bound.channel,
                budget=budget,
                expected_revenue=revenue,
                expected_roas=revenue / budget if budget > 0 else 0.0,
                historical_roas=curves.historical_roas[bound.channel],
            )
        )
    return out


def thompson_allocate(
    curves: ResponseCurves, total: float, bounds: list[Bounds], rng: np.random.Generator
) -> list[Allocation]:
    """One Thompson-sampling step: draw (vmax, k) from the fit's normal approximation, clipped
    positive, and allocate as if the draw were true; revenue is reported under the fitted curves."""
    n = len(curves.channels)
    mean = np.concatenate([curves.vmax, curves.half_saturation])
    draw = rng.multivariate_normal(mean, curves.covariance, method="eigh", check_valid="ignore")
    vmax = np.maximum(draw[:n], 1e-9)
    k = np.maximum(draw[n:], 1e-9)
    return allocate(curves, total, bounds, vmax=vmax, half_saturation=k)
