"""The service layer with an in-memory registry, repository and claims: train when missing, once,
even when the caller gives up; scored texts cached; one replica per firing of the refresh
schedule."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from shopee_common.grpc_server import FailedPrecondition, NotFound
from shopee_insights.bootstrap import refresh_scheduler
from shopee_insights.domain.sentiment import TextScore
from shopee_insights.domain.shop_data import ShopData
from shopee_insights.engine import (
    DATA_UNTIL,
    EARLIEST,
    SENTIMENT_MODEL,
    TEXT_CACHE_SECONDS,
    EngineOptions,
    InsightsEngine,
    next_refresh,
)
from shopee_insights.training import Fitted
from shopee_models.registry import STALE_AFTER, ModelVersion

GAP = timedelta(hours=6)


class MemoryRegistry:
    def __init__(self) -> None:
        self.rows: list[ModelVersion] = []
        self.models: dict[str, object] = {}
        self.registered: list[str] = []

    async def register(
        self,
        model_name: str,
        *,
        kind: str,
        model: object,
        metadata: dict[str, Any] | None = None,
        **_: Any,
    ) -> ModelVersion:
        self.registered.append(model_name)
        version = ModelVersion(
            model_name,
            f"v{len(self.registered)}",
            kind,
            "memory://",
            dict(metadata or {}),
            {},
            "active",
            datetime.now(UTC),
        )
        self.rows = [r for r in self.rows if r.model_name != model_name] + [version]
        self.models[version.version] = model
        return version

    async def active(self, model_name: str) -> ModelVersion | None:
        return next((r for r in self.rows if r.model_name == model_name), None)

    async def load(self, version: ModelVersion) -> object:
        return self.models[version.version]


def stored_until(data: ShopData) -> dict[str, datetime]:
    """The stream job's watermarks for a shop stored as `data`: its newest event of each kind."""
    frames = {"order": data.orders, "traffic": data.traffic, "catalog": data.catalog}
    return {
        kind: frame["occurred_at"].max().to_pydatetime()
        for kind, frame in frames.items()
        if len(frame)
    }


class MemoryRepository:
    def __init__(self, shops: dict[str, ShopData]) -> None:
        self.shops = shops
        self.loads = 0
        self.catalog_since: datetime | None = None
        # The newest stored event of each kind per shop, when the test has more than the shop's
        # data.
        self.newest: dict[str, dict[str, datetime]] = {}
        self.newest_reads = 0

    async def shop_time_zone(self, shop_id: str) -> str | None:
        return self.shops[shop_id].time_zone if shop_id in self.shops else None

    async def shop_ids(self) -> list[str]:
        return sorted(self.shops)

    async def load_shop(self, shop_id: str, time_zone: str, kinds: tuple[str, ...]) -> ShopData:
        self.loads += 1
        await asyncio.sleep(0)
        return self.shops[shop_id]

    async def reviews_of_all_shops(self) -> list[tuple[str, int, str]]:
        return []

    async def catalog_changes(self, shop_id: str, since: datetime) -> pd.DataFrame:
        self.catalog_since = since
        return pd.DataFrame()

    async def newest_events(self, shop_id: str) -> dict[str, datetime]:
        self.newest_reads += 1
        return self.newest.get(shop_id) or stored_until(self.shops[shop_id])


class MemoryClaims:
    """The claim rows of `RefreshClaims`, on a clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self.claimed_at: dict[str, datetime] = {}

    async def claim(self, within: timedelta, subject: str) -> bool:
        await asyncio.sleep(0)  # both replicas get this far before either decides
        last = self.claimed_at.get(subject)
        if last is not None and self.now - last < within:
            return False
        self.claimed_at[subject] = self.now
        return True


def engine_for(
    shops: dict[str, ShopData],
    age: timedelta | None = None,
    repository: MemoryRepository | None = None,
    registry: MemoryRegistry | None = None,
    claims: MemoryClaims | None = None,
    cached_shops: int = 256,
    catalog_cache: timedelta = timedelta(seconds=15),
) -> InsightsEngine:
    return InsightsEngine(
        repository or MemoryRepository(shops),  # type: ignore[arg-type]
        registry or MemoryRegistry(),  # type: ignore[arg-type]
        EngineOptions(
            max_model_age=age,
            refresh_every=GAP,
            cached_shops=cached_shops,
            catalog_cache=catalog_cache,
        ),
        claims or MemoryClaims(),  # type: ignore[arg-type]
    )


async def test_concurrent_requests_share_one_training(shop: ShopData) -> None:
    engine = engine_for({shop.shop_id: shop})
    first, second = await asyncio.gather(
        engine.model(shop.shop_id, "segments-kmeans"), engine.model(shop.shop_id, "segments-kmeans")
    )
    assert first.version == second.version
    assert engine.repository.loads == 1  # type: ignore[attr-defined]
    again = await engine.model(shop.shop_id, "segments-kmeans")
    assert again.version == first.version


async def test_stale_models_are_retrained(shop: ShopData) -> None:
    engine = engine_for({shop.shop_id: shop}, age=timedelta(0))
    first = await engine.model(shop.shop_id, "segments-kmeans")
    second = await engine.model(shop.shop_id, "segments-kmeans")
    assert first.version.version != second.version.version


async def test_unknown_shops_and_thin_shops_get_precise_errors(shop: ShopData) -> None:
    thin = ShopData(
        shop_id="thin",
        time_zone="UTC",
        orders=shop.orders.head(5),
        traffic=shop.traffic.head(0),
        catalog=shop.catalog,
        campaigns=shop.campaigns.head(0),
        reviews=shop.reviews.head(0),
        chats=shop.chats.head(0),
    )
    engine = engine_for({"thin": thin})
    with pytest.raises(NotFound, match="'ghost' is not registered"):
        await engine.model("ghost", "segments-kmeans")
    with pytest.raises(FailedPrecondition, match="at least 20 buyers"):
        await engine.model("thin", "segments-kmeans")
    with pytest.raises(
        FailedPrecondition, match="at least 28 days of ads spend; shop 'thin' has 0"
    ):
        await engine.model("thin", "marketing")


def small_shop(shop: ShopData, shop_id: str = "small") -> ShopData:
    """Orders of 40 buyers and the catalogue: segments, recommender and pricing train in a
    second; marketing declines (no ads spend), sentiment too (no reviews)."""
    buyers = shop.orders["buyer_id"].drop_duplicates().head(40)
    return ShopData(
        shop_id=shop_id,
        time_zone="UTC",
        orders=shop.orders[shop.orders["buyer_id"].isin(buyers)],
        traffic=shop.traffic.head(0),
        catalog=shop.catalog,
        campaigns=shop.campaigns.head(0),
        reviews=shop.reviews.head(0),
        chats=shop.chats.head(0),
    )


async def test_two_replicas_racing_for_one_firing_train_once(shop: ShopData) -> None:
    shops = {"small": small_shop(shop)}
    repository, registry, claims = MemoryRepository(shops), MemoryRegistry(), MemoryClaims()
    replicas = [engine_for(shops, None, repository, registry, claims) for _ in range(2)]

    refreshed = await asyncio.gather(*(r.scheduled_refresh(GAP) for r in replicas))

    assert sum(refreshed) == 2  # the shop and the sentiment model, each by one replica
    assert repository.loads == 1
    assert sorted(registry.registered) == [
        "insights/small/pricing",
        "insights/small/recommender",
        "insights/small/segments-kmeans",
    ]
    # The next firing, one gap later: claimed again, once.
    claims.now += GAP
    refreshed = await asyncio.gather(*(r.scheduled_refresh(GAP) for r in replicas))
    assert sum(refreshed) == 2
    assert repository.loads == 2


async def test_the_replicas_share_a_firings_shops(shop: ShopData) -> None:
    shops = {name: small_shop(shop, name) for name in ("a", "b", "c", "d")}
    repository, registry, claims = MemoryRepository(shops), MemoryRegistry(), MemoryClaims()
    replicas = [engine_for(shops, None, repository, registry, claims) for _ in range(2)]

    refreshed = await asyncio.gather(*(r.scheduled_refresh(GAP) for r in replicas))

    assert sum(refreshed) == 5  # four shops and the sentiment model, each once
    assert min(refreshed) > 0  # while one replica trains a shop, the other takes the next
    assert repository.loads == 4
    assert len(registry.registered) == len(set(registry.registered)) == 12


async def test_a_firing_within_half_a_gap_of_a_claimed_one_is_skipped(shop: ShopData) -> None:
    claims = MemoryClaims()
    engine = engine_for({"small": small_shop(shop)}, claims=claims)
    assert await engine.scheduled_refresh(GAP) == 2
    claims.now += GAP / 2 - timedelta(seconds=1)
    assert await engine.scheduled_refresh(GAP) == 0
    assert engine.repository.loads == 1  # type: ignore[attr-defined]


async def test_a_refresh_cancelled_by_the_exit_ends_quietly(shop: ShopData) -> None:
    """The process's exit cancels a refresh under way: the scheduler, which logs an exception
    from its job as a failure, sees the firing end instead."""
    engine = engine_for({"small": small_shop(shop)}, claims=MemoryClaims())
    started = asyncio.Event()

    async def train_for_ever(shop_id: str) -> None:
        started.set()
        await asyncio.Event().wait()

    engine.train_shop = train_for_ever  # type: ignore[method-assign]
    refresh = asyncio.create_task(engine.scheduled_refresh(GAP))
    await started.wait()
    refresh.cancel()
    assert await refresh == 0


def test_every_replica_fires_at_the_same_moments_and_knows_the_next() -> None:
    now = datetime(2026, 5, 3, 13, 7, tzinfo=UTC)
    scheduler = refresh_scheduler(engine_for({}), GAP)
    [job] = scheduler.get_jobs()
    fires_at = job.trigger.get_next_fire_time(None, now)
    assert fires_at == next_refresh(now, GAP) == datetime(2026, 5, 3, 18, tzinfo=UTC)
    assert next_refresh(fires_at, GAP) == fires_at


def test_the_next_training_is_the_refresh_or_the_age_limit_whichever_first() -> None:
    now = datetime(2026, 5, 3, 13, 7, tzinfo=UTC)
    trained = ModelVersion("m", "v", "k", "memory://", {}, {}, "active", now - timedelta(hours=20))
    assert engine_for({}, age=timedelta(hours=24)).next_training(trained, now) == datetime(
        2026, 5, 3, 17, 7, tzinfo=UTC
    )
    assert engine_for({}).next_training(trained, now) == datetime(2026, 5, 3, 18, tzinfo=UTC)


async def test_requests_read_the_catalogue_since_the_models_snapshot(shop: ShopData) -> None:
    data = small_shop(shop)
    engine = engine_for({"small": data})
    repository: MemoryRepository = engine.repository  # type: ignore[assignment]
    for area in ("pricing", "recommender"):
        loaded = await engine.model("small", area)
        await engine.catalog_changes("small", loaded.version)
        assert repository.catalog_since == data.catalog["occurred_at"].max()
    # A model trained before snapshots were recorded reads the whole catalogue.
    older = dataclasses.replace(loaded.version, version="before-snapshots", metadata={})
    await engine.catalog_changes("small", older)
    assert repository.catalog_since == EARLIEST


async def test_the_catalogue_is_read_once_per_shop_and_model_within_the_cache_time(
    shop: ShopData, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for({"small": small_shop(shop)})
    repository: MemoryRepository = engine.repository  # type: ignore[assignment]
    reads = []
    original = repository.catalog_changes

    async def counted(shop_id: str, since: datetime) -> pd.DataFrame:
        reads.append(since)
        return await original(shop_id, since)

    monkeypatch.setattr(repository, "catalog_changes", counted)
    clock = [1_000.0]
    monkeypatch.setattr("shopee_insights.engine.time.monotonic", lambda: clock[0])
    loaded = await engine.model("small", "recommender")
    await engine.catalog_changes("small", loaded.version)
    clock[0] += engine.options.catalog_cache.total_seconds()
    await engine.catalog_changes("small", loaded.version)
    assert len(reads) == 1
    clock[0] += 1
    await engine.catalog_changes("small", loaded.version)
    assert len(reads) == 2
    retrained = dataclasses.replace(loaded.version, version="next")
    await engine.catalog_changes("small", retrained)
    assert len(reads) == 3


async def registered(registry: MemoryRegistry, count: int) -> None:
    """Wait until `count` models have been registered (a training in the background)."""
    for _ in range(200):
        if len(registry.registered) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} registrations expected, {registry.registered}")


async def test_a_model_behind_the_stored_data_answers_while_it_is_refitted(
    shop: ShopData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after a history's catch-up: a model fitted on the first months of a shop still
    answers, and the next call gets one fitted on the data stored since."""
    data = small_shop(shop)
    # Every call reads the newest events (no cache).
    engine = engine_for({"small": data}, catalog_cache=timedelta(0))
    repository: MemoryRepository = engine.repository  # type: ignore[assignment]
    registry: MemoryRegistry = engine.registry  # type: ignore[assignment]
    first = await engine.model("small", "pricing")
    fitted = stored_until(data)
    assert set(fitted) == {"order", "catalog"}
    assert first.version.metadata[DATA_UNTIL] == {k: v.isoformat() for k, v in fitted.items()}

    # Two days more is what the scheduled retrains leave: no refit.
    repository.newest["small"] = {**fitted, "order": fitted["order"] + STALE_AFTER}
    assert (await engine.model("small", "pricing")).version == first.version
    await asyncio.sleep(0.05)
    assert registry.registered == ["insights/small/pricing"]

    repository.newest["small"] = {**fitted, "order": fitted["order"] + 2 * STALE_AFTER}
    release = held_fit(engine, monkeypatch)
    answered = await engine.model("small", "pricing")
    assert answered.version == first.version  # without waiting for the refit
    # A second call while it fits neither waits nor starts another.
    assert (await engine.model("small", "pricing")).version == first.version
    release.set()
    await registered(registry, 2)
    assert repository.loads == 2
    refitted = await engine.model("small", "pricing")
    assert refitted.version.version == "v2"


async def test_each_kind_of_event_is_compared_on_its_own(shop: ShopData) -> None:
    """A history loads topic by topic: orders may be current while the traffic is months
    behind. A model fitted then is refitted when the traffic catches up, and when a kind it had
    none of arrives; kinds the area does not read do not count."""
    data = small_shop(shop)
    fitted = stored_until(data)
    for stored, refits in [
        ({**fitted, "review": fitted["order"] + 10 * STALE_AFTER}, 0),  # pricing reads no reviews
        ({**fitted, "traffic": fitted["order"]}, 1),  # none when fitted
        ({**fitted, "catalog": fitted["catalog"] + 2 * STALE_AFTER}, 1),
    ]:
        engine = engine_for({"small": data}, catalog_cache=timedelta(0))
        repository: MemoryRepository = engine.repository  # type: ignore[assignment]
        registry: MemoryRegistry = engine.registry  # type: ignore[assignment]
        await engine.model("small", "pricing")
        repository.newest["small"] = stored
        await engine.model("small", "pricing")
        if refits:
            await registered(registry, 2)
        else:
            await asyncio.sleep(0.05)
        assert len(registry.registered) == 1 + refits, stored


async def test_a_failed_refit_is_tried_again_once_the_data_moves_on(
    shop: ShopData, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = small_shop(shop)
    # Every call reads the newest events (no cache).
    engine = engine_for({"small": data}, catalog_cache=timedelta(0))
    repository: MemoryRepository = engine.repository  # type: ignore[assignment]
    registry: MemoryRegistry = engine.registry  # type: ignore[assignment]
    unhandled: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: unhandled.append(context))
    first = await engine.model("small", "segments-kmeans")
    fitted = stored_until(data)
    behind = {**fitted, "order": fitted["order"] + 2 * STALE_AFTER}
    repository.newest["small"] = behind
    release = held_fit(engine, monkeypatch, RuntimeError("fit failed"))
    release.set()
    await engine.model("small", "segments-kmeans")
    for _ in range(100):
        if repository.loads == 2 and not engine._shared.running:
            break
        await asyncio.sleep(0.05)
    assert repository.loads == 2
    # The same data again: the failure is not retried on every call.
    assert (await engine.model("small", "segments-kmeans")).version == first.version
    await asyncio.sleep(0.05)
    assert repository.loads == 2
    gc.collect()
    assert unhandled == []

    monkeypatch.undo()
    repository.newest["small"] = {**behind, "order": behind["order"] + 2 * STALE_AFTER}
    assert (await engine.model("small", "segments-kmeans")).version == first.version
    await registered(registry, 2)
    assert repository.loads == 3


async def test_the_newest_events_are_read_once_per_shop_within_the_cache_time(
    shop: ShopData, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for({"small": small_shop(shop)})
    repository: MemoryRepository = engine.repository  # type: ignore[assignment]
    clock = [1_000.0]
    monkeypatch.setattr("shopee_insights.engine.time.monotonic", lambda: clock[0])
    cache_time = engine.options.catalog_cache.total_seconds()
    for area in ("segments-kmeans", "pricing"):
        await engine.model("small", area)  # trained: each load reads them first, uncached
    clock[0] += cache_time + 1
    repository.newest_reads = 0
    for area in ("segments-kmeans", "segments-kmeans", "pricing"):
        await engine.model("small", area)
    assert repository.newest_reads == 1
    clock[0] += cache_time
    await engine.model("small", "pricing")
    assert repository.newest_reads == 1
    clock[0] += 1
    await engine.model("small", "segments-kmeans")
    assert repository.newest_reads == 2


def held_fit(
    engine: InsightsEngine, monkeypatch: pytest.MonkeyPatch, error: Exception | None = None
) -> threading.Event:
    """Make the engine's fits wait in their thread until the returned event is set (then fit, or
    raise `error`): a training that outlasts the caller's deadline."""
    release = threading.Event()
    fit = engine._fit

    def held(data: ShopData, area: str) -> Fitted:
        assert release.wait(10), "the test never released the fit"
        if error is not None:
            raise error
        return fit(data, area)

    monkeypatch.setattr(engine, "_fit", held)
    return release


async def test_a_training_the_caller_gave_up_on_is_still_registered(
    shop: ShopData, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for({"small": small_shop(shop)})
    registry: MemoryRegistry = engine.registry  # type: ignore[assignment]
    release = held_fit(engine, monkeypatch)
    # As the gateway's deadline does: the handler is cancelled while the model fits.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(engine.model("small", "segments-kmeans"), 0.05)

    release.set()
    await registered(registry, 1)
    assert registry.registered == ["insights/small/segments-kmeans"]
    loaded = await engine.model("small", "segments-kmeans")
    assert loaded.version.version == "v1"
    assert engine.repository.loads == 1  # type: ignore[attr-defined]


async def test_a_failed_training_is_shared_seen_and_retried_by_the_next_call(
    shop: ShopData, monkeypatch: pytest.MonkeyPatch
) -> None:
    unhandled: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: unhandled.append(context))
    engine = engine_for({"small": small_shop(shop)})
    release = held_fit(engine, monkeypatch, RuntimeError("fit failed"))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(engine.model("small", "segments-kmeans"), 0.05)
    # A later caller joins the training in flight rather than starting another.
    joined = asyncio.create_task(engine.model("small", "segments-kmeans"))
    await asyncio.sleep(0.05)
    release.set()
    with pytest.raises(RuntimeError, match="fit failed"):
        await joined
    assert engine.repository.loads == 1  # type: ignore[attr-defined]
    gc.collect()
    assert unhandled == []

    monkeypatch.undo()
    await engine.model("small", "segments-kmeans")
    assert engine.repository.loads == 2  # type: ignore[attr-defined]


class CountingSentiment:
    """A sentiment model that counts the texts it scored."""

    languages = ("en",)

    def __init__(self) -> None:
        self.scored = 0

    def score(self, texts: list[str], languages: list[str] | None = None) -> list[TextScore]:
        self.scored += len(texts)
        return [TextScore("positive", 0.5, {}, "en") for _ in texts]


async def sentiment_model(engine: InsightsEngine) -> CountingSentiment:
    """A new active version of the platform's sentiment model."""
    model = CountingSentiment()
    await engine.registry.register(SENTIMENT_MODEL, kind="insights_sentiment", model=model)
    return model


async def test_a_shops_texts_are_scored_once_per_load_and_sentiment_version(
    shop: ShopData, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1_000.0]
    monkeypatch.setattr("shopee_insights.engine.time.monotonic", lambda: clock[0])
    engine = engine_for({shop.shop_id: shop})
    repository: MemoryRepository = engine.repository  # type: ignore[assignment]
    texts = len(shop.reviews) + len(shop.chats)
    assert texts > 0
    model = await sentiment_model(engine)

    version, first = await engine.scored_texts(shop.shop_id, shop.time_zone)
    again_version, again = await engine.scored_texts(shop.shop_id, shop.time_zone)
    assert (model.scored, repository.loads) == (texts, 1)
    assert again_version == version
    assert again is first

    # A new sentiment model rescores the texts already loaded.
    newer = await sentiment_model(engine)
    newer_version, _ = await engine.scored_texts(shop.shop_id, shop.time_zone)
    assert newer_version != version
    assert (newer.scored, repository.loads) == (texts, 1)

    # Past the cache time: loaded and scored again.
    clock[0] += TEXT_CACHE_SECONDS + 1
    await engine.scored_texts(shop.shop_id, shop.time_zone)
    assert (newer.scored, repository.loads) == (2 * texts, 2)


async def test_the_text_caches_keep_the_most_recently_used_shops(shop: ShopData) -> None:
    other = dataclasses.replace(shop, shop_id="other")
    engine = engine_for({shop.shop_id: shop, "other": other}, cached_shops=1)
    repository: MemoryRepository = engine.repository  # type: ignore[assignment]
    model = await sentiment_model(engine)
    texts = len(shop.reviews) + len(shop.chats)
    for shop_id in (shop.shop_id, shop.shop_id, "other", shop.shop_id):
        await engine.scored_texts(shop_id, shop.time_zone)
    # The first shop was evicted by the other: loaded and scored twice.
    assert (model.scored, repository.loads) == (3 * texts, 3)


async def test_a_refresh_stops_before_its_next_shop_at_shutdown(
    shop: ShopData, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for({"a": shop, "b": shop, "c": shop})
    trained: list[str] = []

    async def train_shop(shop_id: str) -> None:
        trained.append(shop_id)
        engine.stop_refreshing()  # SIGTERM arrives while the first shop trains

    monkeypatch.setattr(engine, "train_shop", train_shop)
    await engine.refresh_all()
    assert trained == ["a"]
