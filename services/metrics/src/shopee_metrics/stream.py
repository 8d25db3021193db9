"""The job's main loop: read a batch, prepare it while the previous one is being written, then
write it; commit a batch's offsets only after its transaction committed.

Batches are written strictly one after another, in the order read (lateness and watermarks see
exactly the sequence a one-batch-at-a-time loop would); only the CPU work of preparing batch N+1
overlaps the database work of batch N, and what arrived meanwhile is added to batch N+1 before it
is written. A crash at any point replays from the last committed offsets, and the replayed events
that did commit are found in `event_ids` and add nothing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

import structlog

from shopee_metrics.adapters.event_source import EventSource, Record
from shopee_metrics.adapters.store import AppliedBatch
from shopee_metrics.processor import BatchProcessor, PreparedBatch

log = structlog.get_logger("metrics.stream")
EXIT_LOOP_FAILED = 71


class EventLoop:
    """Runs `source` through `processor` until stopped."""

    def __init__(
        self,
        source: EventSource,
        processor: BatchProcessor,
        batch_max: int,
        within_seconds: float,
    ) -> None:
        self._source = source
        self._processor = processor
        self._batch_max = batch_max
        self._within = within_seconds
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._writing: asyncio.Task[AppliedBatch] | None = None
        self._writing_records: Sequence[Record] = ()
        source.on_revoke(self.finish_write)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run_or_exit())

    async def stop(self) -> None:
        """Stop reading; finish and commit the batch being written."""
        self._stopping.set()
        if self._task is not None:
            await asyncio.shield(self._task)

    async def finish_write(self) -> None:
        """Wait for the batch being written, then commit its offsets."""
        writing, records = self._writing, self._writing_records
        if writing is None:
            return
        await asyncio.shield(writing)
        if self._writing is writing:
            self._writing, self._writing_records = None, ()
        await self._source.commit(records)

    async def _run_or_exit(self) -> None:
        try:
            await self._run()
        except Exception:
            # A bug in preparing a batch: nothing unwritten was committed; restart and replay.
            log.critical("event loop failed; exiting", exc_info=True)
            os._exit(EXIT_LOOP_FAILED)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            records = await self._source.next_batch(self._batch_max, self._within)
            if not records:
                await self.finish_write()
                continue
            prepared = await self._processor.prepare(records)
            await self.finish_write()
            if len(records) < self._batch_max:
                # What arrived while the previous batch was written joins this one, instead of
                # waiting a whole write more: with events of many small shops a write takes a
                # good part of a second, and batches cut before it had left each event waiting
                # for two or three writes in turn.
                later = await self._source.next_batch(self._batch_max - len(records), 0.0)
                if later:
                    prepared = prepared.then(await self._processor.prepare(later))
                    records = [*records, *later]
            self._writing_records = records
            self._writing = asyncio.ensure_future(self._write(prepared, records))
        await self.finish_write()

    async def _write(self, prepared: PreparedBatch, records: Sequence[Record]) -> AppliedBatch:
        applied = await self._processor.apply(prepared)
        # Durable from here: consumer lag and detection's "read to the end" count it at once,
        # not only once its offsets are committed after the next read (up to a read's wait later).
        self._source.mark_stored(records)
        return applied
