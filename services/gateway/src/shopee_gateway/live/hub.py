"""Fan-out: which connections watch which shop, and each connection's outbox.

Backpressure: `Hub.publish` never waits. Each connection keeps at most one pending snapshot per
shop (a newer one replaces the older, counted as coalesced) plus an ordered queue of control
frames, and its own sender task writes them to the socket. A client that cannot take a frame
within `send_timeout_seconds`, or that had `max_coalesced` snapshots replaced without taking a
frame, is disconnected. One slow client therefore costs the others nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shopee_gateway.live.metrics import LiveMetrics
from shopee_gateway.live.snapshots import Interval, LiveSnapshot
from shopee_gateway.security.principal import Principal

SendText = Callable[[str], Awaitable[None]]


class TooSlow(Exception):
    """The client did not keep up; the session ends with CLOSE_TOO_SLOW."""


@dataclass(frozen=True)
class Subscription:
    id: str
    shops: frozenset[str]
    kpis: frozenset[str] | None
    interval: Interval


class Connection:
    """One client's subscriptions and outbox; `run_sender` is its sender task."""

    def __init__(
        self,
        principal: Principal,
        send_text: SendText,
        metrics: LiveMetrics,
        *,
        send_timeout_seconds: float,
        max_coalesced: int,
    ) -> None:
        self.principal = principal
        self.subscriptions: dict[str, Subscription] = {}
        self._send_text = send_text
        self._metrics = metrics
        self._sent = {
            kind: metrics.messages_sent.labels(kind) for kind in ("snapshot", "replay", "control")
        }
        self._send_timeout = send_timeout_seconds
        self._max_coalesced = max_coalesced
        self._control: deque[tuple[str, str]] = deque()
        self._pending: dict[str, LiveSnapshot] = {}
        self._coalesced_since_send = 0
        # While a resume is being read, live snapshots wait so that they follow the replay.
        self._holds = 0
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self.too_slow = False

    @property
    def shops(self) -> frozenset[str]:
        """Every shop some subscription of this connection watches."""
        return frozenset().union(*(s.shops for s in self.subscriptions.values()))

    def send_control(self, frame: str, kind: str = "control") -> None:
        """Queue a frame that must not be dropped (replies, errors, pings, replays), in order."""
        self._control.append((frame, kind))
        self._wake.set()

    def offer(self, snapshot: LiveSnapshot) -> None:
        """Queue a live snapshot, replacing an unsent older one of the same shop. Never waits."""
        if snapshot.shop_id in self._pending:
            self._metrics.coalesced.inc()
            self._coalesced_since_send += 1
            if self._coalesced_since_send >= self._max_coalesced and not self.too_slow:
                self.too_slow = True
                # The sender may be stuck in a send: interrupt it rather than wait it out.
                if self._sender is not None:
                    self._sender.cancel()
        self._pending[snapshot.shop_id] = snapshot
        self._wake.set()

    def hold(self) -> None:
        """Keep live snapshots back (control frames still go) until `release`."""
        self._holds += 1

    def release(self) -> None:
        self._holds -= 1
        self._wake.set()

    async def run_sender(self) -> None:
        """Write queued frames until cancelled; raises TooSlow when the client falls behind."""
        self._sender = asyncio.current_task()
        try:
            await self._send_queued()
        except asyncio.CancelledError:
            if self.too_slow:
                raise TooSlow(f"{self._coalesced_since_send} snapshots replaced unsent") from None
            raise

    async def _send_queued(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while True:
                if self.too_slow:
                    raise TooSlow(f"{self._coalesced_since_send} snapshots replaced unsent")
                if self._control:
                    frame, kind = self._control.popleft()
                    await self._send(frame, kind)
                elif self._pending and not self._holds:
                    shop_id = next(iter(self._pending))
                    snapshot = self._pending.pop(shop_id)
                    for subscription in list(self.subscriptions.values()):
                        if shop_id not in subscription.shops:
                            continue
                        rendered = snapshot.frame(
                            subscription.id, subscription.interval, subscription.kpis
                        )
                        if rendered is not None:
                            await self._send(rendered, "snapshot")
                else:
                    break

    async def _send(self, frame: str, kind: str) -> None:
        # asyncio.timeout arms a timer on this task; wait_for would start a task per frame.
        try:
            async with asyncio.timeout(self._send_timeout):
                await self._send_text(frame)
        except TimeoutError:
            raise TooSlow(f"one frame took over {self._send_timeout} s to send") from None
        self._coalesced_since_send = 0
        self._sent[kind].inc()


class Hub:
    """Shop -> connections index; `publish` hands a snapshot to every watcher without waiting."""

    def __init__(self) -> None:
        self._watchers: dict[str, set[Connection]] = {}

    def subscribe(self, connection: Connection, subscription: Subscription) -> None:
        """Add (or replace) a subscription of `connection` and watch its shops."""
        connection.subscriptions[subscription.id] = subscription
        for shop in subscription.shops:
            self._watchers.setdefault(shop, set()).add(connection)

    def unsubscribe(self, connection: Connection, subscription_id: str) -> bool:
        """Drop one subscription; stop watching shops no other subscription of it needs."""
        subscription = connection.subscriptions.pop(subscription_id, None)
        if subscription is None:
            return False
        self._unwatch(connection, subscription.shops - connection.shops)
        return True

    def detach(self, connection: Connection) -> None:
        """Forget a closed connection."""
        shops = connection.shops
        connection.subscriptions.clear()
        self._unwatch(connection, shops)

    def publish(self, snapshot: LiveSnapshot) -> int:
        """Offer the snapshot to every connection watching its shop; return how many."""
        watchers = self._watchers.get(snapshot.shop_id, ())
        for connection in watchers:
            connection.offer(snapshot)
        return len(watchers)

    def watchers(self, shop_id: str) -> int:
        return len(self._watchers.get(shop_id, ()))

    def _unwatch(self, connection: Connection, shops: frozenset[str]) -> None:
        for shop in shops:
            watchers = self._watchers.get(shop)
            if watchers is not None:
                watchers.discard(connection)
                if not watchers:
                    del self._watchers[shop]
