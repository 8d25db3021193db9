from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from shopee.events.v1 import events_pb2
from shopee_common.seller_centre import ORDER_STATUSES, ORDERS, TRAFFIC
from shopee_generator import GeneratorConfig, build_world
from shopee_generator.domain.markets import INDONESIA, MALAYSIA
from shopee_generator.export.aggregate import collect
from shopee_generator.export.writers import format_money, write_shop_exports

FIRST_DAY = date(2025, 11, 8)


@pytest.fixture(scope="module")
def exported(
    tmp_path_factory: pytest.TempPathFactory,
    november_events: list[events_pb2.Event],
    november_config: GeneratorConfig,
) -> dict[str, list[Path]]:
    out = tmp_path_factory.mktemp("exports")
    rows = collect(november_events, FIRST_DAY, november_config.last_day)
    world = build_world(november_config)
    return {
        shop.shop_id: write_shop_exports(
            rows[shop.shop_id], shop, out, FIRST_DAY, november_config.last_day
        )
        for shop in world.shops
    }


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.reader(stream))


def test_money_is_printed_as_seller_centre_does() -> None:
    assert format_money(12_500_000, INDONESIA) == "125.000"
    assert format_money(129_990, MALAYSIA) == "1,299.90"


def test_files_carry_the_seller_centre_headers(exported: dict[str, list[Path]]) -> None:
    for paths in exported.values():
        by_kind = {(p.name.split(".")[0], p.suffix): p for p in paths}
        for spec, kind in ((ORDERS, "Order"), (TRAFFIC, "Traffic")):
            headers = [column.header for column in spec.columns]
            assert _csv(by_kind[kind, ".csv"])[0] == headers
            sheet = load_workbook(by_kind[kind, ".xlsx"], read_only=True).active
            assert [cell.value for cell in next(sheet.iter_rows(max_row=1))] == headers
    assert "Product ID" in [column.header for column in ORDERS.columns]


def test_orders_export_parses_back(
    exported: dict[str, list[Path]], november_events: list[events_pb2.Event]
) -> None:
    paths = {p.suffix: p for p in exported["glowlab-id"] if p.name.startswith("Order")}
    rows = _csv(paths[".csv"])
    header, body = rows[0], rows[1:]
    column = {name: header.index(name) for name in header}
    assert body
    for row in body:
        assert ORDER_STATUSES[row[column["Order Status"]].casefold()]
        datetime.strptime(row[column["Order Creation Date"]], "%Y-%m-%d %H:%M")
        assert "," not in row[column["Deal Price"]]  # IDR: "125.000", no decimals
    created = {
        e.order.order_id
        for e in november_events
        if e.shop_id == "glowlab-id" and e.order.status == events_pb2.ORDER_STATUS_CREATED
    }
    assert {row[column["Order ID"]] for row in body} <= created
    sheet = load_workbook(paths[".xlsx"], read_only=True).active
    xlsx_rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(xlsx_rows) == len(body)
    first = xlsx_rows[0]
    assert isinstance(first[header.index("Order Creation Date")], datetime)
    assert isinstance(first[header.index("Grand Total")], int | float)


def test_traffic_export_has_a_row_per_day(
    exported: dict[str, list[Path]], november_config: GeneratorConfig
) -> None:
    path = next(
        p for p in exported["techmate-my"] if p.name.startswith("Traffic") and p.suffix == ".csv"
    )
    rows = _csv(path)
    days = [row[0] for row in rows[1:]]
    assert days == [
        date.fromordinal(d).isoformat()
        for d in range(FIRST_DAY.toordinal(), november_config.last_day.toordinal() + 1)
    ]
    for row in rows[1:]:
        visitors, page_views, product_views, carts, buyers, orders = (int(v) for v in row[1:7])
        assert page_views >= product_views >= carts
        assert visitors >= carts >= buyers
        assert orders >= buyers > 0
