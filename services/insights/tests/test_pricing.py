from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopee_insights.domain.price_panel import (
    LIVE_KIND,
    VIEW,
    conversion_panel,
    priced_traffic,
    views_panel,
)
from shopee_insights.domain.pricing import (
    DemandPanels,
    Elasticity,
    NoListPrice,
    estimate_elasticities,
    fit_elasticity,
    optimal_price,
    partially_pooled,
    product_elasticities,
)
from shopee_insights.domain.shop_data import ShopData
from shopee_insights.evaluation import score_elasticities


def test_elastic_demand_gets_the_markup_rule() -> None:
    advice = optimal_price(-2.0, current_price=100.0, unit_cost=60.0, low=50.0, high=200.0)
    # p* = c e / (1 + e) = 60 * 2 = 120
    assert advice.recommended_price_minor == 120
    assert advice.expected_units_change_pct == pytest.approx(((120 / 100) ** -2 - 1) * 100)
    assert advice.expected_profit_change_pct > 0


def test_inelastic_demand_goes_to_the_upper_bound_and_bounds_hold() -> None:
    assert optimal_price(-0.5, 100.0, 60.0, 70.0, 130.0).recommended_price_minor == 130
    assert optimal_price(-5.0, 100.0, 10.0, 90.0, 130.0).recommended_price_minor == 90


def test_a_product_without_a_list_price_has_no_price_to_optimise_from() -> None:
    with pytest.raises(NoListPrice, match="the current price is 0") as raised:
        optimal_price(-2.0, current_price=0.0, unit_cost=60.0, low=0.0, high=0.0)
    assert raised.value.price == 0.0


@pytest.fixture(scope="module")
def traffic(shop: ShopData) -> pd.DataFrame:
    return priced_traffic(shop)


def test_views_see_campaign_discounts_and_live_prices_only_when_live(
    shop: ShopData, traffic: pd.DataFrame
) -> None:
    campaigns = shop.campaigns.dropna(subset=["starts_at"]).drop_duplicates("campaign_id")
    campaigns = campaigns[campaigns["product_ids"].map(len) > 0]
    checked = {"live": 0, "other": 0}
    for campaign in campaigns.itertuples():
        inside = traffic[
            (traffic["occurred_at"] >= pd.Timestamp(campaign.starts_at))
            & (traffic["occurred_at"] < pd.Timestamp(campaign.ends_at))
            & traffic["product_id"].isin(list(campaign.product_ids))
        ]
        live = inside["source"] == "TRAFFIC_SOURCE_LIVE_STREAM"
        seen = inside if campaign.kind != LIVE_KIND else inside[live]
        # No other campaign gives a deeper discount than this one on these views.
        assert (seen["discount"] >= campaign.discount_percent).all()
        expected = seen["price_minor"] * (1 - seen["discount"] / 100)
        assert np.allclose(seen["price"], expected)
        if campaign.kind == LIVE_KIND:
            checked["live"] += len(seen)
            others = inside[~live & ~inside["featured_slot"] & ~inside["featured_day"]]
            assert (others["discount"] == 0).all()
        else:
            checked["other"] += len(seen)
    assert checked["live"] > 0
    assert checked["other"] > 0


def test_panels_keep_every_available_view(shop: ShopData, traffic: pd.DataFrame) -> None:
    conversion = conversion_panel(shop, traffic)
    available_views = int(((traffic["kind"] == VIEW) & traffic["available"]).sum())
    assert conversion["views"].sum() == available_views
    assert set(conversion["group"]) <= {"live", "paid", "returning", "other"}
    views = views_panel(shop, traffic)
    non_live = int(((traffic["kind"] == VIEW) & (traffic["group"] != "live")).sum())
    assert views["views"].sum() == non_live
    # Zeros are kept: hours in which the shop had views but the product had none.
    assert (views["views"] == 0).any()
    assert (views["shop_views"] >= views["views"]).all()


def _simulated_panels(true_conversion: float, products: int, seed: int) -> DemandPanels:
    """Panels drawn from the model the estimator assumes: carts ~ Poisson(views x rate x
    price^e x group effect), views ~ Poisson(shop views x share x 1.5 when featured)."""
    rng = np.random.default_rng(seed)
    rows = 3_000
    product = rng.integers(0, products, rows).astype(str)
    price = 100 * np.exp(rng.normal(0, 0.15, rows))
    group = rng.choice(["other", "returning", "paid"], rows)
    views = rng.integers(5, 40, rows)
    lift = np.select([group == "returning", group == "paid"], [2.2, 0.8], 1.0)
    conversion = pd.DataFrame(
        {
            "product_id": product,
            "price": price,
            "group": group,
            "views": views,
            "carts": rng.poisson(views * 0.05 * lift * (price / 100) ** true_conversion),
            "dow": rng.integers(0, 7, rows),
            "trend": rng.random(rows) * 2,
            "slot_running": rng.random(rows) < 0.1,
            "day_sale_running": rng.random(rows) < 0.05,
            "live_running": rng.random(rows) < 0.1,
            "double_date": rng.random(rows) < 0.03,
        }
    )
    featured = rng.random(rows) < 0.1
    shop_views = rng.integers(50, 400, rows)
    views_rows = pd.DataFrame(
        {
            "product_id": product,
            "price": price,
            "shop_views": shop_views,
            "views": rng.poisson(shop_views * 0.03 * np.where(featured, 1.5, 1.0)),
            "featured_slot": featured,
            "featured_day": rng.random(rows) < 0.05,
            "dow": rng.integers(0, 7, rows),
            "trend": rng.random(rows) * 2,
        }
    )
    return DemandPanels(conversion, views_rows)


@pytest.mark.parametrize("truth", [-0.7, -1.8, -2.9])
def test_the_decomposition_recovers_a_known_elasticity(truth: float) -> None:
    panels = _simulated_panels(truth, products=1, seed=int(-truth * 10))
    estimate = fit_elasticity(panels.conversion, panels.views, "product")
    assert abs(estimate.conversion - truth) < 3 * estimate.conversion_std_error
    # Views do not depend on price here: that part is near zero, and the sum near the truth.
    assert abs(estimate.views) < 3 * estimate.views_std_error
    assert abs(estimate.value - truth) < 3 * estimate.std_error
    assert estimate.std_error == pytest.approx(
        np.hypot(estimate.conversion_std_error, estimate.views_std_error)
    )
    assert estimate.significant


def _sale_day_panels(truth: float, seed: int) -> DemandPanels:
    """Eight products over two years: on the 24 sale days every shopper buys 30% more, and
    products 0-3 are 25% off on exactly those days; list prices otherwise move a little."""
    rng = np.random.default_rng(seed)
    days = np.arange(730)
    sale_day = days % 30 == 11
    cells = pd.DataFrame(
        [(str(p), int(d), g) for p in range(8) for d in days for g in ("other", "returning")],
        columns=["product_id", "day", "group"],
    )
    on_sale = cells["day"].map(dict(enumerate(sale_day))).to_numpy(bool)
    discounted = on_sale & (cells["product_id"].astype(int) < 4).to_numpy()
    list_price = 100 * np.exp(0.08 * np.sin(cells["day"].to_numpy() / 45 + cells.index % 8))
    price = list_price * np.where(discounted, 0.75, 1.0)
    views = rng.poisson(60, len(cells)) + 1
    rate = 0.05 * np.where(cells["group"] == "returning", 2.0, 1.0) * np.where(on_sale, 1.3, 1.0)
    conversion = cells.assign(
        price=price,
        views=views,
        carts=rng.poisson(views * rate * (price / 100) ** truth),
        dow=cells["day"] % 7,
        trend=cells["day"] / 365,
        slot_running=False,
        day_sale_running=on_sale,
        live_running=False,
        double_date=on_sale,
    )
    shop_views = rng.integers(500, 900, len(cells))
    views_rows = pd.DataFrame(
        {
            "product_id": cells["product_id"],
            "price": price,
            "shop_views": shop_views,
            "views": rng.poisson(shop_views * 0.05),
            "featured_slot": False,
            "featured_day": discounted,
            "dow": cells["day"] % 7,
            "trend": cells["day"] / 365,
        }
    )
    return DemandPanels(conversion, views_rows)


def test_a_sale_day_lift_is_learned_from_every_product_not_read_as_price_response() -> None:
    panels = _sale_day_panels(-2.0, seed=11)
    categories = pd.Series("Serum", index=[str(p) for p in range(8)])
    joint = product_elasticities(panels.conversion, panels.views, categories)
    assert sorted(joint) == [str(p) for p in range(8)]
    for product in "0123":
        estimate = joint[product]
        assert abs(estimate.conversion + 2.0) < 3 * estimate.conversion_std_error
        # Alone, a product discounted on every sale day has only its small list-price moves to
        # tell its price response from the sale-day lift; with the others it knows the lift.
        alone = fit_elasticity(
            panels.conversion[panels.conversion["product_id"] == product],
            panels.views[panels.views["product_id"] == product],
            "product",
        )
        assert estimate.conversion_std_error < 0.8 * alone.conversion_std_error


def test_thin_products_fall_back_to_their_category() -> None:
    panels = _simulated_panels(-1.5, products=6, seed=3)
    # Product "0" keeps 30 of its ~500 cells: far fewer than 100 add-to-carts.
    conversion = panels.conversion
    thin = conversion[conversion["product_id"] == "0"].index[30:]
    panels = DemandPanels(conversion.drop(index=thin), panels.views)
    categories = pd.Series("Serum", index=[str(p) for p in range(6)])
    by_product, by_category = estimate_elasticities(panels, categories)
    assert "0" not in by_product
    assert len(by_product) == 5
    pooled = by_category["Serum"]
    assert pooled.source == "category"
    assert abs(pooled.value + 1.5) < 3 * pooled.std_error


def test_precise_means_a_95_percent_interval_within_20_percent() -> None:
    def elasticity(value: float, std_error: float) -> Elasticity:
        return Elasticity(value, std_error, 0.0, 100, 1_000, 0.1, "product")

    assert elasticity(-2.0, 0.2).precise
    assert not elasticity(-2.0, 0.21).precise
    assert not elasticity(-0.5, 0.2).precise


def test_the_best_measured_product_is_near_its_true_elasticity(
    shop: ShopData, traffic: pd.DataFrame, true_elasticities: dict[str, float]
) -> None:
    conversion = conversion_panel(shop, traffic)
    views = views_panel(shop, traffic)
    busiest = conversion.groupby("product_id")["carts"].sum().idxmax()
    estimate = fit_elasticity(
        conversion[conversion["product_id"] == busiest],
        views[views["product_id"] == busiest],
        "product",
    )
    assert estimate.value < 0
    # Within three standard errors of the generator's true value.
    assert abs(estimate.value - true_elasticities[str(busiest)]) < 3 * estimate.std_error


def test_scores_count_the_products_pinned_down_and_name_those_off_the_truth() -> None:
    panels = _simulated_panels(-1.8, products=1, seed=18)
    categories = pd.Series("Serum", index=["0"])
    right = score_elasticities(panels, categories, {"0": -1.8})
    assert (right["fitted"], right["enough_variation"], right["within_20pct"]) == (1, 1, 1)
    assert right["misses"] == []
    wrong = score_elasticities(panels, categories, {"0": -1.2})
    assert (wrong["enough_variation"], wrong["within_20pct"]) == (1, 0)
    assert [miss["product_id"] for miss in wrong["misses"]] == ["0"]
    assert wrong["misses"][0]["relative_error"] > 0.2


def _measured(value: float, std_error: float) -> Elasticity:
    return Elasticity(
        value=value,
        std_error=std_error,
        p_value=0.0,
        observations=100,
        units=500,
        log_price_std=0.1,
        source="product",
    )


def test_partial_pooling_pulls_noisy_products_toward_their_shop_and_lowers_the_error() -> None:
    rng = np.random.default_rng(4)
    truth = rng.uniform(-3.0, -1.0, 200)
    std_error = rng.uniform(0.1, 0.8, 200)
    own = {
        str(i): _measured(t + rng.normal(0, s), s)
        for i, (t, s) in enumerate(zip(truth, std_error, strict=True))
    }
    pooled = partially_pooled(own)
    shrunk = np.array([pooled[str(i)].value for i in range(200)])
    kept = np.array([own[str(i)].value for i in range(200)])
    assert np.mean((shrunk - truth) ** 2) < 0.8 * np.mean((kept - truth) ** 2)
    # The noisiest products move most; each keeps its own fit beside the pooled one.
    moved = np.abs(shrunk - kept)
    assert moved[std_error > 0.6].mean() > 3 * moved[std_error < 0.2].mean()
    assert all(pooled[p].own_value == own[p].value for p in own)
    assert all(pooled[p].std_error < own[p].std_error for p in own)
    # Calibrated: errors over the pooled standard errors spread about 1.
    z = (shrunk - truth) / np.array([pooled[str(i)].std_error for i in range(200)])
    assert 0.8 < z.std() < 1.2


def test_too_few_products_keep_their_own_fits() -> None:
    own = {str(i): _measured(-1.0 - i, 0.3) for i in range(4)}
    assert partially_pooled(own) == own
