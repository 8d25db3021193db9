"""Reading a test's private topics back, for checking what was published."""

from __future__ import annotations

import asyncio
import time

from aiokafka import ConsumerRecord

from shopee_common.kafka import make_consumer


async def read_topics(
    bootstrap: str,
    topics: list[str],
    expected: int | None = None,
    idle_seconds: float = 3.0,
    timeout_seconds: float = 60.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record on `topics` from the start: stop at `expected` records, or after the topics
    have been quiet for `idle_seconds` (to prove that nothing else arrives)."""
    consumer = make_consumer(
        *topics, bootstrap_servers=bootstrap, group_id=None, client_id="test-reader"
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + timeout_seconds
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=5_000)
            fetched = [record for part in batch.values() for record in part]
            records.extend(fetched)
            if fetched:
                quiet_since = time.monotonic()
            if expected is not None and len(records) >= expected:
                break
            if expected is None and time.monotonic() - quiet_since > idle_seconds:
                break
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return records
