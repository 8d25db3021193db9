"""Training jobs of the forecast service (table forecast_training_jobs, written by that service).

GetTrainingJob answers any job id and its answer does not name the shop, so the gateway reads
the job's shop here to keep each organisation to its own jobs.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

# A job of every shop (shop_id NULL: the schedule's, or a Retrain without a shop) matches no list.
_IN_SHOPS = """
SELECT EXISTS (
    SELECT 1 FROM forecast_training_jobs WHERE id = $1 AND shop_id = ANY($2::text[])
)
"""


class TrainingJobsRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def visible(self, job_id: UUID, shop_ids: Iterable[str]) -> bool:
        """Whether the job exists and retrains one of `shop_ids`."""
        found: bool = await self._pool.fetchval(_IN_SHOPS, job_id, sorted(shop_ids))
        return found
