"""Reading Seller Centre export files (CSV or XLSX) into rows keyed by logical column.

Tolerant of column order, header language and spelling (see shopee_common.seller_centre),
BOMs, `;` or `,` delimiters, and blank lines. Values stay as read (str, number or datetime);
export_mapping turns them into events.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from openpyxl import load_workbook

from shopee_common.seller_centre import DATE_FORMATS, FORMATS, ExportFormat, normalise_header

CellValue = str | int | float | datetime | None


class ExportFileError(ValueError):
    """The file cannot be read as a Seller Centre export."""


@dataclass(frozen=True)
class ExportRow:
    number: int  # 1-based row number in the file, header included, as the seller sees it
    values: dict[str, CellValue]


@dataclass(frozen=True)
class ExportTable:
    export_format: ExportFormat
    rows: list[ExportRow]
    ignored_headers: list[str]


def read_export(filename: str, content: bytes, kind: str | None = None) -> ExportTable:
    """Read an export file; `kind` ("orders" or "traffic") is detected from the headers if None."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in ("xlsx", "xlsm"):
        raw_rows = _xlsx_rows(content)
    elif suffix in ("csv", "txt", ""):
        raw_rows = _csv_rows(content)
    else:
        raise ExportFileError(f"unsupported file type .{suffix}: upload the CSV or XLSX export")
    header_number, header = _find_header(raw_rows)
    export_format = _detect_format(header, kind)
    index = export_format.header_index()
    positions = {
        pos: index[normalise_header(str(h))]
        for pos, h in enumerate(header)
        if h is not None and normalise_header(str(h)) in index
    }
    missing = [
        c.header for c in export_format.columns if c.required and c.key not in positions.values()
    ]
    if missing:
        raise ExportFileError(
            f"the {export_format.name} export lacks required columns: {', '.join(missing)}"
        )
    ignored = [
        str(h) for pos, h in enumerate(header) if h not in (None, "") and pos not in positions
    ]
    rows = []
    for number, raw in raw_rows:
        if number <= header_number or all(v in (None, "") for v in raw):
            continue
        rows.append(
            ExportRow(
                number,
                {key: raw[pos] if pos < len(raw) else None for pos, key in positions.items()},
            )
        )
    return ExportTable(export_format, rows, ignored)


def _xlsx_rows(content: bytes) -> list[tuple[int, list[CellValue]]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise ExportFileError(f"not a readable XLSX file: {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        return [
            (number, [_xlsx_value(v) for v in row])
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()


def _xlsx_value(value: object) -> CellValue:
    if value is None or isinstance(value, str | int | float | datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    return str(value)


def _csv_rows(content: bytes) -> list[tuple[int, list[CellValue]]]:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ExportFileError("the CSV is neither UTF-8 nor Windows-1252 text")
    # Sellers' spreadsheet tools write `,`, `;` or tabs; the right one is the one that yields a
    # header row of known columns (a title line above the table defeats csv.Sniffer).
    for delimiter in (",", ";", "\t"):
        rows: list[tuple[int, list[CellValue]]] = [
            (number, list(row))
            for number, row in enumerate(
                csv.reader(io.StringIO(text), delimiter=delimiter), start=1
            )
        ]
        try:
            _find_header(rows)
        except ExportFileError:
            continue
        return rows
    raise ExportFileError("no header row with Seller Centre column names in the first 20 rows")


def _find_header(rows: list[tuple[int, list[CellValue]]]) -> tuple[int, list[CellValue]]:
    """Some exports put a title above the table: the header is the first row naming known columns."""
    known = {h for f in FORMATS.values() for h in f.header_index()}
    for number, row in rows[:20]:
        names = {normalise_header(str(v)) for v in row if v not in (None, "")}
        if len(names & known) >= 2:
            return number, row
    raise ExportFileError("no header row with Seller Centre column names in the first 20 rows")


def _detect_format(header: list[CellValue], kind: str | None) -> ExportFormat:
    if kind is not None:
        if kind not in FORMATS:
            raise ExportFileError(f"unknown export kind {kind!r}; one of {', '.join(FORMATS)}")
        return FORMATS[kind]
    names = {normalise_header(str(v)) for v in header if v not in (None, "")}
    scores = {name: len(names & set(f.header_index())) for name, f in FORMATS.items()}
    return FORMATS[max(scores, key=lambda name: scores[name])]


# ------------------------------------------------------------------ value parsing
_NUMBER_NOISE = re.compile(r"[^\d,.\-]")


def parse_amount(value: CellValue, decimal_separator: str | None = None) -> Decimal:
    """A money or count cell: numbers pass; text like "Rp 125.000", "1,299.50", "1.299,50" parses.

    With one kind of separator only, a group of exactly three digits after it is read as
    thousands ("125.000" = 125000), as Seller Centre writes IDR and VND; pass `decimal_separator`
    to override.
    """
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, datetime):
        raise ValueError(f"expected a number, got a date {value:%Y-%m-%d}")
    text = _NUMBER_NOISE.sub("", value)
    if not text or text in "-.,":
        raise ValueError(f"expected a number, got {value!r}")
    if decimal_separator is None:
        decimal_separator = _guess_decimal_separator(text)
    thousands = "," if decimal_separator == "." else "."
    normal = text.replace(thousands, "").replace(decimal_separator, ".")
    try:
        return Decimal(normal)
    except InvalidOperation as exc:
        raise ValueError(f"expected a number, got {value!r}") from exc


def _guess_decimal_separator(text: str) -> str:
    if "," in text and "." in text:
        return "," if text.rfind(",") > text.rfind(".") else "."
    for separator in (",", "."):
        if separator in text:
            parts = text.split(separator)
            if len(parts) > 2 or len(parts[-1]) == 3:
                return "," if separator == "." else "."
            return separator
    return "."


def parse_local_datetime(value: CellValue) -> datetime:
    """A date cell as a naive local datetime (the shop's zone is applied by the caller)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, int | float):
        raise ValueError(f"expected a date, got the number {value}")
    text = (value or "").strip()
    if not text:
        raise ValueError("is empty")
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError(f"unrecognised date {text!r} (expected e.g. 2025-03-01 14:22 or 01/03/2025)")
