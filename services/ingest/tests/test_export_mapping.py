"""Export rows become an order's lifecycle events and daily traffic summaries."""

from __future__ import annotations

from shopee.events.v1 import events_pb2
from shopee_ingest.domain.export_files import read_export
from shopee_ingest.domain.export_mapping import ImportOptions, map_export

OPTIONS = ImportOptions(
    shop_id="shop-1", time_zone="Asia/Jakarta", currency="IDR", source_name="f.csv"
)

ORDERS_CSV = (
    "Order ID,Order Status,Order Creation Date,Order Paid Time,Order Complete Time,Product ID,"
    "Product Name,Original Price,Deal Price,Quantity,Seller Voucher,Shopee Voucher,Voucher Code,"
    "Username (Buyer)\n"
    "A1,Completed,2025-03-01 10:00,2025-03-01 10:05,2025-03-04 09:00,p1,Kaos,150.000,125.000,2,"
    "10.000,0,HEMAT10,budi\n"
    "B2,Unpaid,2025-03-01 11:00,,,p2,Topi,50.000,50.000,1,0,0,,sari\n"
    "A1,Completed,2025-03-01 10:00,2025-03-01 10:05,2025-03-04 09:00,p3,Celana,200.000,200.000,1,"
    "10.000,0,HEMAT10,budi\n"
    "C3,Completed,2025-03-02 10:00,2025-03-02 10:01,2025-03-05 10:00,p1,Kaos,150.000,125.000,dua,"
    "0,0,,rina\n"
)


def test_orders_become_lifecycle_events_with_all_lines() -> None:
    mapped = map_export(read_export("orders.csv", ORDERS_CSV.encode()), OPTIONS)
    assert mapped.rows_read == 4
    assert [(e.row, e.column) for e in mapped.errors] == [(5, "quantity")]
    by_order: dict[str, list[events_pb2.Event]] = {}
    for event in mapped.events:
        by_order.setdefault(event.order.order_id, []).append(event)
    assert set(by_order) == {"A1", "B2"}
    statuses = [e.order.status for e in by_order["A1"]]
    assert statuses == [
        events_pb2.ORDER_STATUS_CREATED,
        events_pb2.ORDER_STATUS_PAID,
        events_pb2.ORDER_STATUS_COMPLETED,
    ]
    created = by_order["A1"][0]
    assert [
        (i.product_id, i.quantity, i.unit_price_minor, i.discount_minor)
        for i in created.order.items
    ] == [
        ("p1", 2, 15_000_000, 5_000_000),
        ("p3", 1, 20_000_000, 0),
    ]
    assert created.order.voucher.discount_minor == 1_000_000
    assert created.order.voucher.code == "HEMAT10"
    # 10:00 in Jakarta (UTC+7) is 03:00 UTC.
    assert created.occurred_at.ToDatetime().hour == 3
    assert [e.order.status for e in by_order["B2"]] == [events_pb2.ORDER_STATUS_CREATED]


def test_event_ids_are_stable_across_imports() -> None:
    first = map_export(read_export("orders.csv", ORDERS_CSV.encode()), OPTIONS)
    second = map_export(read_export("orders.csv", ORDERS_CSV.encode()), OPTIONS)
    assert [e.event_id for e in first.events] == [e.event_id for e in second.events]
    assert len({e.event_id for e in first.events}) == len(first.events)


def test_traffic_rows_become_daily_summaries() -> None:
    content = (
        b"Date,Visitors,Page Views,Product Views\n2025-03-01,1.200,5.400,3.000\n2025-03-02,x,1,1\n"
    )
    mapped = map_export(read_export("traffic.csv", content), OPTIONS)
    assert [(e.row, e.column) for e in mapped.errors] == [(3, "visitors")]
    (event,) = mapped.events
    assert event.traffic_summary.visitors == 1200
    assert event.traffic_summary.page_views == 5400
    assert event.traffic_summary.period == events_pb2.SUMMARY_PERIOD_DAY
    assert event.traffic_summary.source == "seller_centre_export:f.csv"
