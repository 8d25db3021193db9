"""The main loop writes batches one after another, in the order read, and commits a batch's
offsets only after its write finished; preparing the next batch overlaps the write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, cast

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
    """Hands out `batches` in turn; asked for what is already there (no wait), it hands out the
    next one only if `arrives_during_writes`."""

    def __init__(
        self, batches: list[list[Record]], log: list[str], arrives_during_writes: bool = False
    ) -> None:
        self._batches = batches
        self._log = log
        self._arrives_during_writes = arrives_during_writes
        self.drained = asyncio.Event()

    def on_revoke(self, callback: Callable[[], Awaitable[None]]) -> None:
        pass

    async def next_batch(self, max_records: int, within_seconds: float) -> list[Record]:
        if within_seconds == 0 and not self._arrives_during_writes:
            return []
        if not self._batches:
            self.drained.set()
            await asyncio.sleep(0.01)
            return []
        batch = self._batches.pop(0)
        self._log.append(f"read {batch[0].offset}")
        return batch

    def mark_stored(self, records: Sequence[Record]) -> None:
        self._log.append(f"stored {next_offsets(records)[TopicPartition('events.orders', 0)]}")

    async def commit(self, records: Sequence[Record]) -> None:
        self._log.append(f"commit {next_offsets(records)[TopicPartition('events.orders', 0)]}")


class FakeProcessor:
    def __init__(self, log: list[str]) -> None:
        self._log = log
        self.writing = False

    async def prepare(self, messages: Sequence[Record]) -> Prepared:
        self._log.append(f"prepare {messages[0].offset}")
        return Prepared(list(messages))

    async def apply(self, prepared: Prepared) -> AppliedBatch:
        assert not self.writing, "two batches written at once"
        self.writing = True
        offsets = ",".join(str(r.offset) for r in prepared.messages)
        self._log.append(f"write {offsets}")
        await asyncio.sleep(0.02)
        self._log.append(f"written {offsets}")
        self.writing = False
        return AppliedBatch()


class Prepared(NamedTuple):
    messages: list[Record]

    def then(self, later: Prepared) -> Prepared:
        return Prepared(self.messages + later.messages)


def test_next_offsets_are_one_past_the_newest_record_per_partition() -> None:
    offsets = next_offsets([record(0, 5), record(1, 2), record(0, 7), record(0, 6)])
    assert offsets == {
        TopicPartition("events.orders", 0): 8,
        TopicPartition("events.orders", 1): 3,
    }


async def run_until_drained(source: FakeSource, log: list[str]) -> dict[str, int]:
    """Run the loop over everything `source` has; each log entry's position."""
    loop = EventLoop(
        cast(EventSource, source),
        cast(BatchProcessor, FakeProcessor(log)),
        batch_max=10,
        within_seconds=0.01,
    )
    loop.start()
    await asyncio.wait_for(source.drained.wait(), 5)
    await loop.stop()
    return {entry: index for index, entry in enumerate(log)}


async def test_offsets_are_committed_only_after_their_batch_is_written() -> None:
    log: list[str] = []
    source = FakeSource([[record(0, 0), record(0, 1)], [record(0, 2)], [record(0, 3)]], log)
    position = await run_until_drained(source, log)
    assert [e for e in log if e.startswith("write ")] == ["write 0,1", "write 2", "write 3"]
    assert [e for e in log if e.startswith("commit")] == ["commit 2", "commit 3", "commit 4"]
    for written, commit in (("written 0,1", "commit 2"), ("written 2", "commit 3")):
        assert position[written] < position[commit]
    assert position["written 3"] < position["commit 4"]
    # A batch counts as stored the moment its write ends, before its offsets are committed
    # (after the next read): consumer lag does not wait for that.
    for written, stored in (("written 0,1", "stored 2"), ("written 2", "stored 3")):
        assert position[stored] == position[written] + 1
    assert position["stored 2"] < position["commit 2"]
    # The next batch is prepared while the previous one is being written.
    assert position["prepare 2"] < position["written 0,1"]
    assert position["prepare 3"] < position["written 2"]


async def test_what_arrives_while_a_batch_is_written_joins_the_next_one() -> None:
    log: list[str] = []
    batches = [[record(0, 0)], [record(0, 1)], [record(0, 2), record(0, 3)], [record(0, 4)]]
    source = FakeSource(batches, log, arrives_during_writes=True)
    position = await run_until_drained(source, log)
    # What is there when a batch is about to be written joins it: batch 1 (already there when
    # batch 0 was read) and batch 4 (arrived while "0,1" was written) each join the batch before.
    assert [e for e in log if e.startswith("write ")] == ["write 0,1", "write 2,3,4"]
    assert [e for e in log if e.startswith("commit")] == ["commit 2", "commit 5"]
    assert position["prepare 2"] < position["written 0,1"] < position["prepare 4"]
    assert position["prepare 4"] < position["write 2,3,4"]


async def test_lag_counts_a_batch_stored_while_it_was_being_measured() -> None:
    source = EventSource(["events.orders"], "127.0.0.1:1", "lag-test", 10.0)
    first, second = TopicPartition("events.orders", 0), TopicPartition("events.orders", 1)

    class Consumer:
        def assignment(self) -> set[TopicPartition]:
            return {first, second}

        async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
            return {first: 10, second: 5}

        async def committed(self, partition: TopicPartition) -> int:
            # The batch up to partition 0's end is stored while committed offsets are asked:
            # the gauge set from this measure would otherwise keep 10 records of lag that are
            # not there until the next tick.
            source.mark_stored([record(0, 9)])
            return 5 if partition == second else 0

    source._consumer = Consumer()  # type: ignore[assignment]
    assert await source.lag() == {first: 0, second: 0}
