"""`WS /ws/kpis` over a real socket (uvicorn in-process, the `websockets` client): origin check,
both ways to authenticate, tenant isolation of subscriptions, live delivery, resume, heartbeats."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin, Subprotocol

from shopee.metrics.v1 import metrics_pb2
from shopee_gateway import live
from shopee_gateway.live.endpoint import LiveState
from shopee_gateway.live.hub import Hub
from shopee_gateway.live.metrics import LiveMetrics
from shopee_gateway.live.settings import LiveSettings
from shopee_gateway.live.snapshots import LiveSnapshot
from shopee_gateway.security.principal import Principal
from shopee_gateway.security.tokens import AuthenticationError

ORIGIN = "https://dashboard.example"
OWN, FOREIGN = "own-shop", "foreign-shop"


class Tokens:
    def __init__(self) -> None:
        org = uuid4()
        self.principals = {
            "viewer": Principal("u1", org, "viewer", frozenset({"kpis:read"}), frozenset({OWN})),
            "no-kpis": Principal("u2", org, "viewer", frozenset(), frozenset({OWN})),
            "expiring": Principal(
                "u3",
                org,
                "viewer",
                frozenset({"kpis:read"}),
                frozenset({OWN}),
                expires_at=datetime.now(UTC) + timedelta(seconds=0.5),
            ),
        }

    async def principal_from_access_token(self, token: str) -> Principal:
        if token not in self.principals:
            raise AuthenticationError("invalid token")
        return self.principals[token]


class Rows:
    """The pool a resume reads: stored minute rows of OWN, and the query's arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        start = datetime(2025, 12, 12, 3, 0, tzinfo=UTC)
        self.rows = [
            (OWN, "Asia/Jakarta", start + timedelta(minutes=m), "gmv", 100.0 * m, 100.0 * m, None)
            for m in range(3)
        ]

    async def fetch(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        self.calls.append(args)
        return self.rows


@dataclass
class Gateway:
    url: str
    hub: Hub
    rows: Rows
    metrics: LiveMetrics


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    app = FastAPI()
    app.include_router(live.router)
    hub, rows, metrics = Hub(), Rows(), LiveMetrics(CollectorRegistry())
    settings = LiveSettings(ping_seconds=0.2, idle_timeout_seconds=1.0, auth_timeout_seconds=1.0)
    app.state.live = LiveState(hub, metrics, settings, frozenset({ORIGIN}), rows)
    app.state.authenticator = Tokens()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    yield Gateway(f"ws://127.0.0.1:{port}/ws/kpis", hub, rows, metrics)
    server.should_exit = True
    await task


def snapshot(shop: str, paid: float, kpi: str = "paid_orders") -> LiveSnapshot:
    message = metrics_pb2.KpiSnapshot(shop_id=shop, time_zone="Asia/Jakarta")
    bucket = message.buckets.add(granularity=metrics_pb2.GRANULARITY_MINUTE)
    bucket.bucket.FromDatetime(datetime(2025, 12, 12, 3, 5, tzinfo=UTC))
    bucket.values.add(kpi=kpi, numerator=paid, value=paid)
    return LiveSnapshot.from_proto(message)


async def next_message(ws: ClientConnection, skip: tuple[str, ...] = ("ping",)) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
        if message["type"] not in skip:
            return message


async def read_until_closed(ws: ClientConnection) -> None:
    while True:
        await asyncio.wait_for(ws.recv(), 3)


def protocols(*names: str) -> list[Subprotocol]:
    return [Subprotocol(name) for name in names]


async def subscribe(ws: ClientConnection, **members: Any) -> dict[str, Any]:
    await ws.send(orjson.dumps({"type": "subscribe", **members}).decode())
    return await next_message(ws)


async def test_token_in_the_subprotocol_header_then_live_snapshots(gateway: Gateway) -> None:
    async with connect(
        gateway.url,
        subprotocols=protocols("shopee.kpis.v1", "bearer.viewer"),
        origin=Origin(ORIGIN),
    ) as ws:
        assert ws.subprotocol == "shopee.kpis.v1", "the token is never echoed back"
        ready = await next_message(ws)
        assert ready["type"] == "ready"
        assert ready["shops"] == [OWN]
        subscribed = await subscribe(ws, id="s1", shops=[OWN], kpis=["paid_orders"])
        assert subscribed["type"] == "subscribed"
        assert gateway.hub.publish(snapshot(OWN, 7)) == 1
        live_frame = await next_message(ws)
        assert live_frame["subscription"] == "s1"
        assert live_frame["replay"] is False
        assert live_frame["buckets"][0]["kpis"]["paid_orders"]["numerator"] == 7.0
        await ws.send('{"type": "unsubscribe", "id": "s1"}')
        assert (await next_message(ws))["type"] == "unsubscribed"
        assert gateway.hub.watchers(OWN) == 0


async def test_token_in_the_first_message(gateway: Gateway) -> None:
    async with connect(gateway.url) as ws:
        await ws.send('{"type": "auth", "token": "viewer"}')
        assert (await next_message(ws))["type"] == "ready"


@pytest.mark.parametrize("first", ['{"type": "auth", "token": "forged"}', '{"type": "ping"}', "{"])
async def test_a_bad_first_message_closes_with_4401(gateway: Gateway, first: str) -> None:
    async with connect(gateway.url) as ws:
        await ws.send(first)
        error = await next_message(ws)
        assert error["code"] == "unauthenticated"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401


async def test_silence_instead_of_auth_closes_with_4401(gateway: Gateway) -> None:
    async with connect(gateway.url) as ws:
        assert (await next_message(ws))["code"] == "unauthenticated"


async def test_a_forged_header_token_and_a_foreign_origin_are_refused_at_the_handshake(
    gateway: Gateway,
) -> None:
    with pytest.raises(InvalidStatus) as forged:
        await connect(gateway.url, subprotocols=protocols("bearer.forged"))
    assert forged.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as foreign:
        await connect(
            gateway.url,
            subprotocols=protocols("bearer.viewer"),
            origin=Origin("https://evil.example"),
        )
    assert foreign.value.response.status_code == 403


async def test_the_gateways_own_pages_may_connect_without_being_listed(gateway: Gateway) -> None:
    """The dashboard is served by the gateway: its Origin is the Host it connects to."""
    own = gateway.url.replace("ws://", "http://").removesuffix("/ws/kpis")
    async with connect(
        gateway.url, subprotocols=protocols("shopee.kpis.v1", "bearer.viewer"), origin=Origin(own)
    ) as ws:
        assert (await next_message(ws))["type"] == "ready"
    # Another port of the same host is another origin.
    with pytest.raises(InvalidStatus) as other_port:
        await connect(
            gateway.url,
            subprotocols=protocols("bearer.viewer"),
            origin=Origin("http://127.0.0.1:1"),
        )
    assert other_port.value.response.status_code == 403


async def test_without_kpis_read_the_session_ends_with_4403(gateway: Gateway) -> None:
    async with connect(gateway.url, subprotocols=protocols("bearer.no-kpis")) as ws:
        assert (await next_message(ws))["code"] == "forbidden"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403


async def test_the_session_ends_with_4401_when_the_access_token_expires(gateway: Gateway) -> None:
    async with connect(gateway.url, subprotocols=protocols("bearer.expiring")) as ws:
        assert (await next_message(ws))["type"] == "ready"
        with pytest.raises(ConnectionClosed) as closed:
            await read_until_closed(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401
        assert closed.value.rcvd.reason == "token_expired"


async def test_a_foreign_shop_gets_an_error_and_no_data(gateway: Gateway) -> None:
    async with connect(gateway.url, subprotocols=protocols("bearer.viewer")) as ws:
        await next_message(ws)
        refused = await subscribe(ws, id="s", shops=[OWN, FOREIGN])
        assert refused == {
            "type": "error",
            "code": "forbidden",
            "detail": f"shop(s) not found: {FOREIGN}",
            "id": "s",
        }
        assert gateway.hub.watchers(FOREIGN) == 0
        assert gateway.hub.watchers(OWN) == 0, "the whole subscription is refused"
        gateway.hub.publish(snapshot(FOREIGN, 1))
        await ws.send('{"type": "ping"}')
        assert (await next_message(ws))["type"] == "pong", "nothing of the foreign shop came"


async def test_invalid_messages_name_the_field_and_keep_the_session(gateway: Gateway) -> None:
    async with connect(gateway.url, subprotocols=protocols("bearer.viewer")) as ws:
        await next_message(ws)
        error = await subscribe(ws, id="s", shops=[OWN], kpis=["not_a_kpi"])
        assert error["code"] == "invalid_message"
        assert "subscribe.kpis" in error["detail"]
        assert "not_a_kpi" in error["detail"]
        assert (await subscribe(ws, id="s", shops=[OWN]))["type"] == "subscribed"


async def test_resume_replays_stored_buckets_before_live_ones(gateway: Gateway) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    async with connect(gateway.url, subprotocols=protocols("bearer.viewer")) as ws:
        await next_message(ws)
        await ws.send(
            orjson.dumps(
                {"type": "subscribe", "id": "r", "shops": [OWN], "kpis": ["gmv"], "since": since}
            ).decode()
        )
        assert (await next_message(ws))["type"] == "subscribed"
        replay = await next_message(ws)
        assert replay["replay"] is True
        assert [b["kpis"]["gmv"]["numerator"] for b in replay["buckets"]] == [0.0, 100.0, 200.0]
        assert (await next_message(ws))["type"] == "replayed"
        gateway.hub.publish(snapshot(OWN, 1, kpi="gmv"))
        assert (await next_message(ws))["replay"] is False
    shops, kpis, after, limit = gateway.rows.calls[0]
    assert (shops, kpis, after) == ([OWN], ["gmv"], since - timedelta(minutes=1))
    assert limit == 200_001  # max rows + 1, to tell a cut-short read


async def test_pings_flow_and_a_silent_peer_is_dropped(gateway: Gateway) -> None:
    async with connect(gateway.url, subprotocols=protocols("bearer.viewer")) as ws:
        assert (await next_message(ws, skip=()))["type"] == "ready"
        assert (await next_message(ws, skip=()))["type"] == "ping"
        # The client answers nothing for longer than the idle timeout (1 s).
        with pytest.raises(ConnectionClosed) as closed:
            await read_until_closed(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4408
    assert gateway.metrics.connections._value.get() == 0
