"""The service layer: each shop's models, found in the registry, trained when missing or stale.

Model names: insights/<shop>/<area> (segments-kmeans, recommender, pricing, marketing) and
insights/_platform/sentiment (one model for every shop). A model trained on demand trains in a
background task per model: concurrent requests wait for the same one, and it is registered even
when every request gave up (the gateway's deadline cancels the request, not the training). A
shop's scored texts are computed the same way and cached. The refresh schedule fires on every
replica, and each shop (and the sentiment model) is retrained by the replica that claims it for
the firing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd
import structlog
from prometheus_client import Counter, Histogram

from shopee_common.grpc_server import FailedPrecondition, NotFound
from shopee_common.shared_tasks import SharedTasks
from shopee_insights.adapters.corpora import LabelledTexts, amazon_sentences, prdect_id_reviews
from shopee_insights.adapters.refresh_claims import RefreshClaims
from shopee_insights.adapters.repository import EventRepository
from shopee_insights.domain.segments import Algorithm
from shopee_insights.domain.sentiment import SentimentModel
from shopee_insights.domain.shop_data import ShopData
from shopee_insights.training import (
    CATALOG_AS_OF,
    Fitted,
    fit_marketing,
    fit_pricing,
    fit_segments,
    fit_sentiment,
    fit_shop_recommender,
    sentiment_corpus,
)
from shopee_models.registry import ModelRegistry, ModelVersion, behind_its_data

TRAININGS = Counter(
    "insights_trainings_total", "Model trainings by area and outcome", ["area", "outcome"]
)
TRAINING_SECONDS = Histogram(
    "insights_training_seconds",
    "Time to load a shop's events and fit one area's model",
    ["area"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
SENTIMENT_MODEL = "insights/_platform/sentiment"
AREAS: dict[str, tuple[str, ...]] = {
    "segments-kmeans": ("order",),
    "segments-dbscan": ("order",),
    "segments-agglomerative": ("order",),
    "recommender": ("order", "traffic", "catalog"),
    "pricing": ("order", "traffic", "catalog", "campaign"),
    "marketing": ("order", "traffic", "campaign"),
}
SCHEDULED_AREAS = ("segments-kmeans", "recommender", "pricing", "marketing")
TEXT_CACHE_SECONDS = 300.0
# Refreshes fire on multiples of the interval since this instant, on every replica alike: the
# replicas that fire together race for the same claim, and anyone can tell when the next one is.
REFRESH_ANCHOR = datetime(1970, 1, 1, tzinfo=UTC)
SENTIMENT_CLAIM = "_platform/sentiment"  # claimed after the shops, as a shop id would be
# Metadata: how far each kind of event the model read was stored when it was loaded.
DATA_UNTIL = "data_until"
# "Since the beginning": for models that recorded no catalogue snapshot time.
EARLIEST = datetime.min.replace(tzinfo=UTC)
T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class EngineOptions:
    holdout_days: int = 28
    consumable_repeat_rate: float = 0.15
    max_model_age: timedelta | None = timedelta(hours=24)
    refresh_every: timedelta | None = timedelta(hours=6)
    data_dir: Path | None = None
    # How stale the catalogue a request filters with, and the newest event time a model is
    # compared with, may be: one query per shop and model this often, however busy the shop.
    catalog_cache: timedelta = timedelta(seconds=15)
    # Shops whose texts (and catalogues) are kept in memory, the most recently used.
    cached_shops: int = 256


@dataclass(frozen=True)
class Loaded:
    version: ModelVersion
    model: Any


@dataclass(frozen=True)
class ShopTexts:
    """A shop's reviews and chats as loaded at `loaded_at` (time.monotonic)."""

    loaded_at: float
    data: ShopData


@dataclass(frozen=True)
class ScoredTexts:
    """`score_frame` of the texts loaded at `loaded_at`, by that sentiment model version."""

    sentiment_version: str
    loaded_at: float
    frame: pd.DataFrame


class LruCache(Generic[K, V]):
    """At most `capacity` entries; the least recently used one makes room."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        if key not in self._entries:
            return None
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)


def next_refresh(now: datetime, every: timedelta) -> datetime:
    """The schedule's first firing at or after `now`."""
    periods = -((REFRESH_ANCHOR - now) // every)
    return REFRESH_ANCHOR + periods * every


class InsightsEngine:
    def __init__(
        self,
        repository: EventRepository,
        registry: ModelRegistry,
        options: EngineOptions,
        claims: RefreshClaims,
    ) -> None:
        self.repository = repository
        self.registry = registry
        self.options = options
        self.claims = claims
        # Trainings and scorings that outlive the requests waiting for them.
        self._shared = SharedTasks()
        self._texts: LruCache[str, ShopTexts] = LruCache(options.cached_shops)
        self._scored: LruCache[str, ScoredTexts] = LruCache(options.cached_shops)
        self._stopping = False
        # Per shop and model: the recommender's and the pricing model's.
        self._catalogs: LruCache[tuple[str, str], tuple[float, str, pd.DataFrame]] = LruCache(
            2 * options.cached_shops
        )
        # Per shop: (when read, the newest stored event's time of each kind).
        self._newest: LruCache[str, tuple[float, dict[str, datetime]]] = LruCache(
            options.cached_shops
        )
        self._cache_seconds = options.catalog_cache.total_seconds()
        # Per model: the newest stored event of each kind when its last refit behind the data
        # was started.
        self._refits_tried: LruCache[str, dict[str, datetime]] = LruCache(
            len(AREAS) * options.cached_shops
        )
        self.log = structlog.get_logger("insights")

    async def time_zone(self, shop_id: str) -> str:
        """The shop's zone; NOT_FOUND when it is not registered."""
        zone = await self.repository.shop_time_zone(shop_id)
        if zone is None:
            raise NotFound(f"shop {shop_id!r} is not registered")
        return zone

    def _fresh(self, version: ModelVersion) -> bool:
        age = self.options.max_model_age
        return age is None or datetime.now(UTC) - version.trained_at <= age

    async def model(self, shop_id: str, area: str) -> Loaded:
        """The active model of an area for a shop, trained first if missing or older than
        `max_model_age`. One fitted on data that has since moved on (`behind_its_data`: fitted
        while the stream job was still catching up on the shop's history) still answers, while a
        fit on the data now stored runs in the background for the next call."""
        name = f"insights/{shop_id}/{area}"
        active = await self._usable(name, self._fresh, lambda: self.train(shop_id, area))
        await self._refit_if_behind(shop_id, area, active)
        return Loaded(active, await self.registry.load(active))

    async def _refit_if_behind(self, shop_id: str, area: str, version: ModelVersion) -> None:
        fitted = version.metadata.get(DATA_UNTIL)
        task = f"train {version.model_name}"
        # Models registered before DATA_UNTIL was recorded go by their age alone.
        if not isinstance(fitted, dict) or task in self._shared.running:
            return
        stored = await self._newest_events(shop_id)
        seen = {kind: datetime.fromisoformat(stamp) for kind, stamp in fitted.items()}
        # A refit that failed is tried again only once the data has moved on from what it saw.
        for kind, stamp in (self._refits_tried.get(version.model_name) or {}).items():
            seen[kind] = max(stamp, seen.get(kind, stamp))
        behind = [
            kind
            for kind in AREAS[area]
            if kind in stored and (kind not in seen or behind_its_data(seen[kind], stored[kind]))
        ]
        if not behind:
            return
        self._refits_tried.put(version.model_name, stored)
        self.log.info(
            "refitting a model behind its data",
            model=version.model_name,
            kinds=behind,
            data_until={kind: seen[kind].isoformat() for kind in behind if kind in seen},
            stored_until={kind: stored[kind].isoformat() for kind in behind},
        )
        self._shared.start(task, lambda: self._train_in_background(shop_id, area))

    async def _train_in_background(self, shop_id: str, area: str) -> ModelVersion:
        """`train`, started for no caller: a failure is logged here (the active version keeps
        answering), and raised to any caller that comes to share it."""
        try:
            return await self.train(shop_id, area)
        except FailedPrecondition as exc:
            self.log.info("not refitted", shop_id=shop_id, area=area, reason=exc.message)
            raise
        except Exception:
            self.log.exception("refit failed", shop_id=shop_id, area=area)
            raise

    async def _newest_events(self, shop_id: str) -> dict[str, datetime]:
        """When the shop's newest stored event of each kind happened, read at most
        `catalog_cache` ago (one read per shop that often, however busy)."""
        cached = self._newest.get(shop_id)
        if cached is not None and time.monotonic() - cached[0] <= self._cache_seconds:
            return cached[1]
        newest = await self.repository.newest_events(shop_id)
        self._newest.put(shop_id, (time.monotonic(), newest))
        return newest

    async def _usable(
        self,
        name: str,
        usable: Callable[[ModelVersion], bool],
        train: Callable[[], Coroutine[Any, Any, ModelVersion]],
    ) -> ModelVersion:
        """The model's active version if usable, else the version its training (shared, in the
        background) registers."""
        active = await self.registry.active(name)
        if active is not None and usable(active):
            return active
        return await self._shared.run(
            f"train {name}", lambda: self._train_unless(name, usable, train)
        )

    async def _train_unless(
        self,
        name: str,
        usable: Callable[[ModelVersion], bool],
        train: Callable[[], Coroutine[Any, Any, ModelVersion]],
    ) -> ModelVersion:
        # A training that ended while the caller read the registry is not run again.
        active = await self.registry.active(name)
        if active is not None and usable(active):
            return active
        return await train()

    async def train(
        self,
        shop_id: str,
        area: str,
        data: ShopData | None = None,
        stored_until: Mapping[str, datetime] | None = None,
    ) -> ModelVersion:
        """Load the shop's events (unless given, with the newest stored event of each kind read
        before they were loaded), fit the area's model and activate it."""
        started = time.perf_counter()
        try:
            if data is None:
                data, stored_until = await self._load(shop_id, AREAS[area])
            fitted = await asyncio.to_thread(self._fit, data, area)
            # The events loaded hold at least every event stored up to these times (the stream
            # job stores an event and moves its kind's watermark in one transaction).
            until = {
                kind: stamp.isoformat()
                for kind, stamp in (stored_until or {}).items()
                if kind in AREAS[area]
            }
            version = await self.registry.register(
                f"insights/{shop_id}/{area}",
                kind=f"insights_{area.split('-')[0]}",
                model=fitted.model,
                metadata={**fitted.metadata, DATA_UNTIL: until}
                if stored_until
                else fitted.metadata,
                backtest_scores=fitted.scores,
            )
        except Exception:
            TRAININGS.labels(area, "failed").inc()
            raise
        TRAININGS.labels(area, "trained").inc()
        TRAINING_SECONDS.labels(area).observe(time.perf_counter() - started)
        self.log.info("trained", shop_id=shop_id, area=area, version=version.version)
        return version

    async def _load(
        self, shop_id: str, kinds: tuple[str, ...]
    ) -> tuple[ShopData, dict[str, datetime]]:
        """The shop's events of these kinds, and how far each kind was stored before the load."""
        zone = await self.time_zone(shop_id)
        stored_until = await self.repository.newest_events(shop_id)
        return await self.repository.load_shop(shop_id, zone, kinds), stored_until

    def _fit(self, data: ShopData, area: str) -> Fitted:
        if area.startswith("segments-"):
            return fit_segments(data, Algorithm(area.removeprefix("segments-")))
        fits: dict[str, Callable[[ShopData], Fitted]] = {
            "recommender": lambda d: fit_shop_recommender(
                d, self.options.holdout_days, self.options.consumable_repeat_rate
            ),
            "pricing": fit_pricing,
            "marketing": fit_marketing,
        }
        return fits[area](data)

    async def train_shop(self, shop_id: str, areas: tuple[str, ...] = SCHEDULED_AREAS) -> None:
        """Retrain several areas of one shop from one load of its events."""
        kinds = tuple(sorted({k for area in areas for k in AREAS[area]}))
        data, stored_until = await self._load(shop_id, kinds)
        for area in areas:
            try:
                await self.train(shop_id, area, data, stored_until)
            except FailedPrecondition as exc:
                self.log.info("not trained", shop_id=shop_id, area=area, reason=exc.message)

    async def scheduled_refresh(self, firing_gap: timedelta) -> int:
        """One firing of the refresh schedule (firings `firing_gap` apart), run by every replica:
        each shop, then the sentiment model, is retrained by the first replica to claim it for
        this firing, so the replicas share the work, and one that stops leaves the rest to the
        others. Returns how many this replica retrained."""
        within = firing_gap / 2

        async def claim(subject: str) -> bool:
            return await self.claims.claim(within, subject)

        try:
            return await self.refresh_all(claim)
        except asyncio.CancelledError:
            # Only the process's exit cancels a refresh (after `stop_refreshing`): said here
            # once, rather than raised into the scheduler, which logs it as a failed job.
            self.log.info("refresh interrupted: the service stopped")
            return 0

    def stop_refreshing(self) -> None:
        """At shutdown: a refresh under way stops before its next shop (the database is about to
        close, and every shop left would fail and be logged as a failure)."""
        self._stopping = True

    async def refresh_all(self, claim: Callable[[str], Awaitable[bool]] | None = None) -> int:
        """Retrain every registered shop, every area, then the sentiment model, each only if
        `claim` (of the shop id, or SENTIMENT_CLAIM) says so; one failure does not stop the
        others. Returns how many were retrained."""
        trained = 0
        for shop_id in await self.repository.shop_ids():
            if self._stopping:
                self.log.info("refresh stopped: the service is shutting down", next_shop=shop_id)
                return trained
            if claim is not None and not await claim(shop_id):
                continue
            trained += 1
            try:
                await self.train_shop(shop_id)
            except Exception:
                self.log.exception("refresh failed", shop_id=shop_id)
        if claim is not None and not await claim(SENTIMENT_CLAIM):
            return trained
        trained += 1
        try:
            await self.train_sentiment()
        except FailedPrecondition as exc:
            self.log.info("sentiment not trained", reason=exc.message)
        except Exception:
            self.log.exception("sentiment refresh failed")
        return trained

    async def catalog_changes(self, shop_id: str, version: ModelVersion) -> pd.DataFrame:
        """The current state of the shop's products whose catalogue changed since the model's
        snapshot (of every product, for a model that recorded none), at most `catalog_cache`
        old. Events stored late with an older time than the snapshot's
        wait for the next training."""
        key = (shop_id, version.model_name)
        cached = self._catalogs.get(key)
        if (
            cached is not None
            and cached[1] == version.version
            and time.monotonic() - cached[0] <= self._cache_seconds
        ):
            return cached[2]
        as_of = version.metadata.get(CATALOG_AS_OF)
        since = datetime.fromisoformat(as_of) if as_of else EARLIEST
        changes = await self.repository.catalog_changes(shop_id, since)
        self._catalogs.put(key, (time.monotonic(), version.version, changes))
        return changes

    def next_training(self, version: ModelVersion, now: datetime) -> datetime | None:
        """When the model is next retrained: at the next scheduled refresh, or at the first
        request once it is older than `max_model_age`; None when neither is set."""
        times = []
        if self.options.refresh_every is not None:
            times.append(next_refresh(now, self.options.refresh_every))
        if self.options.max_model_age is not None:
            times.append(version.trained_at + self.options.max_model_age)
        return min(times, default=None)

    async def sentiment(self) -> Loaded:
        """The platform's sentiment model, trained first if there is none (FAILED_PRECONDITION
        when there are too few labelled reviews to train on)."""
        active = await self._usable(SENTIMENT_MODEL, lambda _: True, self.train_sentiment)
        return Loaded(active, await self.registry.load(active))

    async def train_sentiment(self) -> ModelVersion:
        """Train on the platform's star-labelled reviews, plus the public corpora when
        `data_dir` is set; register with held-out macro-F1 per corpus."""
        corpora: list[LabelledTexts] = [
            sentiment_corpus(await self.repository.reviews_of_all_shops())
        ]
        if self.options.data_dir is not None:
            corpora += public_corpora(self.options.data_dir)
        started = time.perf_counter()
        fitted = await asyncio.to_thread(fit_sentiment, corpora)
        version = await self.registry.register(
            SENTIMENT_MODEL,
            kind="insights_sentiment",
            model=fitted.model,
            metadata=fitted.metadata,
            backtest_scores=fitted.scores,
        )
        TRAININGS.labels("sentiment", "trained").inc()
        TRAINING_SECONDS.labels("sentiment").observe(time.perf_counter() - started)
        return version

    async def scored_texts(self, shop_id: str, zone: str) -> tuple[str, pd.DataFrame]:
        """The shop's reviews and buyer chat messages, scored, with the sentiment version that
        scored them: columns product_id, occurred_at, local_date, score, label, aspects, source.
        Loaded at most TEXT_CACHE_SECONDS ago and scored once per load and sentiment version,
        for the `cached_shops` shops asked about last."""
        sentiment = await self.sentiment()
        scored = self._cached_scores(shop_id, sentiment.version.version)
        if scored is None:
            # Shared like a training: a big shop's scoring may outlast a caller's deadline.
            scored = await self._shared.run(
                f"texts {shop_id}", lambda: self._score_texts(shop_id, zone, sentiment)
            )
        return scored.sentiment_version, scored.frame

    def _cached_texts(self, shop_id: str) -> ShopTexts | None:
        texts = self._texts.get(shop_id)
        if texts is None or time.monotonic() - texts.loaded_at > TEXT_CACHE_SECONDS:
            return None
        return texts

    def _cached_scores(self, shop_id: str, sentiment_version: str) -> ScoredTexts | None:
        texts = self._cached_texts(shop_id)
        scored = self._scored.get(shop_id)
        if texts is None or scored is None:
            return None
        if (scored.sentiment_version, scored.loaded_at) != (sentiment_version, texts.loaded_at):
            return None
        return scored

    async def _score_texts(self, shop_id: str, zone: str, sentiment: Loaded) -> ScoredTexts:
        texts = self._cached_texts(shop_id)
        if texts is None:
            data = await self.repository.load_shop(shop_id, zone, ("review", "chat"))
            texts = ShopTexts(time.monotonic(), data)
            self._texts.put(shop_id, texts)
        frame = await asyncio.to_thread(score_frame, sentiment.model, texts.data)
        scored = ScoredTexts(sentiment.version.version, texts.loaded_at, frame)
        self._scored.put(shop_id, scored)
        return scored


def score_frame(model: SentimentModel, data: ShopData) -> pd.DataFrame:
    reviews = data.reviews.assign(source="review")
    chats = data.chats.assign(source="chat", product_id="", language="")
    texts = pd.concat(
        [
            reviews[["product_id", "text", "language", "occurred_at", "source"]],
            chats[["product_id", "text", "language", "occurred_at", "source"]],
        ],
        ignore_index=True,
    )
    scores = model.score(texts["text"].tolist(), texts["language"].tolist())
    texts["score"] = pd.Series([s.score for s in scores], index=texts.index, dtype=float)
    texts["label"] = pd.Series([s.label for s in scores], index=texts.index, dtype=object)
    texts["aspects"] = pd.Series([s.aspects for s in scores], index=texts.index, dtype=object)
    texts["local_date"] = texts["occurred_at"].dt.tz_convert(data.time_zone).dt.date
    return texts


def public_corpora(data_dir: Path) -> list[LabelledTexts]:
    """PRDECT-ID (Indonesian, star labels) and the Amazon sentences (English), when present."""
    corpora: list[LabelledTexts] = []
    with contextlib.suppress(FileNotFoundError):
        corpora.append(prdect_id_reviews(data_dir)[0])
    with contextlib.suppress(FileNotFoundError):
        corpora.append(amazon_sentences(data_dir))
    return corpora
