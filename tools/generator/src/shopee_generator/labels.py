"""The truth behind the generated data, for scoring forecasts, detectors and recommenders.

Everything here is planned before the simulation runs (it needs no events): incidents with their
windows, the campaigns announced ahead, mega-sale days, each product's true price elasticity and
each ads channel's response curve.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from shopee.events.v1 import events_pb2
from shopee_generator.domain.calendar import (
    MEGA_SALE_BOOST,
    double_date_factor,
    is_double_date,
    is_mega_sale,
)
from shopee_generator.domain.campaigns import CampaignPlanner
from shopee_generator.domain.clock import local_midnight_ms, to_utc
from shopee_generator.domain.incidents import AFFECTED_KPIS, plan_incidents
from shopee_generator.domain.shop import build_shop
from shopee_generator.world import GeneratorConfig

LABELS_VERSION = 1


def _iso(epoch_ms: int) -> str:
    return to_utc(epoch_ms).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Labels:
    version: int
    generator: dict[str, Any]
    shops: list[dict[str, Any]]
    incidents: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    double_dates: list[dict[str, Any]]
    elasticities: dict[str, dict[str, float]]
    products: dict[str, list[dict[str, Any]]]
    ads_response: dict[str, list[dict[str, Any]]]

    def to_json(self) -> str:
        """Stable, pretty JSON (same config -> same text)."""
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def build_labels(config: GeneratorConfig) -> Labels:
    """The labels for the world and days of `config`."""
    shops = [
        build_shop(config.seed, i, config.products_per_shop, config.scale)
        for i in range(config.shops)
    ]
    incidents = (
        plan_incidents(config.seed, shops, config.start, config.days) if config.incidents else []
    )
    campaigns: list[dict[str, Any]] = []
    double_dates: list[dict[str, Any]] = []
    for shop in shops:
        planner = CampaignPlanner(config.seed, shop)
        products = {p.index: p.product_id for p in shop.products}
        for day in config.dates():
            if shop.index == 0 and is_double_date(day):
                double_dates.append(
                    {
                        "date": day.isoformat(),
                        "mega_sale": is_mega_sale(day),
                        "traffic_boost": MEGA_SALE_BOOST.get(day.month, double_date_factor(day)),
                    }
                )
            for campaign in planner.starting_on(day):
                campaigns.append(
                    {
                        "shop_id": shop.shop_id,
                        "campaign_id": campaign.campaign_id,
                        "kind": events_pb2.CampaignKind.Name(campaign.kind),  # type: ignore[arg-type]
                        "name": campaign.name,
                        "planned_at": _iso(campaign.planned_ms),
                        "start": _iso(campaign.starts_ms),
                        "end": _iso(campaign.ends_ms),
                        "mega_sale": campaign.mega_sale,
                        "double_date": campaign.double_date,
                        "discount_percent": campaign.discount_percent,
                        "product_ids": [products[i] for i in campaign.product_indices],
                        "voucher_code": campaign.voucher.code if campaign.voucher else None,
                    }
                )
    return Labels(
        version=LABELS_VERSION,
        generator={
            "seed": config.seed,
            "first_day": config.start.isoformat(),
            "last_day": config.last_day.isoformat(),
            "days": config.days,
            "shops": config.shops,
            "products_per_shop": config.products_per_shop,
            "scale": config.scale,
            "incidents": config.incidents,
        },
        shops=[
            {
                "shop_id": s.shop_id,
                "name": s.name,
                "market": s.market.code,
                "time_zone": s.time_zone,
                "currency": s.currency,
                "language": s.market.language,
                "first_midnight": _iso(local_midnight_ms(config.start, s.time_zone)),
                "growth_per_year": round(s.growth_per_year, 4),
            }
            for s in shops
        ],
        incidents=[
            {
                "shop_id": i.shop_id,
                "kind": str(i.kind),
                "start": _iso(i.starts_ms),
                "end": _iso(i.ends_ms),
                "affected_kpis": list(AFFECTED_KPIS[i.kind]),
                "product_id": i.product_id,
                "during_mega_sale": i.during_mega_sale,
                "magnitude": round(i.magnitude, 3) if i.kind == "traffic_bot_spike" else None,
            }
            for i in incidents
        ],
        campaigns=sorted(campaigns, key=lambda c: (c["start"], c["shop_id"], c["campaign_id"])),
        double_dates=double_dates,
        elasticities={s.shop_id: {p.product_id: p.elasticity for p in s.products} for s in shops},
        products={
            s.shop_id: [
                {
                    "product_id": p.product_id,
                    "name": p.name,
                    "category": p.category,
                    "sku": p.sku,
                    "base_price_minor": p.base_price_minor,
                    "cost_minor": p.cost_minor,
                    "elasticity": p.elasticity,
                    "popularity": round(p.popularity, 5),
                    "quality": round(p.quality, 4),
                }
                for p in s.products
            ]
            for s in shops
        },
        ads_response={
            s.shop_id: [
                {
                    "ads_channel": events_pb2.AdsChannel.Name(a.channel),  # type: ignore[arg-type]
                    "max_daily_visits": round(a.max_daily_visits, 3),
                    "half_saturation_spend_minor": round(a.half_saturation_spend_minor),
                    "curve": "daily visits = max_daily_visits * spend / (spend + half_saturation_spend_minor)"
                    " * sqrt(day traffic factor)",
                }
                for a in s.ads_channels
            ]
            for s in shops
        },
    )
