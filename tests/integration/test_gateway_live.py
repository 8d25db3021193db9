"""Acceptance of `WS /ws/kpis` on the whole stack: real Kafka, PostgreSQL and Redis, the real
metrics job and the real gateway, each in its own process.

What the latency test measures: 1,000 paid orders are produced to `events.orders`, spread over
80 shops so that each shop gets one event every 1.1 s (the job sends at most one snapshot per
shop per second; a faster stream per shop would measure that throttle, not the pipeline). An
event's latency is the time from just before the test hands it to the Kafka producer to the
arrival, on a subscribed WebSocket, of the first snapshot whose paid_orders count for its shop
includes it (events of a shop share a partition, so they are counted in order). It spans the
producer, the broker, the job's batch, its PostgreSQL commit and snapshot tick, the broker
again, the gateway's reader and fan-out, and the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from argon2 import PasswordHasher
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from shopee_common.kafka import make_producer
from tests.integration.databases import migrated_database
from tests.integration.live_orders import paid_order
from tests.integration.service_process import ServiceProcess, run_gateway, run_metrics

pytestmark = pytest.mark.integration

ZONE = "Asia/Jakarta"
SHOPS_A = [f"live-a-{index:02d}" for index in range(80)]
SHOP_B = "live-b-00"
EVENTS = 1000
PER_SHOP_SPACING_SECONDS = 1.1
PASSWORD = "live stream test password"


@dataclass
class Users:
    dsn: str
    email_a: str
    email_b: str


def add_viewer(connection: psycopg.Connection, organisation_id: Any, email: str) -> None:
    user = connection.execute(
        "INSERT INTO users (email, full_name, password_hash) VALUES (%s, %s, %s) RETURNING id",
        (email, email, PasswordHasher().hash(PASSWORD)),
    ).fetchone()
    assert user is not None
    connection.execute(
        "INSERT INTO organisation_memberships (user_id, organisation_id, role_id) "
        "SELECT %s, %s, id FROM roles WHERE name = 'viewer'",
        (user[0], organisation_id),
    )


@pytest.fixture(scope="module")
def users(database_url: str) -> Iterator[Users]:
    """Organisation A ("tests", 80 shops) and B (one shop), a viewer in each."""
    with migrated_database(database_url, dict.fromkeys(SHOPS_A, ZONE)) as dsn:
        with psycopg.connect(dsn) as connection:
            row = connection.execute("SELECT id FROM organisations WHERE slug = 'tests'").fetchone()
            assert row is not None
            add_viewer(connection, row[0], "viewer@a.example.com")
            org_b = connection.execute(
                "INSERT INTO organisations (slug, name) VALUES ('org-b', 'B') RETURNING id"
            ).fetchone()
            assert org_b is not None
            connection.execute(
                "INSERT INTO shops (id, organisation_id, name, market, currency, time_zone) "
                "VALUES (%s, %s, 'B shop', 'ID', 'IDR', %s)",
                (SHOP_B, org_b[0], ZONE),
            )
            add_viewer(connection, org_b[0], "viewer@b.example.com")
        yield Users(dsn, "viewer@a.example.com", "viewer@b.example.com")


async def token(gateway: ServiceProcess, email: str) -> str:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.post(
            "/api/auth/token", data={"username": email, "password": PASSWORD}
        )
    assert response.status_code == 200, response.text
    access: str = response.json()["access_token"]
    return access


def open_socket(gateway: ServiceProcess, access_token: str) -> Any:
    return connect(
        gateway.url.replace("http://", "ws://") + "/ws/kpis",
        subprotocols=[Subprotocol("shopee.kpis.v1"), Subprotocol(f"bearer.{access_token}")],
    )


async def request(ws: ClientConnection, message: dict[str, Any]) -> dict[str, Any]:
    """Send a message; the next non-ping message is the answer."""
    await ws.send(orjson.dumps(message).decode())
    return await next_message(ws)


async def next_message(ws: ClientConnection) -> dict[str, Any]:
    while True:
        answer: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        if answer["type"] not in ("ping", "ready"):
            return answer


@dataclass
class Arrivals:
    """Per shop: the paid_orders count of each day bucket seen, and when each event arrived."""

    sent_at: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    arrived_at: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    all_arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, frame: dict[str, Any], now: float) -> None:
        shop = frame["shop_id"]
        for bucket in frame["buckets"]:
            self.counts[shop][bucket["bucket"]] = bucket["kpis"]["paid_orders"]["numerator"]
        included = int(sum(self.counts[shop].values()))
        while len(self.arrived_at[shop]) < min(included, len(self.sent_at[shop])):
            self.arrived_at[shop].append(now)
        if sum(len(times) for times in self.arrived_at.values()) == EVENTS:
            self.all_arrived.set()

    def latencies(self) -> list[float]:
        return [
            arrived - sent
            for shop, sent_times in self.sent_at.items()
            for sent, arrived in zip(sent_times, self.arrived_at[shop], strict=False)
        ]


async def collect(ws: ClientConnection, frames: list[dict[str, Any]], on_frame: Any) -> None:
    async for text in ws:
        frame = orjson.loads(text)
        frames.append(frame)
        if frame["type"] == "snapshot":
            on_frame(frame, time.time())


@pytest.mark.exclusive
async def test_events_reach_a_subscribed_socket_within_a_second_and_tenants_stay_apart(
    users: Users, topic_prefix: str, kafka_bootstrap: str
) -> None:
    arrivals = Arrivals()
    frames_a: list[dict[str, Any]] = []
    frames_b: list[dict[str, Any]] = []
    started = datetime.now(UTC)
    with (
        run_metrics(topic_prefix, users.dsn),
        run_gateway(topic_prefix, users.dsn) as gateway,
    ):
        token_a, token_b = await token(gateway, users.email_a), await token(gateway, users.email_b)
        async with open_socket(gateway, token_a) as ws_a, open_socket(gateway, token_b) as ws_b:
            # Tenant isolation: B asks for A's shop and gets an error, then its own shop.
            refused = await request(
                ws_b, {"type": "subscribe", "id": "peek", "shops": [SHOPS_A[0]]}
            )
            assert refused["type"] == "error"
            assert refused["code"] == "forbidden"
            own = await request(ws_b, {"type": "subscribe", "id": "own", "shops": [SHOP_B]})
            assert own["type"] == "subscribed"
            subscribed = await request(
                ws_a,
                {
                    "type": "subscribe",
                    "id": "all",
                    "shops": SHOPS_A,
                    "kpis": ["paid_orders"],
                    "interval": "day",
                },
            )
            assert subscribed["type"] == "subscribed"
            readers = [
                asyncio.create_task(collect(ws_a, frames_a, arrivals.record)),
                asyncio.create_task(collect(ws_b, frames_b, lambda frame, now: None)),
            ]
            producer = make_producer(kafka_bootstrap, client_id="live-latency-test", linger_ms=0)
            await producer.start()
            interval = PER_SHOP_SPACING_SECONDS / len(SHOPS_A)
            began = time.monotonic()
            for index in range(EVENTS):
                await asyncio.sleep(max(0.0, began + index * interval - time.monotonic()))
                shop = SHOPS_A[index % len(SHOPS_A)]
                value = paid_order(shop, ZONE).SerializeToString()
                arrivals.sent_at[shop].append(time.time())
                await producer.send(topic_prefix + "events.orders", value, key=shop.encode())
            await producer.flush()
            await producer.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrivals.all_arrived.wait(), 10)
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
        # Resume: a new socket asks for minute buckets since before the first event.
        async with open_socket(gateway, token_a) as ws_resume:
            since = (started - timedelta(minutes=1)).isoformat()
            shop = SHOPS_A[0]
            answer = await request(
                ws_resume,
                {
                    "type": "subscribe",
                    "id": "resume",
                    "shops": [shop],
                    "kpis": ["paid_orders"],
                    "since": since,
                },
            )
            assert answer["type"] == "subscribed"
            replayed = 0.0
            while (message := await next_message(ws_resume))["type"] != "replayed":
                if message["type"] == "snapshot":
                    assert message["replay"] is True
                    replayed += sum(
                        b["kpis"]["paid_orders"]["numerator"] for b in message["buckets"]
                    )
            assert replayed == len(arrivals.sent_at[shop])
        async with httpx.AsyncClient(base_url=gateway.url) as http:
            exposition = (await http.get("/metrics")).text
    latencies = sorted(arrivals.latencies())
    assert len(latencies) == EVENTS, f"{len(latencies)} of {EVENTS} events arrived"
    p50 = statistics.median(latencies)
    p99 = latencies[int(0.99 * len(latencies)) - 1]
    print(
        f"event -> WebSocket latency over {EVENTS} events: p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )
    assert p99 < 1.0, f"p99 {p99:.3f} s"
    # Not one byte of A's shops reached B's socket.
    leaked = [f for f in frames_b if any(s in orjson.dumps(f).decode() for s in SHOPS_A)]
    assert leaked == []
    assert any(
        line.startswith("gateway_ws_messages_sent_total") for line in exposition.splitlines()
    )
    assert 'gateway_kpi_updates_received_total{outcome="delivered"}' in exposition
