"""A generated world loaded into a migrated database the way the stream job leaves it: every
event in raw_events, every daily KPI row (kpi_day), computed by the independent offline
reference (kpi_reference), and the job's watermarks, for the forecast
service's tests and benchmark."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from shopee.events.v1 import events_pb2
from shopee_common.kpis import KPI_BY_NAME, Rollup
from tests.integration.databases import copy_raw_events
from tests.integration.kpi_reference import reference_rows


def load_world(dsn: str, events: Iterable[events_pb2.Event]) -> None:
    """Insert the events into raw_events, their daily KPIs into kpi_day, and each shop and
    source's watermark into stream_watermarks, as the stream job leaves them after counting the
    events live, each as it happened."""
    events = list(events)
    zones = {event.shop_id: ZoneInfo(event.time_zone) for event in events}
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        copy_raw_events(cursor, events)
        day_rows = [
            (shop, product, kpi, bucket, bucket.astimezone(zones[shop]).date(), *_parts(kpi, *nd))
            for (granularity, shop, product, kpi, bucket), nd in reference_rows(events).items()
            if granularity == "day"
        ]
        with cursor.copy(
            "COPY kpi_day (shop_id, product_id, kpi, bucket, local_date, value, numerator, "
            "denominator) FROM STDIN"
        ) as copy:
            for row in day_rows:
                copy.write_row(row)
        watermarks: dict[tuple[str, str], datetime] = {}
        for event in events:
            key = (event.shop_id, event.WhichOneof("payload") or "")
            occurred = event.occurred_at.ToDatetime(tzinfo=ZoneInfo("UTC"))
            watermarks[key] = max(watermarks.get(key, occurred), occurred)
        cursor.executemany(
            "INSERT INTO stream_watermarks (shop_id, source, watermark, updated_at) "
            "VALUES (%s, %s, %s, %s)",
            [(shop, source, mark, mark) for (shop, source), mark in watermarks.items()],
        )


def _parts(kpi: str, numerator: Any, denominator: Any) -> tuple[float | None, Any, Any]:
    """A day row's value, numerator and denominator as the stream job writes them: a ratio's
    value is undefined (null) over a zero denominator; other KPIs have none."""
    if KPI_BY_NAME[kpi].rollup is not Rollup.RATIO:
        return float(numerator), numerator, None
    return (float(numerator / denominator) if denominator else None), numerator, denominator
