"""Seller Centre exports written by the generator import completely through ingest, with progress."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shopee.events.v1 import events_pb2
from tests.integration.kafka_reader import read_topics
from tests.integration.service_process import TEST_API_KEY, ServiceProcess, run_ingest

pytestmark = pytest.mark.integration

WORLD = ["--days", "20", "--shops", "1", "--seed", "5"]
GENERATOR = str(Path(sys.executable).parent / "shopee-generator")


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The generator's orders and traffic exports of one shop, as CSV and XLSX."""
    folder = tmp_path_factory.mktemp("exports")
    subprocess.run(
        [GENERATOR, "export", *WORLD, "--last", "7", "--out-dir", str(folder)],
        check=True,
        capture_output=True,
    )
    files = {path.name: path for path in folder.rglob("*") if path.is_file()}
    kinds = {
        f"{kind}.{ext}": next(
            p for name, p in files.items() if kind in name.lower() and name.endswith(ext)
        )
        for kind in ("order", "traffic")
        for ext in ("csv", "xlsx")
    }
    return kinds


def shop_of(path: Path) -> str:
    return path.parent.name


def upload(ingest: ServiceProcess, path: Path, shop: str) -> dict[str, object]:
    with path.open("rb") as handle:
        response = httpx.post(
            f"{ingest.url}/v1/imports",
            headers={"x-api-key": TEST_API_KEY},
            data={"shop_id": shop, "time_zone": "Asia/Jakarta", "currency": "IDR"},
            files={"file": (path.name, handle)},
            timeout=60,
        )
    assert response.status_code == 202, response.text
    status_url = response.json()["status_url"]
    seen_percents = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress: dict[str, object] = httpx.get(
            status_url, headers={"x-api-key": TEST_API_KEY}
        ).json()
        seen_percents.append(progress["percent"])
        if progress["status"] in ("completed", "failed"):
            assert progress["status"] == "completed", progress
            return progress
        time.sleep(0.1)
    raise AssertionError(f"import did not finish: {seen_percents[-5:]}")


@pytest.mark.parametrize("kind", ["order.csv", "order.xlsx", "traffic.csv", "traffic.xlsx"])
async def test_generator_export_imports_completely(
    exports: dict[str, Path], kind: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    path = exports[kind]
    shop = shop_of(path)
    with run_ingest(topic_prefix) as ingest:
        progress = upload(ingest, path, shop)
    assert progress["rows_rejected"] == 0, progress["errors"]
    assert progress["events_published"] == progress["events_total"]
    assert progress["percent"] == 100.0
    rows_total = progress["rows_total"]
    assert isinstance(rows_total, int)
    assert rows_total > 0
    topic = topic_prefix + ("events.orders" if kind.startswith("order") else "events.traffic")
    records = await read_topics(
        kafka_bootstrap, [topic], expected=int(str(progress["events_total"]))
    )
    events = [events_pb2.Event.FromString(r.value) for r in records]
    assert len({e.event_id for e in events}) == progress["events_total"]
    assert {e.shop_id for e in events} == {shop}
    if kind == "order.csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            order_ids = {row["Order ID"] for row in csv.DictReader(handle)}
        created = {
            e.order.order_id for e in events if e.order.status == events_pb2.ORDER_STATUS_CREATED
        }
        assert created == order_ids
    if kind.startswith("traffic"):
        assert len(events) == rows_total
        assert all(e.traffic_summary.visitors > 0 for e in events)


async def test_the_same_file_twice_publishes_the_same_event_ids(
    exports: dict[str, Path], topic_prefix: str, kafka_bootstrap: str
) -> None:
    path = exports["order.xlsx"]
    with run_ingest(topic_prefix) as ingest:
        first = upload(ingest, path, shop_of(path))
        upload(ingest, path, shop_of(path))
    total = int(str(first["events_total"]))
    records = await read_topics(
        kafka_bootstrap, [topic_prefix + "events.orders"], expected=2 * total
    )
    assert len(records) == 2 * total
    assert len({events_pb2.Event.FromString(r.value).event_id for r in records}) == total
