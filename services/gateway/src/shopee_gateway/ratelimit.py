"""Rate limits per user, per API key and per login attempt, kept in Redis by `limits`.

The sliding-window counter keeps two counters per caller (not one entry per hit as a moving
window would), so a busy key costs O(1) Redis memory; its error is bounded by the window.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from shopee_gateway.errors import ProblemError
from shopee_gateway.security.principal import Principal


class RateLimits:
    """`check_principal` before serving an authenticated request, `check_login` before a
    password grant; both raise a 429 problem with Retry-After when over the limit."""

    def __init__(self, redis_url: str, key_prefix: str, per_caller: str, per_login: str) -> None:
        self.storage = RedisStorage(
            "async+" + redis_url, implementation="redispy", key_prefix=f"{key_prefix}limits"
        )
        self._limiter = SlidingWindowCounterRateLimiter(self.storage)
        self._per_caller = parse(per_caller)
        self._per_login = parse(per_login)

    async def check_principal(self, principal: Principal) -> None:
        """Count one request of `principal` (a user or an API key)."""
        await self._hit(self._per_caller, "caller", principal.subject)

    async def check_login(self, email: str, client: str) -> None:
        """Count one password attempt for the e-mail and for the client address."""
        await self._hit(self._per_login, "login-email", email.lower())
        await self._hit(self._per_login, "login-client", client)

    async def _hit(self, item: RateLimitItem, *identifiers: str) -> None:
        if await self._limiter.hit(item, *identifiers):
            return
        stats = await self._limiter.get_window_stats(item, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise ProblemError(
            429,
            f"rate limit of {item} exceeded; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
