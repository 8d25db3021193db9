"""Marketing mix: a saturating response curve per channel, and budget allocation.

Channels are the four ads channels and `live_stream`. Daily spend per ads channel comes from
campaign SPEND events (`ads_channel`); their response is the daily revenue of orders whose buyer
arrived that day through paid traffic (Shopee Ads, affiliate and external ads sessions). Ads
channels share that revenue, so their curves are fitted jointly:
revenue(day) = base + sum_c vmax_c * spend_c / (spend_c + k_c) (Michaelis-Menten, scipy
least_squares, non-negative). Live streams are a separate revenue pool: the orders that name a
live-stream campaign (`campaign_id`), so live_stream's curve is fitted on its own, without a base,
on the days a paid-for stream ran. Each order counts once: one attributed to a live stream is
live_stream's even if its buyer came through ads. Flash sales and vouchers are not channels: their
cost is the discount, an outcome of sales rather than a budget set beforehand.
Allocation maximises expected revenue over a piecewise-linear approximation of the concave curves
with scipy's linprog (HiGHS), within per-channel bounds and the total budget; bandit mode draws the
curve parameters from their approximate posterior (Thompson sampling) before solving, so ongoing
allocation keeps exploring uncertain channels. Budgets and revenues are per day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import least_squares, linprog  # type: ignore[import-untyped]

from shopee_insights.domain.shop_data import ShopData

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
LIVE_STREAM = "live_stream"
# Two curve parameters need more than a handful of streams.
MIN_STREAM_DAYS = 12
# Campaign kinds that are not channels: their cost is the discount they give.
DISCOUNT_CAMPAIGNS = ("flash_sale", "voucher")


@dataclass(frozen=True)
class ResponseCurves:
    """Fitted curves: channel order, vmax and k per channel, their covariance, the base of the
    ads pool (paid-traffic revenue no channel explains)."""

    channels: list[str]
    vmax: FloatArray
    half_saturation: FloatArray
    covariance: FloatArray
    base: float
    historical_roas: dict[str, float]
    max_daily_spend: dict[str, float]
    days: int
    # The smallest daily spend seen per channel. Below it the curve is not trusted: a fit whose
    # half-saturation sits near zero would promise nearly all of vmax for the first unit spent
    # (a live stream whose sales do not follow its cost fits that way). There the response is
    # the straight line from 0 to the curve at that spend, the same return per unit.
    min_daily_spend: dict[str, float] | None = None

    def revenue(
        self, channel: int, spend: float, vmax: float | None = None, k: float | None = None
    ) -> float:
        v = self.vmax[channel] if vmax is None else vmax
        h = self.half_saturation[channel] if k is None else k
        return float(self.response(channel, np.array([spend]), v, h)[0])

    def response(self, channel: int, spend: FloatArray, vmax: float, k: float) -> FloatArray:
        """The curve at `spend`, straight from the origin below the smallest spend seen."""
        floor = (self.min_daily_spend or {}).get(self.channels[channel], 0.0)
        curve = np.where(spend > 0, vmax * spend / (spend + k), 0.0)
        if floor <= 0:
            return np.asarray(curve, dtype=np.float64)
        at_floor = vmax * floor / (floor + k)
        return np.asarray(np.where(spend < floor, spend / floor * at_floor, curve), np.float64)


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


def live_stream_campaigns(data: ShopData) -> pd.DataFrame:
    """Live-stream campaigns with spend, indexed by campaign_id: `spend_minor` (their SPEND
    events summed) and `day`, the shop-local day the stream started."""
    campaigns = data.campaigns
    spend = campaigns[
        (campaigns["kind"] == "CAMPAIGN_KIND_LIVE_STREAM")
        & (campaigns["action"] == "CAMPAIGN_ACTION_SPEND")
    ]
    # SPEND comes after the stream ends, possibly past midnight: the start dates the stream.
    started = pd.to_datetime(spend["starts_at"], utc=True).fillna(spend["occurred_at"])
    spend = spend.assign(day=started.dt.tz_convert(data.time_zone).dt.date)
    streams = spend.groupby("campaign_id").agg(
        spend_minor=("spend_minor", "sum"), day=("day", "first")
    )
    return streams[streams["spend_minor"] > 0]


def live_stream_days(data: ShopData) -> pd.DataFrame:
    """Per shop-local day a paid-for live stream ran: its spend (column `live_stream`) and
    `revenue`, the paid revenue of orders attributed to it by campaign_id, dated by the stream's
    day rather than the order's so spend and response stay paired."""
    streams = live_stream_campaigns(data)
    lines = data.paid_lines
    attributed = lines[lines["campaign_id"].isin(streams.index)]
    revenue = attributed.groupby(attributed["campaign_id"].map(streams["day"]))["paid_minor"].sum()
    table = streams.groupby("day")["spend_minor"].sum().to_frame(LIVE_STREAM)
    table["revenue"] = revenue.reindex(table.index).fillna(0.0)
    return table.astype(float)


def daily_spend_and_revenue(data: ShopData) -> pd.DataFrame:
    """Per shop-local day: spend per ads channel (columns named as CHANNEL_NAMES) and `revenue`,
    the paid-traffic revenue (orders placed by buyers who came through ads that day), less the
    orders attributed to a live stream: those are live_stream's response."""
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
    lines = data.paid_lines
    lines = lines[~lines["campaign_id"].isin(live_stream_campaigns(data).index)]
    days = lines["occurred_at"].dt.tz_convert(zone).dt.date
    # A mask, not a list: an empty list would select columns.
    attributed = np.array(
        [(buyer, day) in paid_visits for buyer, day in zip(lines["buyer_id"], days, strict=True)],
        dtype=bool,
    )
    revenue = lines[attributed].groupby(days[attributed])["paid_minor"].sum()
    table["revenue"] = revenue.reindex(table.index).fillna(0.0)
    return table.fillna(0.0).astype(float)


@dataclass(frozen=True)
class _PoolFit:
    """Curves fitted to one revenue pool; covariance over (vmax..., k...) in money units."""

    channels: list[str]
    spend: FloatArray
    vmax: FloatArray
    half_saturation: FloatArray
    covariance: FloatArray
    base: float


def _fit_pool(daily: pd.DataFrame, with_base: bool) -> _PoolFit:
    """Least-squares fit of revenue = [base +] sum over the spend columns of a Michaelis-Menten
    curve, on data scaled to mean 1."""
    channels = [c for c in daily.columns if c != "revenue" and daily[c].sum() > 0]
    spend = daily[channels].to_numpy(float)
    revenue = daily["revenue"].to_numpy(float)
    scale_spend = np.maximum(spend.mean(axis=0), 1.0)
    scale_revenue = max(float(revenue.mean()), 1.0)
    x = spend / scale_spend
    y = revenue / scale_revenue
    n = len(channels)
    base_slots = 1 if with_base else 0

    def predict(theta: FloatArray) -> FloatArray:
        vmax, k = theta[:n], theta[n : 2 * n]
        base = theta[2 * n] if with_base else 0.0
        return np.asarray(base + (vmax * x / (x + k)).sum(axis=1), dtype=np.float64)

    start = np.concatenate([np.full(n, 1.0 / n * 2), np.ones(n), np.full(base_slots, 0.1)])
    fitted = least_squares(
        lambda t: predict(t) - y,
        start,
        # Half-saturation within 0.1x to 10x the usual spend: outside it the history cannot tell
        # a curve from a straight line, and a straight line would put the whole budget on one
        # channel.
        bounds=(
            np.concatenate([np.zeros(n), np.full(n, 0.1), np.zeros(base_slots)]),
            np.concatenate([np.full(n, 50.0), np.full(n, 10.0), np.full(base_slots, 50.0)]),
        ),
    )
    theta = fitted.x
    residual_var = float((fitted.fun**2).sum() / max(len(y) - len(theta), 1))
    jac = fitted.jac
    covariance = np.linalg.pinv(jac.T @ jac) * residual_var
    # Back to money: vmax in revenue units, k in spend units.
    unit = np.concatenate([np.full(n, scale_revenue), scale_spend])
    covariance = covariance[: 2 * n, : 2 * n] * np.outer(unit, unit)
    return _PoolFit(
        channels=channels,
        spend=spend,
        vmax=theta[:n] * scale_revenue,
        half_saturation=theta[n : 2 * n] * scale_spend,
        covariance=(covariance + covariance.T) / 2,
        base=float(theta[2 * n] * scale_revenue) if with_base else 0.0,
    )


def fit_response_curves(daily: pd.DataFrame, live: pd.DataFrame | None = None) -> ResponseCurves:
    """Jointly fit one curve per ads channel plus a base to the paid-traffic revenue (`daily`);
    with at least MIN_STREAM_DAYS days in `live` (as live_stream_days makes it), fit live_stream's
    curve on its own pool, without a base: no stream, no revenue attributed to one."""
    pools = [_fit_pool(daily, with_base=True)]
    if live is not None and len(live) >= MIN_STREAM_DAYS:
        pools.append(_fit_pool(live, with_base=False))
    channels = [c for pool in pools for c in pool.channels]
    n = len(channels)
    # Pools are fitted apart, so their parameters are uncorrelated: a block-diagonal covariance.
    covariance = np.zeros((2 * n, 2 * n))
    offset = 0
    historical_roas: dict[str, float] = {}
    max_daily_spend: dict[str, float] = {}
    min_daily_spend: dict[str, float] = {}
    for pool in pools:
        m = len(pool.channels)
        index = np.concatenate([offset + np.arange(m), n + offset + np.arange(m)])
        covariance[np.ix_(index, index)] = pool.covariance
        offset += m
        for i, channel in enumerate(pool.channels):
            spend = pool.spend[:, i]
            contribution = pool.vmax[i] * spend / (spend + pool.half_saturation[i])
            historical_roas[channel] = float(contribution.sum() / spend.sum())
            max_daily_spend[channel] = float(spend.max())
            min_daily_spend[channel] = float(spend[spend > 0].min())
    return ResponseCurves(
        channels=channels,
        vmax=np.concatenate([pool.vmax for pool in pools]),
        half_saturation=np.concatenate([pool.half_saturation for pool in pools]),
        covariance=covariance,
        base=pools[0].base,
        historical_roas=historical_roas,
        max_daily_spend=max_daily_spend,
        days=len(daily),
        min_daily_spend=min_daily_spend,
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
        values = curves.response(i, points, float(v[i]), float(k[i]))
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
