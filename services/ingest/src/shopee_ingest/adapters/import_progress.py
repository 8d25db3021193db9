"""Progress of Seller Centre imports, kept in Redis so any ingest replica can answer for it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

from redis.asyncio import Redis

ImportStatus = Literal["queued", "reading", "publishing", "completed", "failed"]
PROGRESS_TTL_SECONDS = 7 * 24 * 3600
MAX_REPORTED_ERRORS = 200


@dataclass
class ImportProgress:
    import_id: str
    shop_id: str
    filename: str
    status: ImportStatus = "queued"
    export_kind: str | None = None
    rows_total: int = 0
    rows_rejected: int = 0
    events_total: int = 0
    events_published: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    detail: str | None = None
    organisation_id: str | None = None

    @property
    def percent(self) -> float:
        if self.status == "completed":
            return 100.0
        return (
            round(100.0 * self.events_published / self.events_total, 1)
            if self.events_total
            else 0.0
        )


class ImportProgressStore:
    def __init__(self, redis: Redis, prefix: str = "ingest:import:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def save(self, progress: ImportProgress) -> None:
        await self._redis.set(
            self._prefix + progress.import_id, json.dumps(asdict(progress)), ex=PROGRESS_TTL_SECONDS
        )

    async def load(self, import_id: str) -> ImportProgress | None:
        raw = await self._redis.get(self._prefix + import_id)
        return None if raw is None else ImportProgress(**json.loads(raw))

    async def check(self) -> None:
        await self._redis.ping()
