"""Exports through the real gateway process: time, rows/s and the growth of its resident memory
(VmRSS from /proc, sampled every 10 ms) while it streams CSV and Excel files of a million rows,
against PostgreSQL's own COPY of the same rows (the ceiling) in the same run."""

from __future__ import annotations

import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import psycopg

from bench.gateway_setup import EMAIL, PASSWORD
from shopee_common.kpis import KPI_BY_NAME

EXPORT_KPIS = list(KPI_BY_NAME)
COLUMNS = "shop_id, product_id, kpi, bucket, value, numerator, denominator"
SHEET_ROW = b"<row "


@dataclass
class ExportRun:
    label: str
    rows: int
    seconds: float
    first_byte_seconds: float
    megabytes: float
    rss_before_mib: float
    rss_peak_mib: float

    @property
    def growth_mib(self) -> float:
        return self.rss_peak_mib - self.rss_before_mib


def rss_mib(pid: int) -> float:
    """The process's resident set size now (MiB)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class PeakSampler:
    """The highest VmRSS of a process while the `with` block runs."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self._pid, self._interval = pid, interval
        self._stop = threading.Event()
        self.peak = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib(self._pid))
            time.sleep(self._interval)

    def __enter__(self) -> PeakSampler:
        self.peak = rss_mib(self._pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def window(dsn: str, shops: list[str], min_rows: int) -> tuple[date, date, int]:
    """The shortest run of whole UTC days ending on the last day whose shop-level minute rows
    (every KPI, every shop) number at least `min_rows`: (first day, day after the last, rows)."""
    with psycopg.connect(dsn) as connection:
        per_day = connection.execute(
            "SELECT (bucket AT TIME ZONE 'UTC')::date AS day, count(*) FROM kpi_minute "
            "WHERE shop_id = ANY(%s) AND product_id = '' AND bucket >= "
            "(SELECT max(bucket) FROM kpi_minute) - interval '400 days' "
            "GROUP BY day ORDER BY day DESC",
            (shops,),
        ).fetchall()
    # The last day may be partial (the shops' local days end before UTC midnight).
    last = per_day[1][0]
    rows = 0
    for day, count in per_day[1:]:
        rows += count
        if rows >= min_rows:
            return day, last + timedelta(days=1), rows
    raise ValueError(f"the database holds fewer than {min_rows} minute rows in 400 days")


def copy_baseline(dsn: str, shops: list[str], start: date, end: date) -> tuple[int, float, float]:
    """PostgreSQL's COPY of the export's rows as CSV to this client: rows, seconds, MB."""
    query = (
        f"COPY (SELECT {COLUMNS} FROM kpi_minute WHERE shop_id = ANY(%s) AND kpi = ANY(%s) "
        "AND product_id = '' AND bucket >= %s AND bucket < %s "
        "ORDER BY shop_id, product_id, kpi, bucket) TO STDOUT (FORMAT csv, HEADER)"
    )
    started, size, lines = time.perf_counter(), 0, 0
    with (
        psycopg.connect(dsn) as connection,
        connection.cursor().copy(query, (shops, EXPORT_KPIS, start, end)) as copy,
    ):
        for block in copy:
            size += len(block)
            lines += bytes(block).count(b"\n")
    return lines - 1, time.perf_counter() - started, size / 1e6


def _xlsx_rows(path: str) -> int:
    """Data rows in every worksheet of the file (its `<row ` elements less one header each)."""
    rows = 0
    with zipfile.ZipFile(path) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        for name in sheets:
            tail = b""
            with book.open(name) as sheet:
                while block := sheet.read(1 << 20):
                    rows += (tail + block).count(SHEET_ROW)
                    tail = block[-(len(SHEET_ROW) - 1) :]
        return rows - len(sheets)


def export(
    client: httpx.Client, pid: int, fmt: str, params: list[tuple[str, str]], label: str
) -> ExportRun:
    """One export streamed to a temporary file while the gateway's memory is sampled."""
    before = rss_mib(pid)
    size, lines, first = 0, 0, 0.0
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as sink, PeakSampler(pid) as sampler:
        started = time.perf_counter()
        with client.stream(
            "GET", "/api/exports/kpis", params=[*params, ("format", fmt)]
        ) as response:
            response.raise_for_status()
            for block in response.iter_bytes():
                first = first or time.perf_counter() - started
                size += len(block)
                lines += block.count(b"\n")
                sink.write(block)
        seconds = time.perf_counter() - started
        sink.flush()
        rows = lines - 1 if fmt == "csv" else _xlsx_rows(sink.name)
    return ExportRun(label, rows, seconds, first, size / 1e6, before, sampler.peak)


def measure_exports(
    url: str, pid: int, dsn: str, zones: dict[str, str], min_rows: int
) -> tuple[tuple[int, float, float], list[ExportRun]]:
    """The COPY baseline of the large export, then CSV and Excel of a tenth and of all of it."""
    shops = sorted(zones)
    start, end, rows = window(dsn, shops, min_rows)
    small_start, small_end, small_rows = window(dsn, shops, min_rows // 10)
    baseline = copy_baseline(dsn, shops, start, end)
    if baseline[0] != rows:
        raise AssertionError(f"COPY gave {baseline[0]} rows, expected {rows}")
    runs = []
    with httpx.Client(base_url=url, timeout=1800) as client:
        token = client.post("/api/auth/token", data={"username": EMAIL, "password": PASSWORD})
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        for fmt in ("csv", "xlsx"):
            for first, last, expected in ((small_start, small_end, small_rows), (start, end, rows)):
                params = [("shops", s) for s in shops] + [("kpis", k) for k in EXPORT_KPIS]
                params += [
                    ("from", first.isoformat()),
                    ("to", last.isoformat()),
                    ("interval", "minute"),
                    ("time_zone", "UTC"),
                ]
                run = export(client, pid, fmt, params, f"{fmt}, {(last - first).days} days")
                if run.rows != expected:
                    raise AssertionError(f"{run.label}: {run.rows} rows, expected {expected}")
                runs.append(run)
    return baseline, runs


def print_exports(result: tuple[tuple[int, float, float], list[ExportRun]]) -> None:
    (rows, seconds, megabytes), runs = result
    print(
        f"\nbaseline: PostgreSQL COPY of {rows:,} rows as CSV to the client: {seconds:.1f} s, "
        f"{rows / seconds:,.0f} rows/s, {megabytes:.0f} MB"
    )
    print(
        f"{'export (minute rows, 8 shops, all KPIs)':40} {'rows':>10} {'seconds':>8} {'rows/s':>8} "
        f"{'first byte':>10} {'MB':>6} {'RSS before':>10} {'peak':>7} {'growth':>7}"
    )
    for run in runs:
        print(
            f"{run.label:40} {run.rows:>10,} {run.seconds:>8.1f} {run.rows / run.seconds:>8,.0f} "
            f"{run.first_byte_seconds:>9.2f}s {run.megabytes:>6.0f} {run.rss_before_mib:>7.0f}MiB "
            f"{run.rss_peak_mib:>4.0f}MiB {run.growth_mib:>4.0f}MiB"
        )
