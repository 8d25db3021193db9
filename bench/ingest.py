"""Benchmark: events/s acknowledged through ingest, against a raw aiokafka producer as ceiling.

Both run in the same script against the same local broker, so their ratio holds on a noisy
machine even when the absolute numbers do not. Needs the stack (`scripts/stack up --infra`).

    uv run --frozen python -m bench.ingest --events 100000 --batch 1000 --clients 4
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from bench.machine import describe_machine
from shopee.events.v1 import events_pb2
from shopee_common.events import payload_topic
from shopee_common.kafka import make_producer
from shopee_common.settings import PlatformSettings
from shopee_common.topics import ALL_TOPICS, private_topics
from tests.integration.service_process import TEST_API_KEY, run_ingest


def make_events(count: int) -> list[events_pb2.Event]:
    start = datetime(2026, 11, 11, tzinfo=UTC)
    events = []
    for index in range(count):
        event = events_pb2.Event(
            event_id=str(uuid.uuid4()), shop_id=f"shop-{index % 8}", time_zone="Asia/Jakarta"
        )
        event.occurred_at.FromDatetime(start + timedelta(milliseconds=index))
        if index % 5 == 0:
            event.order.order_id = f"o-{index}"
            event.order.status = events_pb2.ORDER_STATUS_PAID
            event.order.currency = "IDR"
            event.order.items.add(
                product_id=f"p-{index % 50}", quantity=1, unit_price_minor=9_900_000
            )
        else:
            event.traffic.kind = events_pb2.TRAFFIC_KIND_PRODUCT_VIEW
            event.traffic.session_id = f"s-{index // 7}"
            event.traffic.visitor_id = f"v-{index // 11}"
            event.traffic.product_id = f"p-{index % 50}"
        events.append(event)
    return events


async def raw_producer_rate(bootstrap: str, prefix: str, events: list[events_pb2.Event]) -> float:
    producer = make_producer(bootstrap, client_id="bench-raw")
    await producer.start()
    try:
        started = time.perf_counter()
        acks = [
            await producer.send(
                prefix + payload_topic(e), e.SerializeToString(), key=e.shop_id.encode()
            )
            for e in events
        ]
        await asyncio.gather(*acks)
        return len(events) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def ingest_rate(
    url: str, key: str, events: list[events_pb2.Event], batch: int, clients: int
) -> float:
    bodies = [
        events_pb2.EventBatch(events=events[i : i + batch]).SerializeToString()
        for i in range(0, len(events), batch)
    ]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"content-type": "application/x-protobuf", "x-api-key": key}

    async def client() -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            while not queue.empty():
                body = queue.get_nowait()
                response = await http.post(f"{url}/v1/events", content=body, headers=headers)
                response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(events) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000, help="events per POST")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    options = parser.parse_args()
    settings = PlatformSettings()
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    with private_topics(settings.kafka_bootstrap_servers, ALL_TOPICS, prefix):
        events = make_events(options.events)
        print(f"machine: {describe_machine()}")
        print(
            f"events: {options.events}, batch {options.batch} per POST (protobuf), {options.clients} clients"
        )
        raw = asyncio.run(raw_producer_rate(settings.kafka_bootstrap_servers, prefix, events))
        print(f"raw aiokafka producer (acks=all, idempotent): {raw:,.0f} events/s")
        with run_ingest(prefix) as ingest:
            through_ingest = asyncio.run(
                ingest_rate(ingest.url, TEST_API_KEY, events, options.batch, options.clients)
            )
        print(f"through ingest (HTTP, validated, acked):     {through_ingest:,.0f} events/s")
        print(f"ratio ingest / raw producer: {through_ingest / raw:.2f}")


if __name__ == "__main__":
    main()
