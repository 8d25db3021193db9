"""The shared model registry against the real PostgreSQL: versions, activation, integrity."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from shopee_db import upgrade
from shopee_db.testing import temporary_database
from shopee_models.registry import ArtefactIntegrityError, ModelRegistry


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    with temporary_database(database_url) as dsn:
        upgrade(dsn)
        connection_pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
        try:
            yield connection_pool
        finally:
            await connection_pool.close()


async def test_register_activate_load_and_rollback(pool: asyncpg.Pool, tmp_path: Path) -> None:
    registry = ModelRegistry(pool, str(tmp_path / "models"))
    assert await registry.active("forecast/shop-a/gmv") is None

    first = await registry.register(
        "forecast/shop-a/gmv",
        kind="sales_forecast",
        model={"coefficients": [1.0, 2.0]},
        metadata={"model": "ets"},
        backtest_scores={"mape": 0.12, "mape_of_zero_actuals": float("nan")},
    )
    second = await registry.register(
        "forecast/shop-a/gmv", kind="sales_forecast", model={"coefficients": [3.0]}
    )
    await registry.register("forecast/shop-b/gmv", kind="sales_forecast", model=[0])

    active = await registry.active("forecast/shop-a/gmv")
    assert active is not None
    assert active.version == second.version
    assert await registry.load(active) == {"coefficients": [3.0]}
    assert first.metadata["model"] == "ets"
    # PostgreSQL's JSON has no NaN: a score that is not a number is kept as null.
    assert first.backtest_scores == {"mape": 0.12, "mape_of_zero_actuals": None}

    shop_a = await registry.versions("forecast/shop-a/")
    assert [v.version for v in shop_a] == [second.version, first.version]
    assert [v.status for v in shop_a] == ["active", "retired"]
    # LIKE wildcards in a prefix are taken literally.
    assert await registry.versions("forecast/shop_a") == []

    rolled_back = await registry.activate("forecast/shop-a/gmv", first.version)
    assert rolled_back.status == "active"
    statuses = {v.version: v.status for v in await registry.versions("forecast/shop-a/")}
    assert statuses == {first.version: "active", second.version: "retired"}
    # One read of the active version of many models: each model's, none retired.
    actives = await registry.active_versions("forecast/shop-")
    assert {name: v.version for name, v in actives.items()} == {
        "forecast/shop-a/gmv": first.version,
        "forecast/shop-b/gmv": (await registry.versions("forecast/shop-b/"))[0].version,
    }
    assert await registry.active_versions("forecast/shop_") == {}
    with pytest.raises(LookupError):
        await registry.activate("forecast/shop-a/gmv", "no-such-version")


async def test_tampered_artefact_is_refused(pool: asyncpg.Pool, tmp_path: Path) -> None:
    registry = ModelRegistry(pool, str(tmp_path))
    version = await registry.register("insights/shop-a/als", kind="recommender", model=[1, 2, 3])
    await asyncio.to_thread(Path(version.artefact_uri).write_bytes, b"not the bytes it wrote")
    with pytest.raises(ArtefactIntegrityError):
        await ModelRegistry(pool, str(tmp_path)).load(version)
