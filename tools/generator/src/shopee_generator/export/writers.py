"""Seller Centre export files, CSV and XLSX, from collected rows.

Headers and status words come from `shopee_common.seller_centre` (the first, English header of
each column). CSVs carry the text Seller Centre shows (IDR "125.000", dates "2025-03-01 14:22");
XLSX files carry real numbers and dates.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from shopee.events.v1 import events_pb2
from shopee_common.seller_centre import ORDER_STATUSES, ORDERS, TRAFFIC, ExportFormat
from shopee_generator.domain.markets import Market
from shopee_generator.domain.shop import Shop
from shopee_generator.export.aggregate import OrderState, ShopExport, order_subtotal_minor

DATE_TIME = "%Y-%m-%d %H:%M"
DATE = "%Y-%m-%d"


def _status_words() -> dict[int, str]:
    """The first Seller Centre word for each OrderStatus, capitalised as the site shows it."""
    words: dict[int, str] = {}
    for word, name in ORDER_STATUSES.items():
        number = events_pb2.OrderStatus.Value(name)
        words.setdefault(number, word[:1].upper() + word[1:])
    return words


STATUS_WORDS = _status_words()


def format_money(amount_minor: int, market: Market) -> str:
    """As Seller Centre prints it: "125.000" (IDR, VND) or "1,299.90" (MYR, PHP, THB, SGD)."""
    amount = amount_minor / 100
    text = (
        f"{round(amount):,}"
        if market.currency_decimals == 0
        else f"{amount:,.{market.currency_decimals}f}"
    )
    if market.thousands_separator == ".":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def _order_rows(state: OrderState, parent_skus: dict[str, str]) -> Iterator[dict[str, Any]]:
    order = state.order
    voucher = order.voucher.discount_minor if order.HasField("voucher") else 0
    seller_funded = order.voucher.funded_by == events_pb2.VOUCHER_FUNDING_SELLER
    total = order_subtotal_minor(order) - voucher + order.shipping_fee_minor
    for item in order.items:
        yield {
            "order_id": order.order_id,
            "status": STATUS_WORDS[state.status],
            "cancel_reason": state.reason
            if state.status == events_pb2.ORDER_STATUS_CANCELLED
            else "",
            "return_status": "Refund accepted"
            if state.status == events_pb2.ORDER_STATUS_RETURNED
            else "",
            "created_at": state.created_at,
            "paid_at": state.paid_at,
            "completed_at": state.completed_at,
            "product_id": item.product_id,
            "sku": item.sku,
            "parent_sku": parent_skus.get(item.product_id, ""),
            "product_name": item.product_name,
            "original_price": ("money", item.unit_price_minor),
            "deal_price": ("money", item.unit_price_minor - item.discount_minor // item.quantity),
            "quantity": item.quantity,
            "seller_discount": ("money", item.discount_minor),
            "seller_voucher": ("money", voucher if seller_funded else 0),
            "shopee_voucher": ("money", 0 if seller_funded else voucher),
            "voucher_code": order.voucher.code,
            "shipping_fee": ("money", order.shipping_fee_minor),
            "grand_total": ("money", total),
            "buyer": order.buyer_id,
        }


def order_rows(export: ShopExport, parent_skus: dict[str, str]) -> list[dict[str, Any]]:
    """One row per order line, oldest order first."""
    states = sorted(export.orders.values(), key=lambda s: (s.created_at, s.order.order_id))
    return [row for state in states for row in _order_rows(state, parent_skus)]


def traffic_rows(export: ShopExport) -> list[dict[str, Any]]:
    """One row per local day."""
    return [
        {
            "date": day,
            "visitors": len(numbers.visitors),
            # Seller Centre counts product pages among page views.
            "page_views": numbers.page_views,
            "product_views": numbers.product_views,
            "add_to_cart_visitors": len(numbers.cart_visitors),
            "buyers": len(numbers.buyers),
            "orders": numbers.orders,
            "sales": ("money", numbers.sales_minor),
        }
        for day, numbers in sorted(export.traffic.items())
    ]


def _csv_value(value: Any, market: Market) -> str:
    if isinstance(value, tuple):
        return format_money(value[1], market)
    if isinstance(value, datetime):
        return value.strftime(DATE_TIME)
    if isinstance(value, date):
        return value.strftime(DATE)
    return "" if value is None else str(value)


def _xlsx_value(sheet: Any, value: Any, money_format: str) -> Any:
    if isinstance(value, tuple):
        cell = WriteOnlyCell(sheet, value=value[1] / 100)
        cell.number_format = money_format
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return value


def write_csv(path: Path, spec: ExportFormat, rows: list[dict[str, Any]], market: Market) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as stream:
        writer = csv.writer(stream)
        writer.writerow([column.header for column in spec.columns])
        for row in rows:
            writer.writerow([_csv_value(row.get(column.key), market) for column in spec.columns])


def write_xlsx(path: Path, spec: ExportFormat, rows: list[dict[str, Any]], market: Market) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(spec.name)
    sheet.append([column.header for column in spec.columns])
    money_format = "#,##0" if market.currency_decimals == 0 else "#,##0.00"
    for row in rows:
        sheet.append(
            [_xlsx_value(sheet, row.get(column.key), money_format) for column in spec.columns]
        )
    workbook.save(path)


def write_shop_exports(
    export: ShopExport,
    shop: Shop,
    out_dir: Path,
    first_day: date,
    last_day: date,
    formats: tuple[str, ...] = ("csv", "xlsx"),
) -> list[Path]:
    """Write the orders and traffic exports of one shop; return the paths written."""
    parent_skus = {p.product_id: p.parent_sku for p in shop.products}
    span = f"{first_day:%Y%m%d}_{last_day:%Y%m%d}"
    written = []
    for spec, rows, stem in (
        (ORDERS, order_rows(export, parent_skus), f"Order.all.{span}"),
        (TRAFFIC, traffic_rows(export), f"Traffic.overview.{span}"),
    ):
        for extension in formats:
            path = out_dir / shop.shop_id / f"{stem}.{extension}"
            if extension == "csv":
                write_csv(path, spec, rows, shop.market)
            else:
                write_xlsx(path, spec, rows, shop.market)
            written.append(path)
    return written
