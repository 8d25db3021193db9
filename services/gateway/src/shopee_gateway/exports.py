"""Export writers: CSV, JSON and Excel from batches of KPI rows, in constant memory.

CSV and JSON are written as the rows arrive and streamed at once. Excel is an OOXML zip whose
directory comes last, so no writer can stream it byte by byte; XlsxWriter's `constant_memory`
mode writes each row straight to a temporary file (one row in memory at a time) and assembles
the zip at the end, which we then stream from disk. It is the one well-kept writer that keeps
memory flat at a million rows (openpyxl's write-only mode also does, at roughly twice the CPU).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import xlsxwriter  # type: ignore[import-untyped]

from shopee_gateway.repositories.kpis import EXPORT_COLUMNS

Batches = AsyncIterator[Sequence[Sequence[Any]]]
EXCEL_MAX_ROWS = 1_048_576  # per worksheet, header included
CHUNK_BYTES = 256 * 1024


def _cell(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


async def csv_stream(batches: Batches, zone: ZoneInfo) -> AsyncIterator[bytes]:
    """A header line, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue().encode()
    async for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_cell(v, zone) for v in row] for row in batch)
        yield buffer.getvalue().encode()


async def json_stream(batches: Batches, zone: ZoneInfo) -> AsyncIterator[bytes]:
    """One JSON array of row objects, written element by element."""
    yield b"["
    first = True
    async for batch in batches:
        parts = []
        for row in batch:
            item = orjson.dumps(
                {name: _cell(v, zone) for name, v in zip(EXPORT_COLUMNS, row, strict=True)}
            )
            parts.append(item if first else b"," + item)
            first = False
        yield b"".join(parts)
    yield b"]"


class _ExcelFile:
    """A workbook on disk written in constant memory; rolls to a new sheet every 1,048,575 rows."""

    def __init__(self, zone: ZoneInfo) -> None:
        handle, self.path = tempfile.mkstemp(prefix="shopee-export-", suffix=".xlsx")
        os.close(handle)
        self._zone = zone
        self._book = xlsxwriter.Workbook(self.path, {"constant_memory": True})
        self._sheet: Any = None
        self._row = EXCEL_MAX_ROWS

    def write(self, batch: Sequence[Sequence[Any]]) -> None:
        for row in batch:
            if self._row >= EXCEL_MAX_ROWS:
                self._sheet = self._book.add_worksheet(f"kpis-{len(self._book.worksheets()) + 1}")
                self._sheet.write_row(0, 0, EXPORT_COLUMNS)
                self._row = 1
            self._sheet.write_row(self._row, 0, [_cell(v, self._zone) for v in row])
            self._row += 1

    def close(self) -> None:
        if self._sheet is None:
            self._book.add_worksheet("kpis-1").write_row(0, 0, EXPORT_COLUMNS)
        self._book.close()


async def excel_stream(batches: Batches, zone: ZoneInfo) -> AsyncIterator[bytes]:
    """Write the workbook off the event loop, then stream the file and delete it."""
    workbook = await asyncio.to_thread(_ExcelFile, zone)
    try:
        async for batch in batches:
            await asyncio.to_thread(workbook.write, batch)
        await asyncio.to_thread(workbook.close)
        with open(workbook.path, "rb") as handle:  # noqa: ASYNC230 - reads go to a thread below
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(workbook.path)
