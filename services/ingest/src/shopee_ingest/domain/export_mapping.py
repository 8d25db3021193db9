"""Seller Centre export rows -> platform events (pure).

Orders: the rows of one Order ID become its lifecycle: CREATED at the creation time with every
line, PAID at the paid time, then the final status (SHIPPED, COMPLETED, CANCELLED, RETURNED).
Traffic: one TrafficSummaryEvent per day. Event ids are derived from the shop and the row's
identity (uuid5), so importing the same file twice publishes the same ids and counts once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from shopee.events.v1 import events_pb2
from shopee_common.events import Event, InvalidEvent, validate
from shopee_common.seller_centre import order_status
from shopee_ingest.domain.export_files import (
    CellValue,
    ExportRow,
    ExportTable,
    parse_amount,
    parse_local_datetime,
)

IMPORT_NAMESPACE = uuid.UUID("6f1c1b52-3f9a-4d8e-9a57-6c7f1f0b9e10")


@dataclass(frozen=True)
class ImportOptions:
    shop_id: str
    time_zone: str
    currency: str
    source_name: str
    decimal_separator: str | None = None


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


@dataclass
class MappedExport:
    events: list[Event] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0


def map_export(table: ExportTable, options: ImportOptions) -> MappedExport:
    """All events of an export; bad rows are reported and left out (their order with them)."""
    if table.export_format.name == "orders":
        return _map_orders(table.rows, options)
    return _map_traffic(table.rows, options)


def _event_id(options: ImportOptions, *parts: str) -> str:
    return str(uuid.uuid5(IMPORT_NAMESPACE, "|".join((options.shop_id, *parts))))


def _header(event: Event, options: ImportOptions, event_id: str, local_time: datetime) -> None:
    event.event_id = event_id
    event.shop_id = options.shop_id
    event.time_zone = options.time_zone
    event.occurred_at.FromDatetime(
        local_time.replace(tzinfo=ZoneInfo(options.time_zone)).astimezone(UTC)
    )


def _minor(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _text(value: CellValue) -> str:
    return "" if value is None else str(value).strip()


class _RowProblem(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def _map_orders(rows: list[ExportRow], options: ImportOptions) -> MappedExport:
    result = MappedExport(rows_read=len(rows))
    orders: dict[str, list[ExportRow]] = defaultdict(list)
    for row in rows:
        order_id = _text(row.values.get("order_id"))
        if not order_id:
            result.errors.append(RowError(row.number, "order_id", "is empty"))
            continue
        orders[order_id].append(row)
    for order_id, lines in orders.items():
        try:
            result.events.extend(_order_events(order_id, lines, options))
        except _RowProblem as problem:
            result.errors.append(RowError(lines[0].number, problem.column, str(problem)))
        except InvalidEvent as exc:
            result.errors.extend(RowError(lines[0].number, e.field, e.message) for e in exc.errors)
    return result


def _order_events(order_id: str, lines: list[ExportRow], options: ImportOptions) -> list[Event]:
    first = lines[0].values
    status_name = order_status(_text(first.get("status")))
    if status_name is None:
        raise _RowProblem("status", f"unknown order status {_text(first.get('status'))!r}")
    created = _local_time("created_at", first.get("created_at"))
    paid = _optional_time("paid_at", first.get("paid_at"))
    completed = _optional_time("completed_at", first.get("completed_at"))
    template = events_pb2.OrderEvent(
        order_id=order_id,
        buyer_id=_text(first.get("buyer")),
        currency=options.currency,
        channel=events_pb2.CHANNEL_APP,
        shipping_fee_minor=_minor(_amount("shipping_fee", first.get("shipping_fee"), options)),
    )
    for line in lines:
        template.items.append(_order_item(line, options))
    seller_voucher = _amount("seller_voucher", first.get("seller_voucher"), options)
    shopee_voucher = _amount("shopee_voucher", first.get("shopee_voucher"), options)
    if seller_voucher or shopee_voucher:
        template.voucher.code = _text(first.get("voucher_code"))
        template.voucher.discount_minor = _minor(seller_voucher + shopee_voucher)
        template.voucher.funded_by = (
            events_pb2.VOUCHER_FUNDING_SELLER
            if seller_voucher >= shopee_voucher
            else events_pb2.VOUCHER_FUNDING_SHOPEE
        )
    final = events_pb2.OrderStatus.Value(status_name)
    steps: list[tuple[int, datetime]] = [(events_pb2.ORDER_STATUS_CREATED, created)]
    if paid is not None and final != events_pb2.ORDER_STATUS_CREATED:
        steps.append((events_pb2.ORDER_STATUS_PAID, paid))
    if final not in (events_pb2.ORDER_STATUS_CREATED, events_pb2.ORDER_STATUS_PAID):
        steps.append((final, completed or paid or created))
    events = []
    for status, when in steps:
        event = Event()
        _header(event, options, _event_id(options, "order", order_id, str(status)), when)
        event.order.CopyFrom(template)
        event.order.status = status  # type: ignore[assignment]
        if status == events_pb2.ORDER_STATUS_CANCELLED:
            event.order.reason = _text(first.get("cancel_reason"))
        elif status == events_pb2.ORDER_STATUS_RETURNED:
            event.order.reason = _text(first.get("return_status"))
        validate(event)
        events.append(event)
    return events


def _order_item(line: ExportRow, options: ImportOptions) -> events_pb2.OrderItem:
    values = line.values
    quantity = _amount("quantity", values.get("quantity"), options)
    if quantity <= 0 or quantity != quantity.to_integral_value():
        raise _RowProblem(
            "quantity", f"row {line.number}: expected a whole number above 0, got {quantity}"
        )
    deal = _amount("deal_price", values.get("deal_price"), options)
    original = _amount("original_price", values.get("original_price"), options) or deal
    product_name = _text(values.get("product_name"))
    sku = _text(values.get("sku")) or _text(values.get("parent_sku"))
    product_id = _text(values.get("product_id")) or sku or product_name
    return events_pb2.OrderItem(
        product_id=product_id,
        sku=sku,
        product_name=product_name,
        quantity=int(quantity),
        unit_price_minor=_minor(original),
        discount_minor=_minor(max(original - deal, Decimal(0)) * quantity),
    )


def _amount(column: str, value: CellValue, options: ImportOptions) -> Decimal:
    try:
        return parse_amount(value, options.decimal_separator)
    except ValueError as exc:
        raise _RowProblem(column, str(exc)) from exc


def _local_time(column: str, value: CellValue) -> datetime:
    try:
        return parse_local_datetime(value)
    except ValueError as exc:
        raise _RowProblem(column, str(exc)) from exc


def _optional_time(column: str, value: CellValue) -> datetime | None:
    if value in (None, "", "-"):
        return None
    return _local_time(column, value)


_TRAFFIC_COUNTS = ("visitors", "page_views", "product_views", "add_to_cart_visitors", "buyers")


def _map_traffic(rows: list[ExportRow], options: ImportOptions) -> MappedExport:
    result = MappedExport(rows_read=len(rows))
    for row in rows:
        try:
            day = _local_time("date", row.values.get("date")).replace(hour=0, minute=0, second=0)
            event = Event()
            _header(
                event, options, _event_id(options, "traffic_summary", day.date().isoformat()), day
            )
            summary = event.traffic_summary
            summary.period = events_pb2.SUMMARY_PERIOD_DAY
            summary.source = f"seller_centre_export:{options.source_name}"
            for name in _TRAFFIC_COUNTS:
                count = _amount(name, row.values.get(name), options)
                if count < 0 or count != count.to_integral_value():
                    raise _RowProblem(name, f"expected a whole number of at least 0, got {count}")
                setattr(summary, name, int(count))
            validate(event)
            result.events.append(event)
        except _RowProblem as problem:
            result.errors.append(RowError(row.number, problem.column, str(problem)))
        except InvalidEvent as exc:
            result.errors.extend(RowError(row.number, e.field, e.message) for e in exc.errors)
    return result
