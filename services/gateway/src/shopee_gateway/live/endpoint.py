"""`WS /ws/kpis`: origin check, authentication (subprotocol `bearer.<token>` or a first `auth`
message, never the URL), then subscriptions, heartbeats and the sender task of one client."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from shopee_gateway.live import protocol
from shopee_gateway.live.backfill import read_backfill
from shopee_gateway.live.hub import Connection, Hub, Subscription, TooSlow
from shopee_gateway.live.metrics import LiveMetrics
from shopee_gateway.live.settings import LiveSettings
from shopee_gateway.security.principal import Principal
from shopee_gateway.security.tokens import AuthenticationError

log = structlog.get_logger("gateway.live")
router = APIRouter()
READ_PERMISSION = "kpis:read"


@dataclass
class LiveState:
    """What every session of this process shares (app.state.live)."""

    hub: Hub
    metrics: LiveMetrics
    settings: LiveSettings
    allowed_origins: frozenset[str]
    pool: Any  # asyncpg pool of the app, for resumes


class Closing(Exception):
    """End the session with `code`; `reason` is also the metrics label."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _same_origin(websocket: WebSocket) -> bool:
    """Whether the page that opens the socket came from this gateway (its own dashboard): the
    Origin's host and port are the Host the request was sent to. The scheme is not compared,
    as a proxy in front may end TLS."""
    origin_host = urlsplit(websocket.headers.get("origin", "")).netloc
    return bool(origin_host) and origin_host == websocket.headers.get("host")


@router.websocket("/ws/kpis", name="live_kpis")
async def live_kpis(websocket: WebSocket) -> None:
    """Live KPI snapshots of the caller's shops; the protocol is in docs/gateway-live.md."""
    live: LiveState = websocket.app.state.live
    origin = websocket.headers.get("origin")
    # Browsers always send Origin; a page from another site must not ride the user's token.
    if origin is not None and origin not in live.allowed_origins and not _same_origin(websocket):
        live.metrics.disconnects.labels("origin").inc()
        await websocket.close(code=protocol.CLOSE_POLICY, reason="origin not allowed")
        return
    offered = list(websocket.scope.get("subprotocols") or [])
    principal: Principal | None = None
    header_token = protocol.token_from_subprotocols(offered)
    if header_token is not None:
        try:
            principal = await _authenticate(websocket, header_token)
        except AuthenticationError:
            live.metrics.disconnects.labels("unauthenticated").inc()
            await websocket.close(code=protocol.CLOSE_POLICY, reason="invalid access token")
            return
    # The token subprotocol is never echoed back: only the protocol name is selected.
    await websocket.accept(
        subprotocol=protocol.SUBPROTOCOL if protocol.SUBPROTOCOL in offered else None
    )
    try:
        if principal is None:
            principal = await _first_message_auth(websocket, live.settings)
        if not principal.has(READ_PERMISSION):
            await websocket.send_text(
                protocol.error("forbidden", f"missing permission {READ_PERMISSION}")
            )
            raise Closing(protocol.CLOSE_FORBIDDEN, "forbidden")
        await _session(websocket, principal, live)
    except Closing as closing:
        live.metrics.disconnects.labels(closing.reason).inc()
        with contextlib.suppress(Exception):
            if websocket.application_state != WebSocketState.DISCONNECTED:
                await websocket.close(code=closing.code, reason=closing.reason)
    except WebSocketDisconnect:
        live.metrics.disconnects.labels("client").inc()


async def _authenticate(websocket: WebSocket, token: str) -> Principal:
    principal: Principal = await websocket.app.state.authenticator.principal_from_access_token(
        token
    )
    return principal


async def _first_message_auth(websocket: WebSocket, settings: LiveSettings) -> Principal:
    try:
        text = await asyncio.wait_for(websocket.receive_text(), settings.auth_timeout_seconds)
        message = protocol.MESSAGE.validate_json(text)
    except TimeoutError:
        await websocket.send_text(protocol.error("unauthenticated", "send the auth message first"))
        raise Closing(protocol.CLOSE_UNAUTHENTICATED, "unauthenticated") from None
    except ValidationError:
        message = None
    if not isinstance(message, protocol.Auth):
        await websocket.send_text(
            protocol.error("unauthenticated", 'the first message must be {"type": "auth", ...}')
        )
        raise Closing(protocol.CLOSE_UNAUTHENTICATED, "unauthenticated")
    try:
        return await _authenticate(websocket, message.token)
    except AuthenticationError as exc:
        await websocket.send_text(protocol.error("unauthenticated", str(exc)))
        raise Closing(protocol.CLOSE_UNAUTHENTICATED, "unauthenticated") from None


async def _session(websocket: WebSocket, principal: Principal, live: LiveState) -> None:
    settings = live.settings
    connection = Connection(
        principal,
        websocket.send_text,
        live.metrics,
        send_timeout_seconds=settings.send_timeout_seconds,
        max_coalesced=settings.max_coalesced,
    )
    connection.send_control(
        protocol.encode(
            "ready",
            protocol=protocol.SUBPROTOCOL,
            shops=sorted(principal.shop_ids),
            ping_seconds=settings.ping_seconds,
        )
    )
    live.metrics.connections.inc()
    tasks = [
        asyncio.create_task(connection.run_sender(), name="ws-sender"),
        asyncio.create_task(_heartbeat(connection, settings.ping_seconds), name="ws-heartbeat"),
        asyncio.create_task(_receive(websocket, connection, live), name="ws-receive"),
    ]
    if principal.expires_at is not None:
        tasks.append(asyncio.create_task(_expire(principal.expires_at), name="ws-expiry"))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if isinstance(error, TooSlow):
                log.info("slow websocket client dropped", subject=principal.subject, why=str(error))
                raise Closing(protocol.CLOSE_TOO_SLOW, "too_slow")
            if error is not None:
                raise error
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        live.hub.detach(connection)
        live.metrics.connections.dec()


async def _expire(expires_at: datetime) -> None:
    """End the session when its access token expires: a revoked or demoted user must not keep
    a stream open; the client reconnects with a fresh token and `since` to fill the gap."""
    await asyncio.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()))
    raise Closing(protocol.CLOSE_UNAUTHENTICATED, "token_expired")


async def _heartbeat(connection: Connection, every_seconds: float) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        connection.send_control(protocol.encode("ping", at=protocol.now_iso()))


async def _receive(websocket: WebSocket, connection: Connection, live: LiveState) -> None:
    settings = live.settings
    while True:
        try:
            text = await asyncio.wait_for(websocket.receive_text(), settings.idle_timeout_seconds)
        except TimeoutError:
            raise Closing(protocol.CLOSE_IDLE, "idle") from None
        if len(text) > settings.max_message_bytes:
            connection.send_control(protocol.error("too_large", "message too large"))
            continue
        try:
            message = protocol.MESSAGE.validate_json(text)
        except ValidationError as exc:
            errors = [
                {"field": ".".join(str(p) for p in e["loc"]) or "(message)", "message": e["msg"]}
                for e in exc.errors()
            ]
            connection.send_control(
                protocol.error(
                    "invalid_message",
                    "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                    errors=errors,
                )
            )
            continue
        if isinstance(message, protocol.Subscribe):
            await _subscribe(connection, message, live)
        elif isinstance(message, protocol.Unsubscribe):
            found = live.hub.unsubscribe(connection, message.id)
            connection.send_control(
                protocol.encode("unsubscribed", id=message.id)
                if found
                else protocol.error(
                    "unknown_subscription", f"no subscription {message.id!r}", id=message.id
                )
            )
        elif isinstance(message, protocol.Ping):
            connection.send_control(protocol.encode("pong", at=protocol.now_iso()))
        elif isinstance(message, protocol.Auth):
            connection.send_control(
                protocol.error("already_authenticated", "already authenticated")
            )
        # A pong needs no answer: receiving it reset the idle timer.


async def _subscribe(connection: Connection, message: protocol.Subscribe, live: LiveState) -> None:
    settings = live.settings
    shops = frozenset(message.shops)
    # Tenant isolation: the whole subscription is refused if one shop is not the caller's, and
    # the answer is the same for unknown shops and other tenants' shops.
    hidden = sorted(shop for shop in shops if not connection.principal.can_see(shop))
    problem: str | None = None
    if hidden:
        problem = f"shop(s) not found: {', '.join(hidden)}"
        code = "forbidden"
    elif len(shops) > settings.max_shops:
        problem, code = f"at most {settings.max_shops} shops per subscription", "too_many_shops"
    elif (
        message.id not in connection.subscriptions
        and len(connection.subscriptions) >= settings.max_subscriptions
    ):
        problem = f"at most {settings.max_subscriptions} subscriptions per connection"
        code = "too_many_subscriptions"
    if problem is not None:
        connection.send_control(protocol.error(code, problem, id=message.id))
        return
    subscription = Subscription(message.id, shops, message.kpi_selection, message.interval)
    since = message.since
    oldest = datetime.now(UTC) - timedelta(seconds=settings.backfill_max_seconds)
    if since is not None and since < oldest:
        since = oldest
    if since is not None:
        connection.hold()
    try:
        live.hub.subscribe(connection, subscription)
        connection.send_control(
            protocol.encode(
                "subscribed",
                id=message.id,
                shops=sorted(shops),
                kpis=sorted(subscription.kpis) if subscription.kpis else [],
                interval=message.interval,
                since=since.isoformat() if since else None,
            )
        )
        if since is not None:
            await _replay(connection, subscription, since, live)
    finally:
        if since is not None:
            connection.release()


async def _replay(
    connection: Connection, subscription: Subscription, since: datetime, live: LiveState
) -> None:
    settings = live.settings
    snapshots, truncated = await read_backfill(
        live.pool,
        subscription.shops,
        subscription.kpis,
        subscription.interval,
        since,
        max_rows=settings.backfill_max_rows,
        buckets_per_message=settings.backfill_buckets_per_message,
    )
    for snapshot in snapshots:
        frame = snapshot.frame(subscription.id, subscription.interval, subscription.kpis)
        if frame is not None:
            connection.send_control(frame, "replay")
    connection.send_control(
        protocol.encode(
            "replayed", id=subscription.id, messages=len(snapshots), truncated=truncated
        )
    )
