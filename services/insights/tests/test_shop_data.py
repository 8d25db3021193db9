from __future__ import annotations

from datetime import UTC, datetime

from shopee_insights.domain.shop_data import ShopData, build_shop_data, catalog_state

AT = datetime(2026, 1, 5, 3, tzinfo=UTC)


def order(status: str, camel: bool) -> dict[str, object]:
    if camel:
        return {
            "orderId": "o-1",
            "status": status,
            "buyerId": "b-1",
            "items": [
                {
                    "productId": "p-1",
                    "quantity": 2,
                    "unitPriceMinor": "1000",
                    "discountMinor": "200",
                }
            ],
        }
    return {
        "order_id": "o-1",
        "status": status,
        "buyer_id": "b-1",
        "items": [
            {
                "product_id": "p-1",
                "quantity": 2,
                "unit_price_minor": "1000",
                "discount_minor": "200",
            }
        ],
    }


def test_both_json_spellings_read_the_same() -> None:
    snake = build_shop_data("s", "UTC", [("order", AT, order("ORDER_STATUS_CREATED", False))])
    camel = build_shop_data("s", "UTC", [("order", AT, order("ORDER_STATUS_CREATED", True))])
    assert snake.orders.drop(columns="occurred_at").equals(camel.orders.drop(columns="occurred_at"))
    assert snake.orders.loc[0, "paid_minor"] == 2 * 1000 - 200


def test_an_order_counts_as_paid_only_while_not_undone() -> None:
    events = [
        ("order", AT, order(s, True))
        for s in ("ORDER_STATUS_CREATED", "ORDER_STATUS_PAID", "ORDER_STATUS_COMPLETED")
    ]
    assert len(build_shop_data("s", "UTC", events).paid_lines) == 1
    # Delivery order is not guaranteed: a RETURNED read before COMPLETED still wins.
    returned = [*events[:2], ("order", AT, order("ORDER_STATUS_RETURNED", True)), events[2]]
    assert build_shop_data("s", "UTC", returned).paid_lines.empty


def test_generated_shop_has_every_table(shop: ShopData) -> None:
    for frame in (
        shop.orders,
        shop.traffic,
        shop.catalog,
        shop.campaigns,
        shop.reviews,
        shop.chats,
    ):
        assert len(frame) > 0
    assert set(shop.orders["product_id"]) <= set(shop.products.index)


def test_catalog_state_is_the_latest_event_of_each_product_in_either_spelling() -> None:
    later = AT.replace(hour=9)
    state = catalog_state(
        [
            (later, {"productId": "p-1", "category": "bags", "priceMinor": "900", "stock": "0"}),
            (AT, {"product_id": "p-1", "category": "bags", "price_minor": 1000, "stock": 4}),
            (AT, {"product_id": "p-2", "category": "hats", "price_minor": 500, "stock": 3}),
        ]
    )
    assert state.loc["p-1", "price_minor"] == 900
    assert state.loc["p-1", "stock"] == 0
    assert state.loc["p-2", "category"] == "hats"
    assert list(state.columns) == [
        "name",
        "category",
        "price_minor",
        "cost_minor",
        "stock",
        "status",
    ]
