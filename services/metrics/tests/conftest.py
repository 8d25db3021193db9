"""Shared test data of the metrics service's tests."""

from __future__ import annotations

import pytest

from shopee_metrics.domain.anomalies.evidence import WindowSums


@pytest.fixture
def ordinary() -> WindowSums:
    """A few ordinary hours of a small shop: 300 visitors, 18 checkouts, 16 orders, all about as
    expected."""
    return WindowSums(
        visitors=300,
        product_views=450,
        add_to_carts=30,
        checkout_starts=18,
        created_orders=16,
        paid_orders=15,
        gmv=15 * 5_000_000,
        expected_visitors=290,
        expected_paid=14.5,
        expected_add_to_carts=29.7,
        expected_created=16.2,
        expected_gmv=14 * 5_100_000,
        expected_aov=5_100_000,
        traffic_variance=0.04,
        dispersion_paid=1.0,
        dispersion_add_to_carts=1.0,
        rise_expected=False,
        fall_expected=False,
        sale_day=False,
    )
