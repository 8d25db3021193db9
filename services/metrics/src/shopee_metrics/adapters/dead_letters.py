"""Poison messages to `events.dlq`, with the reason and where they came from in headers."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from shopee_common.events import FieldError


@dataclass(frozen=True, slots=True)
class DeadLetter:
    value: bytes
    key: bytes | None
    headers: list[tuple[str, bytes]]
    reason: str
    errors: list[FieldError]
    source_topic: str
    source_partition: int
    source_offset: int


def dlq_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The original headers plus `dlq.*` headers naming the reason and the source record."""
    errors = [{"field": e.field, "message": e.message} for e in letter.errors]
    own = [
        ("dlq.reason", letter.reason.encode()),
        ("dlq.errors", json.dumps(errors).encode()),
        ("dlq.source.topic", letter.source_topic.encode()),
        ("dlq.source.partition", str(letter.source_partition).encode()),
        ("dlq.source.offset", str(letter.source_offset).encode()),
    ]
    return [(k, v) for k, v in letter.headers if not k.startswith("dlq.")] + own


class DeadLetterPublisher:
    """Sends to the DLQ and waits for the acks, before the source offsets may be committed."""

    def __init__(self, producer: Any, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(self, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        pending = [
            await self._producer.send(
                self._topic,
                key=letter.key,
                value=letter.value,
                partition=None,
                timestamp=None,
                headers=dlq_headers(letter),
            )
            for letter in letters
        ]
        await asyncio.gather(*pending)
