"""Seller Centre export parsing: numbers, dates, headers in any order and language."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook

from shopee_ingest.domain.export_files import (
    ExportFileError,
    parse_amount,
    parse_local_datetime,
    read_export,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("125.000", Decimal(125000)),
        ("Rp 1.250.000", Decimal(1250000)),
        ("1,299.50", Decimal("1299.50")),
        ("1.299,50", Decimal("1299.50")),
        ("RM 12.90", Decimal("12.90")),
        ("12,5", Decimal("12.5")),
        ("3", Decimal(3)),
        (7, Decimal(7)),
        (12.5, Decimal("12.5")),
        ("", Decimal(0)),
        ("-1.500", Decimal(-1500)),
    ],
)
def test_amounts_with_thousands_separators(text: str | int | float, expected: Decimal) -> None:
    assert parse_amount(text) == expected


def test_decimal_separator_override() -> None:
    assert parse_amount("1.500", decimal_separator=".") == Decimal("1.5")


def test_amount_that_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="expected a number"):
        parse_amount("abc")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01 14:22", datetime(2025, 3, 1, 14, 22)),
        ("2025-03-01 14:22:05", datetime(2025, 3, 1, 14, 22, 5)),
        ("01-03-2025 14:22", datetime(2025, 3, 1, 14, 22)),
        ("01/03/2025", datetime(2025, 3, 1)),
        ("2025/03/01 08:00", datetime(2025, 3, 1, 8, 0)),
    ],
)
def test_dates_in_seller_formats(text: str, expected: datetime) -> None:
    assert parse_local_datetime(text) == expected


def test_unrecognised_date_says_what_it_expected() -> None:
    with pytest.raises(ValueError, match="unrecognised date"):
        parse_local_datetime("next tuesday")


def test_csv_with_semicolons_title_row_and_indonesian_headers() -> None:
    content = (
        b"Laporan Pesanan\n"
        b"Jumlah;No. Pesanan;Status Pesanan;Waktu Pesanan Dibuat;Nama Produk;Harga Setelah Diskon;"
        b"Username (Pembeli);Kolom Lain\n"
        b"2;2503A;Selesai;01-03-2025 10:00;Kaos;125.000;budi;x\n"
    )
    table = read_export("Order.all.csv", content)
    assert table.export_format.name == "orders"
    assert table.ignored_headers == ["Kolom Lain"]
    assert table.rows[0].number == 3
    assert table.rows[0].values["order_id"] == "2503A"
    assert table.rows[0].values["quantity"] == "2"


def test_xlsx_traffic_export_is_detected() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Page Views", "Date", "Visitors"])
    sheet.append([1200, datetime(2025, 3, 1), 300])
    buffer = io.BytesIO()
    workbook.save(buffer)
    table = read_export("traffic.xlsx", buffer.getvalue())
    assert table.export_format.name == "traffic"
    assert table.rows[0].values == {
        "page_views": 1200,
        "date": datetime(2025, 3, 1),
        "visitors": 300,
    }


def test_missing_required_column_is_named() -> None:
    content = b"Order ID,Order Status,Product Name\n1,Completed,Kaos\n"
    with pytest.raises(ExportFileError, match="Order Creation Date"):
        read_export("orders.csv", content, kind="orders")


def test_unsupported_file_type() -> None:
    with pytest.raises(ExportFileError, match=r"\.pdf"):
        read_export("orders.pdf", b"%PDF")
