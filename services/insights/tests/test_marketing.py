from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from shopee_insights.domain.marketing import (
    LIVE_STREAM,
    MIN_STREAM_DAYS,
    Bounds,
    ResponseCurves,
    allocate,
    daily_spend_and_revenue,
    fit_response_curves,
    live_stream_days,
    thompson_allocate,
)
from shopee_insights.domain.shop_data import ShopData, build_shop_data
from shopee_insights.training import fit_marketing

ZONE = ZoneInfo("Asia/Jakarta")
FIRST_DAY = date(2026, 3, 1)
DAYS = 60
# The synthetic shop's true daily curves: revenue = vmax * spend / (spend + k).
ADS_BASE, ADS_VMAX, ADS_K = 1_000.0, 30_000.0, 8_000.0
LIVE_VMAX, LIVE_K = 50_000.0, 5_000.0
# Stream days: every other day; the last one runs across local midnight.
STREAM_DAYS = [FIRST_DAY + timedelta(days=d) for d in range(0, DAYS, 2)]
MIDNIGHT_STREAM = STREAM_DAYS[-1]
# On this stream day the ads visitor also buys from the stream.
OVERLAP_DAY = STREAM_DAYS[3]
OVERLAP_ORDER = 700


def curves(vmax: list[float], k: list[float]) -> ResponseCurves:
    n = len(vmax)
    return ResponseCurves(
        channels=[f"c{i}" for i in range(n)],
        vmax=np.array(vmax),
        half_saturation=np.array(k),
        covariance=np.zeros((2 * n, 2 * n)),
        base=0.0,
        historical_roas={f"c{i}": 1.0 for i in range(n)},
        max_daily_spend={f"c{i}": 1.0 for i in range(n)},
        days=30,
    )


def test_allocation_spends_the_budget_within_bounds() -> None:
    fitted = curves([100.0, 300.0, 50.0], [10.0, 10.0, 10.0])
    bounds = [Bounds("c0", 5.0, 100.0), Bounds("c1", 0.0, 20.0), Bounds("c2", 0.0, 100.0)]
    result = {a.channel: a for a in allocate(fitted, 60.0, bounds)}
    assert sum(a.budget for a in result.values()) == pytest.approx(60.0)
    assert result["c0"].budget >= 5.0 - 1e-9
    assert result["c1"].budget <= 20.0 + 1e-9
    # The strongest channel is filled to its cap before the others.
    assert result["c1"].budget == pytest.approx(20.0)


def test_identical_channels_share_equally_and_thompson_without_doubt_agrees() -> None:
    fitted = curves([100.0, 100.0], [10.0, 10.0])
    bounds = [Bounds("c0", 0.0, 50.0), Bounds("c1", 0.0, 50.0)]
    planned = allocate(fitted, 40.0, bounds)
    assert [a.budget for a in planned] == pytest.approx([20.0, 20.0], abs=40.0 / 24)
    sampled = thompson_allocate(fitted, 40.0, bounds, np.random.default_rng(0))
    assert [a.budget for a in sampled] == pytest.approx([a.budget for a in planned])


def test_curves_fit_on_a_generated_shop(shop: ShopData) -> None:
    daily = daily_spend_and_revenue(shop)
    assert {"ads_search", "ads_discovery", "affiliate", "ads_external"} <= set(daily.columns)
    assert daily["revenue"].sum() > 0
    fitted = fit_response_curves(daily)
    assert (fitted.vmax >= 0).all()
    assert (fitted.half_saturation > 0).all()
    assert np.allclose(fitted.covariance, fitted.covariance.T)


def local(day: date, hour: float) -> datetime:
    start = datetime(day.year, day.month, day.day, tzinfo=ZONE) + timedelta(hours=hour)
    return start.astimezone(UTC)


def live_spend(day: date) -> float:
    """Stream costs spread from 1,000 to 20,000 so the curve's bend is visible."""
    return 1_000.0 + 19_000.0 * ((STREAM_DAYS.index(day) * 7) % 30) / 29


def ads_spend(day: date) -> float:
    return 2_000.0 + 18_000.0 * (((day - FIRST_DAY).days * 11) % DAYS) / (DAYS - 1)


def paid_order(
    at: datetime, order_id: str, buyer: str, amount: int, campaign: str = ""
) -> Iterator[tuple[str, datetime, dict[str, Any]]]:
    item = {"product_id": "p", "product_name": "P", "quantity": 1, "unit_price_minor": amount}
    created = {"order_id": order_id, "status": "ORDER_STATUS_CREATED", "buyer_id": buyer}
    yield "order", at, created | {"items": [item], "campaign_id": campaign}
    yield "order", at + timedelta(minutes=5), {"order_id": order_id, "status": "ORDER_STATUS_PAID"}


def campaign(
    at: datetime, campaign_id: str, kind: str, action: str, **fields: Any
) -> tuple[str, datetime, dict[str, Any]]:
    payload = {"campaign_id": campaign_id, "kind": kind, "action": action} | fields
    return "campaign", at, payload


def synthetic_events(rng: np.random.Generator) -> Iterator[tuple[str, datetime, dict[str, Any]]]:
    """DAYS days of ads_search spend whose paid-traffic revenue follows the ads curve, a
    live stream every other day whose attributed revenue follows the live curve, and one
    flash sale (orders attributed to it belong to no channel)."""
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        spend = ads_spend(day)
        yield campaign(
            local(day, 23.9),
            "ads-search",
            "CAMPAIGN_KIND_ADS",
            "CAMPAIGN_ACTION_SPEND",
            spend_minor=str(round(spend)),
            ads_channel="ADS_CHANNEL_SEARCH",
        )
        buyer = f"ads-{day}"
        visit = {"kind": "TRAFFIC_KIND_PRODUCT_VIEW", "visitor_id": buyer}
        visit |= {"source": "TRAFFIC_SOURCE_ADS", "channel": "CHANNEL_APP"}
        yield "traffic", local(day, 9), visit
        revenue = ADS_BASE + ADS_VMAX * spend / (spend + ADS_K)
        yield from paid_order(local(day, 10), f"o-ads-{day}", buyer, round(revenue))
        yield from paid_order(local(day, 12), f"o-fs-{day}", f"fs-{day}", 900, "fs-1")
    for day in STREAM_DAYS:
        stream = f"live-{day}"
        start = local(day, 23.5 if day == MIDNIGHT_STREAM else 20)
        end = start + timedelta(hours=2)
        times = {"starts_at": start.isoformat(), "ends_at": end.isoformat()}
        kind = "CAMPAIGN_KIND_LIVE_STREAM"
        yield campaign(start, stream, kind, "CAMPAIGN_ACTION_STARTED", **times)
        spend = live_spend(day)
        yield campaign(
            end + timedelta(seconds=1),
            stream,
            kind,
            "CAMPAIGN_ACTION_SPEND",
            spend_minor=str(round(spend)),
            **times,
        )
        revenue = LIVE_VMAX * spend / (spend + LIVE_K) * rng.lognormal(0.0, 0.05)
        if day == OVERLAP_DAY:
            yield from paid_order(start, f"o-overlap-{day}", f"ads-{day}", OVERLAP_ORDER, stream)
            revenue -= OVERLAP_ORDER
        half = round(revenue / 2)
        for j, amount in enumerate((half, round(revenue) - half)):
            # After midnight for the midnight stream: still its start day's revenue.
            at = start + timedelta(minutes=45 + 30 * j)
            yield from paid_order(at, f"o-live-{day}-{j}", f"viewer-{day}-{j}", amount, stream)
    yield campaign(
        local(FIRST_DAY, 12), "fs-1", "CAMPAIGN_KIND_FLASH_SALE", "CAMPAIGN_ACTION_STARTED"
    )


@pytest.fixture(scope="module")
def synthetic() -> ShopData:
    return build_shop_data("syn", "Asia/Jakarta", synthetic_events(np.random.default_rng(3)))


def test_live_stream_spend_and_revenue_are_paired_by_the_streams_day(synthetic: ShopData) -> None:
    live = live_stream_days(synthetic)
    assert list(live.index) == STREAM_DAYS
    assert live.loc[MIDNIGHT_STREAM, LIVE_STREAM] == round(live_spend(MIDNIGHT_STREAM))
    # Its SPEND event and second order fall on the next local day; both count on the start day.
    expected = LIVE_VMAX * live_spend(MIDNIGHT_STREAM) / (live_spend(MIDNIGHT_STREAM) + LIVE_K)
    assert live.loc[MIDNIGHT_STREAM, "revenue"] == pytest.approx(expected, rel=0.2)


def test_an_order_from_a_live_stream_and_an_ads_visitor_counts_once(synthetic: ShopData) -> None:
    ads = daily_spend_and_revenue(synthetic)
    live = live_stream_days(synthetic)
    spend = ads_spend(OVERLAP_DAY)
    ads_only = round(ADS_BASE + ADS_VMAX * spend / (spend + ADS_K))
    assert ads.loc[OVERLAP_DAY, "revenue"] == ads_only
    paid = synthetic.paid_lines
    overlap = paid[paid["order_id"] == f"o-overlap-{OVERLAP_DAY}"]["paid_minor"].sum()
    stream = paid[paid["campaign_id"] == f"live-{OVERLAP_DAY}"]["paid_minor"].sum()
    assert overlap == OVERLAP_ORDER
    assert live.loc[OVERLAP_DAY, "revenue"] == stream
    # Every order is in at most one pool; the flash sale's are in none.
    flash = paid[paid["campaign_id"] == "fs-1"]["paid_minor"].sum()
    assert ads["revenue"].sum() + live["revenue"].sum() == paid["paid_minor"].sum() - flash


def test_the_live_stream_curve_is_recovered_and_allocated_like_any_channel(
    synthetic: ShopData,
) -> None:
    fitted = fit_response_curves(daily_spend_and_revenue(synthetic), live_stream_days(synthetic))
    assert fitted.channels == ["ads_search", LIVE_STREAM]
    live = fitted.channels.index(LIVE_STREAM)
    assert fitted.vmax[live] == pytest.approx(LIVE_VMAX, rel=0.1)
    assert fitted.half_saturation[live] == pytest.approx(LIVE_K, rel=0.15)
    assert fitted.base == pytest.approx(ADS_BASE, abs=500)
    assert fitted.covariance.shape == (4, 4)
    # Separate fits: no covariance between the two pools' parameters.
    assert fitted.covariance[0, 1] == fitted.covariance[2, 3] == 0.0
    spends = np.array([live_spend(d) for d in STREAM_DAYS])
    true_roas = (LIVE_VMAX * spends / (spends + LIVE_K)).sum() / spends.sum()
    assert fitted.historical_roas[LIVE_STREAM] == pytest.approx(true_roas, rel=0.05)

    total = 20_000.0
    bounds = [Bounds(c, 0.0, total) for c in fitted.channels]
    planned = {a.channel: a for a in allocate(fitted, total, bounds)}
    assert sum(a.budget for a in planned.values()) == pytest.approx(total)
    stream = planned[LIVE_STREAM]
    # Under the true curves the best split gives live_stream about 11,700 of the 20,000.
    assert stream.budget == pytest.approx(11_700, abs=1_500)
    assert stream.expected_roas == pytest.approx(LIVE_VMAX / (stream.budget + LIVE_K), rel=0.05)
    assert stream.historical_roas == fitted.historical_roas[LIVE_STREAM]
    sampled = thompson_allocate(fitted, total, bounds, np.random.default_rng(1))
    assert [a.channel for a in sampled] == fitted.channels
    assert sum(a.budget for a in sampled) == pytest.approx(total)


def test_live_stream_needs_enough_stream_days(synthetic: ShopData) -> None:
    live = live_stream_days(synthetic).head(MIN_STREAM_DAYS - 1)
    fitted = fit_response_curves(daily_spend_and_revenue(synthetic), live)
    assert fitted.channels == ["ads_search"]
    trained = fit_marketing(synthetic)
    assert trained.metadata["live_stream_days"] == len(STREAM_DAYS)
    assert LIVE_STREAM in trained.metadata["channels"]


def test_a_shop_whose_paid_orders_all_came_from_live_streams_has_no_ads_revenue() -> None:
    live_only = build_shop_data(
        "live-only",
        "Asia/Jakarta",
        [
            *paid_order(local(FIRST_DAY, 20.5), "o-1", "viewer", 500, f"live-{FIRST_DAY}"),
            *(e for e in synthetic_events(np.random.default_rng(0)) if e[0] == "campaign"),
        ],
    )
    assert daily_spend_and_revenue(live_only)["revenue"].sum() == 0
    assert live_stream_days(live_only)["revenue"].sum() == 500


def test_below_the_smallest_spend_seen_the_return_per_unit_is_the_curves_there() -> None:
    # c0's sales did not follow its spend (all seen days at 50 or more): its fit is flat, with a
    # half-saturation near zero, and must not promise its whole vmax for the first unit spent.
    flat = dataclasses.replace(
        curves([100.0, 300.0], [0.001, 10.0]), min_daily_spend={"c0": 50.0, "c1": 1.0}
    )
    assert flat.revenue(0, 1.0) == pytest.approx(100.0 * 50 / 50.001 / 50)
    assert flat.revenue(0, 80.0) == pytest.approx(100.0 * 80 / 80.001)
    # c1 returns more than c0's 2 per unit up to about 29 spent: it takes the whole 10.
    small = allocate(flat, 10.0, [Bounds("c0", 0.0, 100.0), Bounds("c1", 0.0, 100.0)])
    assert [round(a.budget, 6) for a in small] == [0.0, 10.0]
    forced = allocate(flat, 10.0, [Bounds("c0", 10.0, 100.0), Bounds("c1", 0.0, 100.0)])
    assert forced[0].expected_roas == pytest.approx(100.0 / 50.001)
