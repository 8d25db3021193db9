from __future__ import annotations

import numpy as np
import pytest

from shopee_insights.domain.marketing import (
    Bounds,
    ResponseCurves,
    allocate,
    daily_spend_and_revenue,
    fit_response_curves,
    thompson_allocate,
)
from shopee_insights.domain.shop_data import ShopData


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
