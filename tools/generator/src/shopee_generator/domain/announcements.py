"""Campaign events of a shop-day: announcements (PLANNED), starts, ends, and spend."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from shopee.events.v1 import events_pb2
from shopee_generator.domain.campaigns import Campaign, CampaignPlanner
from shopee_generator.domain.clock import HOUR_MS
from shopee_generator.domain.records import Record, fill_campaign, fill_catalog
from shopee_generator.domain.shop import AdsChannelModel, Shop

# Ads spend is reported every six hours.
SPEND_BLOCKS = ((0, 6), (6, 12), (12, 18), (18, 24))
LOOK_AHEAD_DAYS = 8


def ads_campaign_id(shop: Shop, ads: AdsChannelModel) -> str:
    return f"ads-{ads.name}-{shop.shop_id}"


def campaign_record(shop: Shop, at: int, campaign: Campaign, action: int) -> Record:
    product_ids = tuple(shop.products[i].product_id for i in campaign.product_indices)
    spend = campaign.spend_minor if action == events_pb2.CAMPAIGN_ACTION_SPEND else 0
    return (
        at,
        fill_campaign,
        (
            campaign.campaign_id,
            campaign.kind,
            action,
            campaign.name,
            campaign.starts_ms,
            campaign.ends_ms,
            spend,
            0,
            product_ids,
            campaign.discount_percent,
            shop.currency,
        ),
    )


def opening_records(
    shop: Shop,
    planner: CampaignPlanner,
    day: date,
    midnight: int,
    prices: np.ndarray,
    stock: np.ndarray,
) -> list[Record]:
    """What a consumer needs to know at the first midnight: the catalogue, the always-on ads,
    and the campaigns that were announced (or started) before the data begins."""
    records: list[Record] = [
        (
            midnight + p.index,
            fill_catalog,
            (p, int(prices[p.index]), int(stock[p.index]), shop.currency),
        )
        for p in shop.products
    ]
    for ads in shop.ads_channels:
        records.append(
            (
                midnight + 500,
                fill_campaign,
                (
                    ads_campaign_id(shop, ads),
                    events_pb2.CAMPAIGN_KIND_ADS,
                    events_pb2.CAMPAIGN_ACTION_STARTED,
                    f"Shopee Ads: {ads.name}",
                    midnight,
                    0,
                    0,
                    ads.channel,
                    (),
                    0.0,
                    shop.currency,
                ),
            )
        )
    for lead in range(LOOK_AHEAD_DAYS):
        for campaign in planner.starting_on(day + timedelta(days=lead)):
            if campaign.planned_ms < midnight:
                records.append(
                    campaign_record(shop, midnight, campaign, events_pb2.CAMPAIGN_ACTION_PLANNED)
                )
    for campaign in planner.active_on(day):
        if campaign.starts_ms < midnight:
            records.append(
                campaign_record(shop, midnight, campaign, events_pb2.CAMPAIGN_ACTION_PLANNED)
            )
            records.append(
                campaign_record(shop, midnight + 1, campaign, events_pb2.CAMPAIGN_ACTION_STARTED)
            )
    return records


def day_records(shop: Shop, planner: CampaignPlanner, day: date) -> list[Record]:
    """Announcements, starts and ends falling on the local day (and live-stream costs)."""
    records = [
        campaign_record(shop, c.planned_ms, c, events_pb2.CAMPAIGN_ACTION_PLANNED)
        for c in planner.announced_on(day)
    ]
    records += [
        campaign_record(shop, c.starts_ms, c, events_pb2.CAMPAIGN_ACTION_STARTED)
        for c in planner.starting_on(day)
    ]
    for campaign in planner.ending_on(day):
        records.append(
            campaign_record(shop, campaign.ends_ms, campaign, events_pb2.CAMPAIGN_ACTION_ENDED)
        )
        if campaign.spend_minor:
            records.append(
                campaign_record(
                    shop, campaign.ends_ms + 1_000, campaign, events_pb2.CAMPAIGN_ACTION_SPEND
                )
            )
    return records


def spend_records(
    shop: Shop, ads: AdsChannelModel, budget_minor: int, midnight: int, hour_shares: np.ndarray
) -> list[Record]:
    """The day's budget on one ads channel, reported per six hours in proportion to traffic."""
    total = float(hour_shares.sum())
    return [
        (
            midnight + last * HOUR_MS - 1_000,
            fill_campaign,
            (
                ads_campaign_id(shop, ads),
                events_pb2.CAMPAIGN_KIND_ADS,
                events_pb2.CAMPAIGN_ACTION_SPEND,
                "",
                0,
                0,
                int(budget_minor * float(hour_shares[first:last].sum()) / total),
                ads.channel,
                (),
                0.0,
                shop.currency,
            ),
        )
        for first, last in SPEND_BLOCKS
    ]
