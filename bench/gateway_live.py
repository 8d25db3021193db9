"""Benchmark: WebSocket fan-out of `WS /ws/kpis`, snapshots delivered per second to 1,000
subscribed clients, against 1 client on the same feed in the same run (the baseline).

    uv run --frozen python -m bench.gateway_live --clients 1000 --shops 100 --shops-per-client 10

The real gateway runs as its own process (`python -m shopee_gateway`, private topics and a
private database). The bench writes KpiSnapshot records (every shop-level KPI of the registry,
minute/hour/day buckets: the size the stream job sends) straight into `kpi.updates` at
`--rate-per-shop` snapshots per second per shop (the job's own ceiling is 1/s/shop), so what is
measured is the gateway: reader, fan-out, per-client queues and sockets. Each client subscribes
to `--shops-per-client` shops (client i: shops i..i+k modulo the shop count). Reported: frames the
clients received per second, the share of the frames the feed called for (the rest were
coalesced or dropped by the backpressure policy), and latency from the snapshot's updated_at
(set when the bench sends it) to its receipt. The clients run in this process, on the same
cores as the gateway and the broker. Needs the stack (`scripts/stack up --infra`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import orjson
import psycopg
from argon2 import PasswordHasher
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench.machine import describe_machine
from shopee.metrics.v1 import metrics_pb2
from shopee_common.kafka import make_producer
from shopee_common.kpis import KPIS
from shopee_common.settings import PlatformSettings
from shopee_common.topics import ALL_TOPICS, KPI_UPDATES, private_topics
from tests.integration.databases import migrated_database
from tests.integration.service_process import ServiceProcess, run_gateway

PASSWORD = "bench live password"  # noqa: S105 - a throwaway user of a throwaway database
EMAIL = "bench@live.example.com"


@dataclass
class Tally:
    frames: int = 0
    first: float = 0.0
    last: float = 0.0
    latencies: list[float] = field(default_factory=list)
    expected: int | None = None
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def seen(self, updated_at: str) -> None:
        now = time.time()
        self.frames += 1
        self.first = self.first or now
        self.last = now
        if self.expected is not None and self.frames >= self.expected:
            self.complete.set()
        if self.frames % 7 == 0:  # a sample keeps the bench's own work small
            sent = datetime.fromisoformat(updated_at).timestamp()
            self.latencies.append(now - sent)


def snapshot(shop: str, sequence: int) -> bytes:
    message = metrics_pb2.KpiSnapshot(shop_id=shop, time_zone="Asia/Jakarta")
    now = datetime.now(UTC)
    message.updated_at.FromDatetime(now)
    message.watermark.FromDatetime(now)
    for granularity in (
        metrics_pb2.GRANULARITY_MINUTE,
        metrics_pb2.GRANULARITY_HOUR,
        metrics_pb2.GRANULARITY_DAY,
    ):
        bucket = message.buckets.add(granularity=granularity)
        bucket.bucket.FromDatetime(now.replace(second=0, microsecond=0))
        for kpi in KPIS:
            bucket.values.add(kpi=kpi.name, numerator=sequence, value=sequence)
    return message.SerializeToString()


def register_user(dsn: str) -> None:
    with psycopg.connect(dsn) as connection:
        user = connection.execute(
            "INSERT INTO users (email, full_name, password_hash) VALUES (%s, 'Bench', %s) "
            "RETURNING id",
            (EMAIL, PasswordHasher().hash(PASSWORD)),
        ).fetchone()
        assert user is not None
        connection.execute(
            "INSERT INTO organisation_memberships (user_id, organisation_id, role_id) "
            "SELECT %s, o.id, r.id FROM organisations o, roles r "
            "WHERE o.slug = 'tests' AND r.name = 'viewer'",
            (user[0],),
        )


async def open_client(
    url: str, token: str, shops: list[str], tally: Tally, gate: asyncio.Semaphore
) -> tuple[ClientConnection, asyncio.Task[None]]:
    async with gate:
        ws = await connect(
            url,
            subprotocols=[Subprotocol("shopee.kpis.v1"), Subprotocol(f"bearer.{token}")],
            max_queue=None,
        )
        await ws.send(orjson.dumps({"type": "subscribe", "id": "s", "shops": shops}).decode())
        while orjson.loads(await ws.recv())["type"] != "subscribed":
            pass
    return ws, asyncio.create_task(read(ws, tally))


async def read(ws: ClientConnection, tally: Tally) -> None:
    updated = re.compile(rb'"updated_at":"([^"]+)"')
    async for text in ws:
        raw = text.encode() if isinstance(text, str) else text
        if raw.startswith(b'{"type":"snapshot"'):
            match = updated.search(raw)
            if match is not None:
                tally.seen(match.group(1).decode())
        elif raw.startswith(b'{"type":"ping"'):
            await ws.send('{"type":"pong"}')


def gateway_counters(gateway: ServiceProcess) -> dict[str, float]:
    text = httpx.get(f"{gateway.url}/metrics", timeout=10).text
    wanted = ("gateway_ws_snapshots_coalesced_total", "gateway_ws_disconnects_total")
    counters: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(wanted):
            name, value = line.rsplit(" ", 1)
            counters[name] = float(value)
    return counters


async def run(
    gateway: ServiceProcess,
    bootstrap: str,
    topic: str,
    clients: int,
    shops: list[str],
    per_client: int,
    rate_per_shop: float,
    seconds: float,
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.post(
            "/api/auth/token", data={"username": EMAIL, "password": PASSWORD}
        )
        response.raise_for_status()
        token = response.json()["access_token"]
    tally, gate = Tally(), asyncio.Semaphore(50)
    url = gateway.url.replace("http://", "ws://") + "/ws/kpis"
    subscriptions = [
        [shops[(i + j) % len(shops)] for j in range(per_client)] for i in range(clients)
    ]
    watchers = {shop: sum(shop in s for s in subscriptions) for shop in shops}
    opened = await asyncio.gather(*(open_client(url, token, s, tally, gate) for s in subscriptions))
    before = gateway_counters(gateway)
    producer = make_producer(bootstrap, client_id="bench-gateway-live", linger_ms=2)
    await producer.start()
    expected, sequence = 0, 0
    interval = 1 / (rate_per_shop * len(shops))
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        shop = shops[sequence % len(shops)]
        await producer.send(topic, snapshot(shop, sequence), key=shop.encode())
        expected += watchers[shop]
        sequence += 1
        await asyncio.sleep(max(0.0, began + sequence * interval - time.monotonic()))
    await producer.flush()
    await producer.stop()
    # Frames still in flight get a few seconds to land.
    tally.expected = expected
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tally.complete.wait(), 5)
    after = gateway_counters(gateway)
    for ws, task in opened:
        task.cancel()
        await ws.close()
    span = max(tally.last - tally.first, 1e-9)
    latencies = sorted(tally.latencies) or [float("nan")]
    p99 = latencies[max(int(0.99 * len(latencies)) - 1, 0)]
    changes = {k: after.get(k, 0) - before.get(k, 0) for k in after if after[k] != before.get(k)}
    print(
        f"{clients:>5} clients: {sequence:,} snapshots in, {tally.frames:,} of {expected:,} "
        f"frames delivered ({tally.frames / max(expected, 1):.1%}), "
        f"{tally.frames / span:,.0f} frames/s; latency p50 "
        f"{statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; "
        f"gateway counters changed: {changes or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--shops", type=int, default=100)
    parser.add_argument("--shops-per-client", type=int, default=10)
    parser.add_argument("--rate-per-shop", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    options = parser.parse_args()
    settings = PlatformSettings()
    prefix = f"b{uuid.uuid4().hex[:8]}."
    shops = [f"bench-live-{i:03d}" for i in range(options.shops)]
    print(f"machine: {describe_machine()}")
    print(
        f"feed: {options.shops} shops x {options.rate_per_shop}/s for {options.seconds:.0f} s; "
        f"{options.shops_per_client} shops per client"
    )
    server = settings.database_url.get_secret_value()
    with (
        private_topics(settings.kafka_bootstrap_servers, ALL_TOPICS, prefix),
        migrated_database(server, dict.fromkeys(shops, "Asia/Jakarta")) as dsn,
    ):
        register_user(dsn)
        with run_gateway(prefix, dsn) as gateway:
            for clients in (1, options.clients):
                asyncio.run(
                    run(
                        gateway,
                        settings.kafka_bootstrap_servers,
                        prefix + KPI_UPDATES.name,
                        clients,
                        shops,
                        options.shops_per_client,
                        options.rate_per_shop,
                        options.seconds,
                    )
                )


if __name__ == "__main__":
    main()
