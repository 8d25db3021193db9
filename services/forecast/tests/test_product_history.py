"""A product's history starts when it first appeared, not on the shop's first day: a product
listed three days ago has three days, too few to forecast, which Forecast and AdviseInventory
say (FAILED_PRECONDITION) and training records as a skipped series."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest

from shopee.forecast.v1 import forecast_pb2
from shopee_common.grpc_server import FailedPrecondition
from shopee_forecast.adapters.store import Shop
from shopee_forecast.domain.series import SeriesKey, Target
from shopee_forecast.predictions import Predictor
from shopee_forecast.retraining import JobRunner
from shopee_forecast.servicer import ACTIVE_PRODUCT, ForecastServicer
from shopee_forecast.training import Trainer, TrainingOptions

SHOP = Shop("s1", "Asia/Jakarta", "ID")
FIRST, LAST = date(2026, 1, 1), date(2026, 6, 30)
NEW = "P-new"  # first seen 3 days before the end, sold on its first day only
OLD = "P-old"  # sold since the shop's first day
UNSEEN = "P-unseen"  # listed, never viewed or sold


class _Store:
    async def history_bounds(
        self, shop: Shop, source: str | None = None
    ) -> tuple[date, date] | None:
        return FIRST, LAST

    async def product_first_day(self, shop_id: str, product_id: str) -> date | None:
        return {NEW: LAST - timedelta(days=2), OLD: FIRST}.get(product_id)

    async def product_first_days(self, shop_id: str, product_ids: list[str]) -> dict[str, date]:
        firsts = {p: await self.product_first_day(shop_id, p) for p in product_ids}
        return {p: first for p, first in firsts.items() if first is not None}

    async def product_units_since(
        self, shop_id: str, product_ids: list[str], since: date
    ) -> dict[str, dict[date, float]]:
        return {
            p: {day: units for day, units in await self.daily_values(shop_id, p, "units")}
            for p in product_ids
        }

    async def daily_values(
        self, shop_id: str, product_id: str, kpi: str
    ) -> list[tuple[date, float]]:
        if product_id == NEW:
            return [(LAST - timedelta(days=2), 2.0)]
        days = (LAST - FIRST).days + 1
        return [(FIRST + timedelta(days=i), float(1 + i % 2)) for i in range(days)]

    async def campaigns(self, shop_id: str) -> list[Any]:
        return []

    async def shop(self, shop_id: str) -> Shop | None:
        return SHOP

    async def sold_products(self, shop_id: str) -> list[str]:
        return [NEW]

    async def catalog(self, shop_id: str) -> dict[str, tuple[int, str]]:
        return {NEW: (10, ACTIVE_PRODUCT), OLD: (50, ACTIVE_PRODUCT)}


class _Registry:
    """No model registered yet."""

    async def active(self, name: str) -> None:
        return None

    async def active_versions(self, prefix: str) -> dict[str, Any]:
        return {}


@pytest.fixture
def trainer() -> Any:
    # A short series is rejected before any model is fitted: threads are enough.
    with ThreadPoolExecutor(1) as executor:
        yield Trainer(_Store(), _Registry(), executor, TrainingOptions())  # type: ignore[arg-type]


async def test_a_product_series_starts_when_the_product_first_appeared(trainer: Trainer) -> None:
    keys = [
        SeriesKey("s1", Target.GMV),
        SeriesKey("s1", Target.UNITS, OLD),
        SeriesKey("s1", Target.UNITS, NEW),
        SeriesKey("s1", Target.UNITS, UNSEEN),
    ]
    shop, old, new, unseen = [t.history.frame for t in await trainer.series_tasks(SHOP, keys)]
    assert len(shop) == len(old) == (LAST - FIRST).days + 1
    # Its days without sales since it appeared are real zeros.
    assert new["ds"].dt.date.tolist() == [LAST - timedelta(days=d) for d in (2, 1, 0)]
    assert new["y"].tolist() == [2.0, 0.0, 0.0]
    assert unseen.empty


async def test_forecasting_a_product_listed_three_days_ago_says_how_much_history_it_needs(
    trainer: Trainer,
) -> None:
    predictor = Predictor(_Store(), _Registry(), cache=None, trainer=trainer)  # type: ignore[arg-type]
    with pytest.raises(FailedPrecondition) as raised:
        await predictor.forecast(SHOP, SeriesKey("s1", Target.UNITS, NEW), 30)
    assert (
        raised.value.message == "forecast/s1/units/P-new: needs at least 63 days of history, has 3"
    )


async def test_inventory_advice_refuses_a_product_listed_three_days_ago(trainer: Trainer) -> None:
    predictor = Predictor(_Store(), _Registry(), cache=None, trainer=trainer)  # type: ignore[arg-type]
    servicer = ForecastServicer(_Store(), predictor, jobs=None, runner=None, churn_requests=None)  # type: ignore[arg-type]
    with pytest.raises(FailedPrecondition) as raised:
        await servicer.AdviseInventory(
            forecast_pb2.InventoryRequest(shop_id="s1", product_ids=[OLD, NEW]),
            None,  # type: ignore[arg-type]
        )
    assert (
        raised.value.message == "forecast/s1/units/P-new: needs at least 28 days of history, has 3"
    )
    # Asked for every active product, the shop still gets advice on the others.
    every = await servicer.AdviseInventory(forecast_pb2.InventoryRequest(shop_id="s1"), None)  # type: ignore[arg-type]
    assert [item.product_id for item in every.items] == [OLD]
    assert every.items[0].mean_daily_demand == pytest.approx(1.5)


async def test_training_skips_a_product_listed_three_days_ago_and_says_why(
    trainer: Trainer, memory_jobs: Any
) -> None:
    runner = JobRunner(_Store(), memory_jobs, trainer, churn_requests=None)  # type: ignore[arg-type]
    await runner.start("s1", [Target.UNITS.value], "schedule")
    await runner.wait()
    assert memory_jobs.succeeded
    assert memory_jobs.text == (
        "1 skipped: forecast/s1/units/P-new: needs at least 63 days of history, has 3"
    )
