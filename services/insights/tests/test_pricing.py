from __future__ import annotations

import pytest

from shopee_insights.domain.pricing import demand_panel, fit_elasticity, optimal_price
from shopee_insights.domain.shop_data import ShopData


def test_elastic_demand_gets_the_markup_rule() -> None:
    advice = optimal_price(-2.0, current_price=100.0, unit_cost=60.0, low=50.0, high=200.0)
    # p* = c e / (1 + e) = 60 * 2 = 120
    assert advice.recommended_price_minor == 120
    assert advice.expected_units_change_pct == pytest.approx(((120 / 100) ** -2 - 1) * 100)
    assert advice.expected_profit_change_pct > 0


def test_inelastic_demand_goes_to_the_upper_bound_and_bounds_hold() -> None:
    assert optimal_price(-0.5, 100.0, 60.0, 70.0, 130.0).recommended_price_minor == 130
    assert optimal_price(-5.0, 100.0, 10.0, 90.0, 130.0).recommended_price_minor == 90


def test_the_best_measured_product_is_near_its_true_elasticity(
    shop: ShopData, true_elasticities: dict[str, float]
) -> None:
    panel = demand_panel(shop)
    assert (panel["views"] > 0).all()
    busiest = panel.groupby("product_id")["units"].sum().idxmax()
    estimate = fit_elasticity(panel[panel["product_id"] == busiest], "product")
    assert estimate.value < 0
    # Within three standard errors of the generator's true value.
    assert abs(estimate.value - true_elasticities[str(busiest)]) < 3 * estimate.std_error
