"""Fan-out and backpressure of the live stream, with fake sockets: coalescing, slow clients
dropped without slowing the others, replays ahead of live snapshots, per-subscription frames."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import orjson
import pytest
from prometheus_client import CollectorRegistry

from shopee.metrics.v1 import metrics_pb2
from shopee_gateway.live.hub import Connection, Hub, Subscription, TooSlow
from shopee_gateway.live.metrics import LiveMetrics
from shopee_gateway.live.snapshots import LiveSnapshot
from shopee_gateway.security.principal import Principal


def principal() -> Principal:
    return Principal(str(uuid4()), uuid4(), "viewer", frozenset({"kpis:read"}), frozenset({"a"}))


def snapshot(shop: str, paid_orders: float, minute: int = 0) -> LiveSnapshot:
    message = metrics_pb2.KpiSnapshot(shop_id=shop, time_zone="Asia/Jakarta")
    message.updated_at.FromDatetime(datetime(2025, 12, 12, 3, minute, 30, tzinfo=UTC))
    for granularity in (metrics_pb2.GRANULARITY_MINUTE, metrics_pb2.GRANULARITY_DAY):
        bucket = message.buckets.add(granularity=granularity)
        bucket.bucket.FromDatetime(datetime(2025, 12, 12, 3, minute, tzinfo=UTC))
        bucket.values.add(kpi="paid_orders", numerator=paid_orders, value=paid_orders)
        conversion = bucket.values.add(kpi="conversion_rate", numerator=paid_orders)
        conversion.denominator = 0
    return LiveSnapshot.from_proto(message)


class Socket:
    """A client socket: records frames; `gate` (when set) blocks each send until opened."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.frames: list[dict[str, object]] = []
        self.gate = gate

    async def send_text(self, text: str) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.frames.append(orjson.loads(text))


def connect(
    socket: Socket, metrics: LiveMetrics, *, send_timeout: float = 5, max_coalesced: int = 100
) -> Connection:
    return Connection(
        principal(),
        socket.send_text,
        metrics,
        send_timeout_seconds=send_timeout,
        max_coalesced=max_coalesced,
    )


@pytest.fixture
def metrics() -> LiveMetrics:
    return LiveMetrics(CollectorRegistry())


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_frames_carry_only_the_subscribed_interval_and_kpis(metrics: LiveMetrics) -> None:
    socket = Socket()
    hub, connection = Hub(), connect(socket, metrics)
    hub.subscribe(
        connection, Subscription("day", frozenset({"a"}), frozenset({"paid_orders"}), "day")
    )
    hub.subscribe(connection, Subscription("all", frozenset({"a"}), None, "minute"))
    sender = asyncio.create_task(connection.run_sender())
    assert hub.publish(snapshot("a", 3)) == 1
    assert hub.publish(snapshot("b", 9)) == 0
    await settle()
    sender.cancel()
    by_subscription = {frame["subscription"]: frame for frame in socket.frames}
    assert set(by_subscription) == {"day", "all"}
    day = by_subscription["day"]
    assert day["interval"] == "day"
    assert day["buckets"] == [
        {
            "bucket": "2025-12-12T03:00:00Z",
            "kpis": {"paid_orders": {"value": 3.0, "numerator": 3.0, "denominator": None}},
        }
    ]
    minute = by_subscription["all"]["buckets"][0]["kpis"]  # type: ignore[index]
    assert minute["conversion_rate"] == {"value": None, "numerator": 3.0, "denominator": 0.0}
    assert by_subscription["all"]["updated_at"] == "2025-12-12T03:00:30Z"


async def test_a_blocked_client_gets_the_latest_snapshot_per_shop(metrics: LiveMetrics) -> None:
    gate = asyncio.Event()
    socket = Socket(gate)
    hub, connection = Hub(), connect(socket, metrics)
    hub.subscribe(connection, Subscription("s", frozenset({"a"}), None, "minute"))
    sender = asyncio.create_task(connection.run_sender())
    for paid in range(1, 11):
        hub.publish(snapshot("a", paid))
        await settle()
    gate.set()
    await settle()
    sender.cancel()
    sent = [f["buckets"][0]["kpis"]["paid_orders"]["numerator"] for f in socket.frames]  # type: ignore[index]
    # The first was already in the socket when the client stalled; 2..9 were replaced.
    assert sent == [1.0, 10.0]
    assert metrics.coalesced._value.get() == 8


async def test_a_stuck_client_is_dropped_and_the_others_keep_their_pace(
    metrics: LiveMetrics,
) -> None:
    hub = Hub()
    stuck = connect(Socket(asyncio.Event()), metrics, send_timeout=0.2)
    healthy_socket = Socket()
    healthy = connect(healthy_socket, metrics)
    for connection in (stuck, healthy):
        hub.subscribe(connection, Subscription("s", frozenset({"a"}), None, "minute"))
    stuck_sender = asyncio.create_task(stuck.run_sender())
    healthy_sender = asyncio.create_task(healthy.run_sender())
    for paid in range(1, 6):
        hub.publish(snapshot("a", paid))
        await asyncio.sleep(0.01)
    assert len(healthy_socket.frames) == 5, "the stuck client delayed nobody"
    with pytest.raises(TooSlow):
        await asyncio.wait_for(stuck_sender, 2)
    healthy_sender.cancel()


async def test_a_client_behind_by_too_many_snapshots_is_dropped(metrics: LiveMetrics) -> None:
    hub, connection = Hub(), connect(Socket(asyncio.Event()), metrics, max_coalesced=3)
    hub.subscribe(connection, Subscription("s", frozenset({"a"}), None, "minute"))
    sender = asyncio.create_task(connection.run_sender())
    for paid in range(5):
        hub.publish(snapshot("a", paid))
        await settle()
    with pytest.raises(TooSlow):
        await asyncio.wait_for(sender, 1)


async def test_live_snapshots_wait_behind_a_replay(metrics: LiveMetrics) -> None:
    socket = Socket()
    hub, connection = Hub(), connect(socket, metrics)
    sender = asyncio.create_task(connection.run_sender())
    connection.hold()
    hub.subscribe(connection, Subscription("s", frozenset({"a"}), None, "minute"))
    hub.publish(snapshot("a", 5, minute=1))
    await settle()
    assert socket.frames == []
    connection.send_control(snapshot("a", 4, minute=0).frame("s", "minute", None) or "", "replay")
    connection.release()
    await settle()
    sender.cancel()
    assert [f["buckets"][0]["bucket"] for f in socket.frames] == [  # type: ignore[index]
        "2025-12-12T03:00:00Z",
        "2025-12-12T03:01:00Z",
    ]


async def test_unsubscribe_and_detach_stop_the_flow(metrics: LiveMetrics) -> None:
    hub, first, second = Hub(), connect(Socket(), metrics), connect(Socket(), metrics)
    hub.subscribe(first, Subscription("x", frozenset({"a", "b"}), None, "minute"))
    hub.subscribe(first, Subscription("y", frozenset({"a"}), None, "hour"))
    hub.subscribe(second, Subscription("x", frozenset({"a"}), None, "minute"))
    assert hub.unsubscribe(first, "x")
    assert not hub.unsubscribe(first, "x")
    assert (hub.watchers("a"), hub.watchers("b")) == (2, 0)
    hub.detach(first)
    hub.detach(second)
    assert hub.watchers("a") == 0
    assert hub.publish(snapshot("a", 1)) == 0


def test_product_rows_are_not_in_shop_snapshots() -> None:
    message = metrics_pb2.KpiSnapshot(shop_id="a")
    bucket = message.buckets.add(granularity=metrics_pb2.GRANULARITY_HOUR)
    bucket.values.add(kpi="units_sold", product_id="p1", numerator=2)
    bucket.values.add(kpi="gmv", numerator=5, value=5)
    decoded = LiveSnapshot.from_proto(message)
    assert list(decoded.buckets["hour"][0].kpis) == ["gmv"]
    assert decoded.frame("s", "minute", None) is None
    assert decoded.frame("s", "hour", frozenset({"aov"})) is None
