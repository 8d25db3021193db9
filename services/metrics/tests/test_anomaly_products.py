"""Products whose add-to-carts stop while shoppers still view them (stock-outs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from shopee_metrics.domain.anomalies.products import (
    PRODUCT_DETECTOR,
    ProductHour,
    ProductWatch,
    with_product_names,
)

HOUR = timedelta(hours=1)
FIRST = datetime(2026, 5, 4, 17, tzinfo=UTC)  # Tuesday 00:00 in Jakarta
ORDINARY_DAYS = 21
STOP = FIRST + (ORDINARY_DAYS * 24 + 10) * HOUR


def product_hours(days: int, stop: tuple[datetime, datetime] | None = None) -> list[ProductHour]:
    """Two products, 6 views an hour each, 7% of views to carts; "top" stops selling in `stop`."""
    rng = np.random.default_rng(2)
    hours = []
    for index in range(days * 24):
        start = FIRST + index * HOUR
        counts = {}
        for product in ("top", "other"):
            views = float(rng.poisson(6))
            stopped = stop is not None and product == "top" and stop[0] <= start < stop[1]
            carts = 0.0 if stopped else float(rng.binomial(int(views), 0.07))
            counts[product] = (views, carts, float(rng.binomial(int(carts), 0.5)))
        hours.append(ProductHour(start, start + timedelta(hours=7), counts))
    return hours


def test_steady_products_raise_nothing() -> None:
    assert ProductWatch("shop", "ID").judge(product_hours(ORDINARY_DAYS + 5)) == []


def test_a_stock_out_is_raised_kept_up_to_date_and_closed() -> None:
    restock = STOP + 60 * HOUR
    reports = ProductWatch("shop", "ID").judge(product_hours(ORDINARY_DAYS + 5, (STOP, restock)))
    assert {r.product_id for r in reports} == {"top"}
    assert len({r.anomaly_id for r in reports}) == 1
    first, *updates, last = reports
    assert first.first
    assert not any(r.first for r in (*updates, last))
    assert first.detector == PRODUCT_DETECTOR
    # The run starts after the product's last add-to-cart, a few ordinary hours before STOP.
    assert STOP - 12 * HOUR < first.bucket_start <= STOP
    # Raised once the missing add-to-carts are beyond doubt: about 14 expected, a day or so.
    assert timedelta(hours=12) < first.bucket_end - STOP < timedelta(hours=48)
    assert updates  # re-reported while it lasts
    # Closed at the first add-to-cart after the restock (0.4 expected an hour: may take hours).
    assert restock <= last.bucket_end <= restock + 24 * HOUR
    assert last.explanation.startswith("product top: no add-to-cart for ")
    assert "paid orders" in last.explanation
    observed = {o.kpi: o for o in last.observations}
    assert observed["add_to_carts"].observed == 0
    assert observed["add_to_carts"].expected_low > 0


def test_the_catalogue_names_the_product_in_the_explanation() -> None:
    restock = STOP + 60 * HOUR
    reports = ProductWatch("shop", "ID").judge(product_hours(ORDINARY_DAYS + 5, (STOP, restock)))
    named = with_product_names(reports, {"top": "Vitamin C Serum 30 ml"})
    assert [r.anomaly_id for r in named] == [r.anomaly_id for r in reports]
    assert all(
        r.explanation.startswith("Vitamin C Serum 30 ml (product top): no add-to-cart for ")
        for r in named
    )
    assert with_product_names(reports, {}) == reports


def test_hours_a_shop_anomaly_explains_are_skipped() -> None:
    restock = STOP + 60 * HOUR
    hours = product_hours(ORDINARY_DAYS + 5, (STOP, restock))
    assert ProductWatch("shop", "ID").judge(hours, explained=[(STOP, restock)]) == []


def test_incomplete_data_ends_a_run() -> None:
    restock = STOP + 60 * HOUR
    hours = product_hours(ORDINARY_DAYS + 5, (STOP, restock))
    gaps = [(STOP + 6 * HOUR + k * 12 * HOUR, STOP + 7 * HOUR + k * 12 * HOUR) for k in range(5)]
    assert ProductWatch("shop", "ID").judge(hours, gaps) == []


def test_after_a_restart_an_open_stock_out_continues_under_its_id() -> None:
    restock = STOP + 60 * HOUR
    hours = product_hours(ORDINARY_DAYS + 5, (STOP, restock))
    split = ORDINARY_DAYS * 24 + 50
    uninterrupted = ProductWatch("shop", "ID").judge(hours)
    restarted = ProductWatch("shop", "ID")
    restarted.warm_up(hours[:split])
    after = restarted.judge(hours[split:])
    assert after
    assert after == [r for r in uninterrupted if r.bucket_end > hours[split].start]
