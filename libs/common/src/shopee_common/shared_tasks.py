"""Work that outlives the requests waiting for it: one task per key, shared by concurrent callers.

A gRPC handler whose caller gives up (the gateway's deadline passed) is cancelled. Work it started
for everyone, such as training a model on demand, must not be: it finishes, stores its result, and
the next caller finds it done instead of starting over.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

T = TypeVar("T")


class SharedTasks:
    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[Any]] = {}

    async def run(self, key: str, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """The result of the task running under `key`, started from `work` if none is. A caller
        cancelled while it waits does not cancel the task."""
        return await asyncio.shield(self.start(key, work))

    def start(self, key: str, work: Callable[[], Coroutine[Any, Any, T]]) -> asyncio.Task[T]:
        """The task running under `key`, started from `work` if none is (nobody need wait)."""
        task = self._running.get(key)
        if task is None:
            task = asyncio.create_task(work(), name=key)
            self._running[key] = task
            task.add_done_callback(functools.partial(self._forget, key))
        return cast("asyncio.Task[T]", task)

    @property
    def running(self) -> list[str]:
        return list(self._running)

    def cancel_all(self) -> None:
        """At shutdown, once no caller waits for them."""
        for task in self._running.values():
            task.cancel()

    def _forget(self, key: str, task: asyncio.Task[Any]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            # Mark a failure as seen even when every caller had given up waiting.
            task.exception()
