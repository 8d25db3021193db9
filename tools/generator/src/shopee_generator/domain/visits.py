"""A shop's visits for one local day: new and returning visitors, ad clicks, live-stream viewers
and bots, with when they come, from where, on which channel. Drawn with numpy in bulk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from shopee.events.v1 import events_pb2
from shopee_generator.domain.buyers import BuyerPool, UserNames
from shopee_generator.domain.campaigns import Campaign
from shopee_generator.domain.clock import HOUR_MS
from shopee_generator.domain.shop import Shop

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Kinds of visit.
ORGANIC, RETURNING, ADS, LIVE, BOT = range(5)
_ORGANIC_SOURCES = (
    np.array(
        [
            events_pb2.TRAFFIC_SOURCE_SEARCH,
            events_pb2.TRAFFIC_SOURCE_RECOMMENDATION,
            events_pb2.TRAFFIC_SOURCE_DIRECT,
            events_pb2.TRAFFIC_SOURCE_SOCIAL,
            events_pb2.TRAFFIC_SOURCE_EXTERNAL,
        ]
    ),
    np.array([0.45, 0.27, 0.12, 0.10, 0.06]),
)
_RETURNING_SOURCES = (
    np.array(
        [
            events_pb2.TRAFFIC_SOURCE_DIRECT,
            events_pb2.TRAFFIC_SOURCE_SEARCH,
            events_pb2.TRAFFIC_SOURCE_RECOMMENDATION,
            events_pb2.TRAFFIC_SOURCE_SOCIAL,
        ]
    ),
    np.array([0.35, 0.30, 0.25, 0.10]),
)
_ADS_SOURCE: dict[int, tuple[int, int]] = {
    events_pb2.ADS_CHANNEL_SEARCH: (events_pb2.TRAFFIC_SOURCE_ADS, events_pb2.CHANNEL_APP),
    events_pb2.ADS_CHANNEL_DISCOVERY: (events_pb2.TRAFFIC_SOURCE_ADS, events_pb2.CHANNEL_APP),
    events_pb2.ADS_CHANNEL_AFFILIATE: (
        events_pb2.TRAFFIC_SOURCE_SOCIAL,
        events_pb2.CHANNEL_AFFILIATE,
    ),
    events_pb2.ADS_CHANNEL_EXTERNAL: (events_pb2.TRAFFIC_SOURCE_EXTERNAL, events_pb2.CHANNEL_WEB),
}


@dataclass
class DayPlan:
    """Everything about one shop-day that the funnel needs, times as ms since local midnight."""

    day: date
    midnight_ms: int
    visits: float  # expected organic visits
    hour_shares: FloatArray
    campaigns: list[Campaign]
    ads_visits: dict[int, float]  # expected ad visits by AdsChannel
    bot_windows: list[tuple[int, int, float]]  # (from, to, magnitude)
    price_before: IntArray
    price_after: IntArray
    price_change_at: IntArray
    available_from: IntArray
    available_until: IntArray
    double_date: bool = False
    voucher_active: bool = False


@dataclass
class Sessions:
    start: IntArray
    kind: IntArray
    source: IntArray
    channel: IntArray
    visitor_ids: list[str]
    buyer_pos: IntArray  # position in the buyer pool, -1 for a visitor who never bought
    # The person's lifelong key (UserNames.draw_keyed; kept in BuyerPool.keys), -1 for bots.
    buyer_key: IntArray
    # The events_pb2.AdsChannel of an ad click's session, 0 for the others.
    ads_channel: IntArray


def _hour_times(rng: np.random.Generator, shares: FloatArray, count: int) -> IntArray:
    hours = rng.choice(24, size=count, p=shares)
    return ((hours + rng.random(count)) * HOUR_MS).astype(np.int64)


def _pick(rng: np.random.Generator, options: tuple[IntArray, FloatArray], count: int) -> IntArray:
    return options[0][rng.choice(len(options[0]), size=count, p=options[1])]


def draw_sessions(
    shop: Shop,
    plan: DayPlan,
    pool: BuyerPool,
    names: UserNames,
    rng: np.random.Generator,
    returning_multiplier: float,
) -> Sessions:
    """Today's visits: new and returning visitors, ad clicks, live-stream viewers, bots."""
    shares = plan.hour_shares
    parts: list[tuple[IntArray, int, IntArray, IntArray, list[str], IntArray]] = []
    keys: list[IntArray] = []  # buyer keys of each part
    ads_channels: dict[int, int] = {}  # part index -> the AdsChannel of its clicks

    organic = int(rng.poisson(plan.visits))
    organic_names, organic_keys = names.draw_keyed(rng, organic)
    keys.append(organic_keys)
    parts.append(
        (
            _hour_times(rng, shares, organic),
            ORGANIC,
            _pick(rng, _ORGANIC_SOURCES, organic),
            np.where(rng.random(organic) < 0.78, events_pb2.CHANNEL_APP, events_pb2.CHANNEL_WEB),
            organic_names,
            np.full(organic, -1),
        )
    )

    positions = pool.visits(rng, returning_multiplier)
    count = len(positions)
    keys.append(pool.keys[positions])
    parts.append(
        (
            _hour_times(rng, shares, count),
            RETURNING,
            _pick(rng, _RETURNING_SOURCES, count),
            np.where(rng.random(count) < 0.85, events_pb2.CHANNEL_APP, events_pb2.CHANNEL_WEB),
            [pool.ids[p] for p in positions.tolist()],
            positions.astype(np.int64),
        )
    )

    for channel, expected in plan.ads_visits.items():
        count = int(rng.poisson(expected))
        source, visit_channel = _ADS_SOURCE[channel]
        ads_names, ads_keys = names.draw_keyed(rng, count)
        keys.append(ads_keys)
        ads_channels[len(parts)] = channel
        parts.append(
            (
                _hour_times(rng, shares, count),
                ADS,
                np.full(count, source),
                np.full(count, visit_channel),
                ads_names,
                np.full(count, -1),
            )
        )

    for campaign in plan.campaigns:
        if campaign.kind != events_pb2.CAMPAIGN_KIND_LIVE_STREAM:
            continue
        begin = max(0, campaign.starts_ms - plan.midnight_ms)
        end = min(24 * HOUR_MS, campaign.ends_ms - plan.midnight_ms)
        if end <= begin:
            continue
        count = int(rng.poisson(plan.visits * 0.12 * (end - begin) / (2 * HOUR_MS)))
        from_pool = (rng.random(count) < 0.4) & (len(pool) > 0)
        weights = pool.propensity / pool.propensity.sum() if len(pool) else None
        picked = (
            rng.choice(len(pool), size=count, p=weights) if len(pool) else np.zeros(count, np.int64)
        )
        fresh_names, fresh_keys = names.draw_keyed(rng, int((~from_pool).sum()))
        fresh = iter(fresh_names)
        visitors = [
            pool.ids[int(p)] if known else next(fresh)
            for p, known in zip(picked, from_pool, strict=True)
        ]
        live_keys = np.full(count, -1, dtype=np.int64)
        live_keys[from_pool] = pool.keys[picked[from_pool]]
        live_keys[~from_pool] = fresh_keys
        keys.append(live_keys)
        parts.append(
            (
                rng.integers(begin, end, count),
                LIVE,
                np.full(count, events_pb2.TRAFFIC_SOURCE_LIVE_STREAM),
                np.full(count, events_pb2.CHANNEL_LIVE_STREAM),
                visitors,
                np.where(from_pool, picked, -1).astype(np.int64),
            )
        )

    for begin, end, magnitude in plan.bot_windows:
        hourly = plan.visits * float(shares[int(begin // HOUR_MS) % 24])
        count = int(rng.poisson(magnitude * hourly * (end - begin) / HOUR_MS))
        guests = [f"guest-{value:012x}" for value in rng.integers(0, 2**48, count).tolist()]
        keys.append(np.full(count, -1, dtype=np.int64))
        parts.append(
            (
                rng.integers(begin, end, count),
                BOT,
                np.full(count, events_pb2.TRAFFIC_SOURCE_DIRECT),
                np.full(count, events_pb2.CHANNEL_WEB),
                guests,
                np.full(count, -1),
            )
        )

    start = np.concatenate([p[0] for p in parts]).astype(np.int64)
    order = np.argsort(start, kind="stable")
    visitors = [v for p in parts for v in p[4]]
    buyer_pos = np.concatenate([p[5] for p in parts]).astype(np.int64)[order]
    return Sessions(
        start=start[order],
        kind=np.concatenate([np.full(len(p[0]), p[1]) for p in parts]).astype(np.int64)[order],
        source=np.concatenate([p[2] for p in parts]).astype(np.int64)[order],
        channel=np.concatenate([p[3] for p in parts]).astype(np.int64)[order],
        visitor_ids=[visitors[i] for i in order.tolist()],
        buyer_pos=buyer_pos,
        buyer_key=np.concatenate(keys).astype(np.int64)[order],
        ads_channel=np.concatenate(
            [np.full(len(p[0]), ads_channels.get(i, 0)) for i, p in enumerate(parts)]
        ).astype(np.int64)[order],
    )
