"""The database side of `shopee-forecast train` and `evaluate`: shops and series from PostgreSQL,
fits in the process pool, a rich progress bar."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg
from rich.progress import Progress

from shopee_forecast.adapters.store import ForecastStore, Shop
from shopee_forecast.domain.selection import Backtest, NotEnoughHistory, backtest, plan_backtest
from shopee_forecast.domain.series import Target
from shopee_forecast.settings import ForecastSettings
from shopee_forecast.training import (
    DEFAULT_CHURN_HORIZON,
    ChurnTask,
    Outcome,
    SeriesTask,
    Trainer,
    TrainingOptions,
    make_executor,
)
from shopee_models.registry import ModelRegistry, ModelVersion


@asynccontextmanager
async def _trainer(settings: ForecastSettings) -> AsyncIterator[Trainer]:
    pool = await asyncpg.create_pool(settings.database_url.get_secret_value(), max_size=4)
    try:
        store = ForecastStore(pool)
        yield Trainer(
            store,
            ModelRegistry(pool, settings.forecast_artefact_root),
            make_executor(settings.train_processes),
            TrainingOptions.of(settings),
        )
    finally:
        await pool.close()


async def _shops(store: ForecastStore, shop_ids: Sequence[str]) -> list[Shop]:
    shops = []
    for shop_id in shop_ids or await store.shop_ids():
        shop = await store.shop(shop_id)
        if shop is None:
            raise SystemExit(f"shop {shop_id!r} is not registered")
        shops.append(shop)
    return shops


async def _tasks(
    trainer: Trainer, shop: Shop, targets: Sequence[Target], products: int
) -> list[SeriesTask]:
    keys = await trainer.shop_keys(shop, targets)
    shop_level = [k for k in keys if not k.product_id]
    per_product = [k for k in keys if k.product_id]
    if products > 0:
        per_product = per_product[:products]
    return await trainer.series_tasks(shop, shop_level + per_product)


async def train_shops(
    settings: ForecastSettings,
    shop_ids: Sequence[str],
    targets: Sequence[Target],
    churn: bool,
    products: int,
    progress: Progress,
) -> list[tuple[Outcome, ModelVersion | None]]:
    """Train and register the series (and churn models) of the shops, with a progress bar."""
    async with _trainer(settings) as trainer:
        tasks: list[SeriesTask | ChurnTask] = []
        for shop in await _shops(trainer.store, shop_ids):
            tasks += await _tasks(trainer, shop, targets, products)
            if churn:
                tasks.append(await trainer.churn_task(shop, DEFAULT_CHURN_HORIZON))
        with progress:
            bar = progress.add_task("training", total=len(tasks))

            async def advance(_outcome: Outcome, _version: ModelVersion | None) -> None:
                progress.advance(bar)

            return await trainer.run(tasks, on_done=advance)


async def evaluate_shops(
    settings: ForecastSettings,
    shop_ids: Sequence[str],
    targets: Sequence[Target],
    products: int,
    horizon: int,
    folds: int,
    progress: Progress,
) -> list[tuple[str, Backtest | None]]:
    """Backtest every model on each series of the shops (nothing registered)."""
    async with _trainer(settings) as trainer:
        tasks: list[SeriesTask] = []
        for shop in await _shops(trainer.store, shop_ids):
            tasks += await _tasks(trainer, shop, targets, products)
        rows: list[tuple[str, Backtest | None]] = []
        loop = asyncio.get_running_loop()
        with progress:
            bar = progress.add_task("backtesting", total=len(tasks))
            for task in tasks:
                try:
                    plan = plan_backtest(len(task.history.frame), horizon, folds)
                    result = await loop.run_in_executor(
                        trainer.executor, backtest, task.history, plan
                    )
                    rows.append((task.key.model_name, result))
                except NotEnoughHistory as exc:
                    rows.append((f"{task.key.model_name} (skipped: {exc})", None))
                progress.advance(bar)
        return rows
