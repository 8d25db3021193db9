"""The main loop writes batches one after another, in the order read, and commits a batch's
offsets only after its write finished; preparing the next batch overlaps the write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from aiokafka import ConsumerRecord, TopicPartition

from shopee_metrics.adapters.event_source import EventSource, Record, next_offsets
from shopee_metrics.adapters.store import AppliedBatch
from shopee_metrics.processor import BatchProcessor
from shopee_metrics.stream import EventLoop


def record(partition: int, offset: int) -> Record:
    return ConsumerRecord(
        topic="events.orders",
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"shop",
        value=b"",
        checksum=None,
        serialized_key_size=4,
        serialized_value_size=0,
        headers=(),
    )


class FakeSource:
    def __init__(self, batches: list[list[Record]], log: list[str]) -> None:
        self._batches = batches
        self._log = log
        self.drained = asyncio.Event()

    def on_revoke(self, callback: Callable[[], Awaitable[None]]) -> None:
        pass

    async def next_batch(self, max_records: int, within_seconds: float) -> list[Record]:
        if not self._batches:
            self.drained.set()
            await asyncio.sleep(0.01)
            return []
        batch = self._batches.pop(0)
        self._log.append(f"read {batch[0].offset}")
        return batch

    async def commit(self, records: Sequence[Record]) -> None:
        self._log.append(f"commit {next_offsets(records)[TopicPartition('events.orders', 0)]}")


class FakeProcessor:
    def __init__(self, log: list[str]) -> None:
        self._log = log
        self.writing = False

    async def prepare(self, messages: Sequence[Record]) -> Any:
        self._log.append(f"prepare {messages[0].offset}")
        return messages

    async def apply(self, prepared: Sequence[Record]) -> AppliedBatch:
        assert not self.writing, "two batches written at once"
        self.writing = True
        self._log.append(f"write {prepared[0].offset}")
        await asyncio.sleep(0.02)
        self._log.append(f"written {prepared[0].offset}")
        self.writing = False
        return AppliedBatch()


def test_next_offsets_are_one_past_the_newest_record_per_partition() -> None:
    offsets = next_offsets([record(0, 5), record(1, 2), record(0, 7), record(0, 6)])
    assert offsets == {
        TopicPartition("events.orders", 0): 8,
        TopicPartition("events.orders", 1): 3,
    }


async def test_offsets_are_committed_only_after_their_batch_is_written() -> None:
    log: list[str] = []
    source = FakeSource([[record(0, 0), record(0, 1)], [record(0, 2)], [record(0, 3)]], log)
    loop = EventLoop(
        cast(EventSource, source),
        cast(BatchProcessor, FakeProcessor(log)),
        batch_max=10,
        within_seconds=0.01,
    )
    loop.start()
    await asyncio.wait_for(source.drained.wait(), 5)
    await loop.stop()
    position = {entry: index for index, entry in enumerate(log)}
    assert [e for e in log if e.startswith("write ")] == ["write 0", "write 2", "write 3"]
    assert [e for e in log if e.startswith("commit")] == ["commit 2", "commit 3", "commit 4"]
    for written, commit in (("written 0", "commit 2"), ("written 2", "commit 3")):
        assert position[written] < position[commit]
    assert position["written 3"] < position["commit 4"]
    # The next batch is prepared while the previous one is being written.
    assert position["prepare 2"] < position["written 0"]
    assert position["prepare 3"] < position["written 2"]
