"""Turning checkouts into orders: stock, discounts, vouchers, shipping fees, and what follows."""

from __future__ import annotations

from datetime import date

import numpy as np

from shopee.events.v1 import events_pb2
from shopee_generator.domain.aftersales import POST_SALE_CHAT_SHARE, REVIEW_SHARE, AfterSales
from shopee_generator.domain.announcements import ads_campaign_id
from shopee_generator.domain.buyers import BuyerPool
from shopee_generator.domain.clock import DAY_MS, HOUR_MS, MINUTE_MS
from shopee_generator.domain.records import OrderInfo, OrderLine, Record, fill_catalog
from shopee_generator.domain.shop import Shop, to_minor
from shopee_generator.domain.traffic import Basket
from shopee_generator.domain.visits import DayPlan, Sessions

ORDER_AFTER_CHECKOUT = 0.9
# While checkout is down almost every attempt fails.
ORDER_DURING_OUTAGE = 0.02
VOUCHER_USE = 0.6
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _base36(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 36)
        digits.append(_BASE36[digit])
    return "".join(reversed(digits))


class OrderDesk:
    def __init__(self, shop: Shop, aftersales: AfterSales) -> None:
        self._shop = shop
        self._aftersales = aftersales
        self._count = 0

    def _order_id(self, day: date, rng: np.random.Generator) -> str:
        """Seller Centre style: yymmdd + 8 characters (unique by the running count)."""
        self._count += 1
        noise = _base36(int(rng.integers(0, 36**2)), 2)
        return f"{day:%y%m%d}{_BASE36[self._shop.index % 36]}{noise}{_base36(self._count, 5)}"

    def place(
        self,
        day: date,
        plan: DayPlan,
        sessions: Sessions,
        checkouts: list[Basket],
        stock: np.ndarray,
        stock_changes: list[tuple[int, int, int]],
        outages: list[tuple[int, int]],
        pool: BuyerPool,
        rng: np.random.Generator,
        records: list[Record],
        stock_back: dict[int, list[tuple[int, int]]],
    ) -> tuple[np.ndarray, list[str]]:
        """Create today's orders in time order; return units sold per product and the new buyers."""
        shop = self._shop
        products = shop.products
        midnight = plan.midnight_ms
        sold = np.zeros(len(products), dtype=np.int64)
        new_buyers: list[str] = []
        returning: list[int] = []
        pending = list(stock_changes)

        def apply_stock_changes(until: int) -> None:
            while pending and pending[0][0] <= until:
                at, product, value = pending.pop(0)
                stock[product] = stock[product] - value if value < 0 else value
                records.append(
                    (
                        midnight + at,
                        fill_catalog,
                        (
                            products[product],
                            int(plan.price_after[product]),
                            int(stock[product]),
                            shop.currency,
                        ),
                    )
                )

        vouchers = sorted(
            (c for c in plan.campaigns if c.voucher is not None),
            key=lambda c: c.voucher.funded_by if c.voucher else 0,
            reverse=True,
        )
        campaign_kinds = {c.campaign_id: c.kind for c in plan.campaigns}
        ads_campaigns = {ads.channel: ads_campaign_id(shop, ads) for ads in shop.ads_channels}
        campaign_kinds |= {ads: events_pb2.CAMPAIGN_KIND_ADS for ads in ads_campaigns.values()}
        for basket in checkouts:
            down = any(begin <= basket.checkout_at < end for begin, end in outages)
            if rng.random() >= (ORDER_DURING_OUTAGE if down else ORDER_AFTER_CHECKOUT):
                continue
            created = basket.checkout_at + int(rng.uniform(30_000, 150_000))
            apply_stock_changes(created)
            lines: list[OrderLine] = []
            campaign_id = ""
            taken: list[tuple[int, int]] = []
            for product_index, quantity, unit_price, percent, line_campaign in basket.lines:
                take = min(quantity, int(stock[product_index]))
                if take <= 0:
                    continue
                stock[product_index] -= take
                sold[product_index] += take
                taken.append((product_index, take))
                if stock[product_index] == 0:
                    records.append(
                        (
                            midnight + created,
                            fill_catalog,
                            (products[product_index], unit_price, 0, shop.currency),
                        )
                    )
                product = products[product_index]
                discount = round(unit_price * percent / 100) * take
                lines.append(
                    (product.product_id, product.sku, product.name, take, unit_price, discount)
                )
                campaign_id = campaign_id or line_campaign
            if not lines:
                continue
            subtotal = sum(line[3] * line[4] - line[5] for line in lines)
            voucher_code, voucher_discount, funded_by = "", 0, 0
            for campaign in vouchers:
                terms = campaign.voucher
                if (
                    terms is not None
                    and campaign.starts_ms <= midnight + created < campaign.ends_ms
                    and subtotal >= terms.min_spend_minor
                    and rng.random() < VOUCHER_USE
                ):
                    voucher_code, funded_by = terms.code, terms.funded_by
                    voucher_discount = min(terms.cap_minor, round(subtotal * terms.percent / 100))
                    campaign_id = campaign_id or campaign.campaign_id
                    break
            shipping = (
                0
                if subtotal >= to_minor(shop.market.free_shipping_minimum)
                else to_minor(shop.market.shipping_fee)
            )
            s = basket.session
            # An ad click's order that no campaign of the shop took is the ads campaign's:
            # Shopee Ads attributes it to the click (ads GMV, ROAS).
            campaign_id = campaign_id or ads_campaigns.get(int(sessions.ads_channel[s]), "")
            buyer_id = sessions.visitor_ids[s]
            position = int(sessions.buyer_pos[s])
            if position >= 0:
                returning.append(position)
            else:
                new_buyers.append(buyer_id)
            info = OrderInfo(
                order_id=self._order_id(day, rng),
                lines=tuple(lines),
                buyer_id=buyer_id,
                channel=int(sessions.channel[s]),
                currency=shop.currency,
                shipping_fee_minor=shipping,
                campaign_id=campaign_id,
                campaign_kind=campaign_kinds.get(campaign_id, 0),
                voucher_code=voucher_code,
                voucher_discount_minor=voucher_discount,
                voucher_funded_by=funded_by,
            )
            self._after(
                day, midnight + created, info, taken, plan.double_date, rng, records, stock_back
            )
        apply_stock_changes(DAY_MS)
        pool.purchased(returning)
        return sold, new_buyers

    def _after(
        self,
        day: date,
        created: int,
        info: OrderInfo,
        taken: list[tuple[int, int]],
        busy: bool,
        rng: np.random.Generator,
        records: list[Record],
        stock_back: dict[int, list[tuple[int, int]]],
    ) -> None:
        outcome = self._aftersales.order(info, created, rng, pays=True)
        records.extend(outcome.records)
        if outcome.restocked_at is not None:
            back_day = day.toordinal() + (outcome.restocked_at - created) // DAY_MS + 1
            stock_back.setdefault(back_day, []).extend(taken)
        if outcome.completed_at is not None:
            for product_id, *_ in info.lines:
                if rng.random() < REVIEW_SHARE:
                    product = next(p for p in self._shop.products if p.product_id == product_id)
                    at = outcome.completed_at + 10 * MINUTE_MS + int(rng.exponential(20 * HOUR_MS))
                    records.append(
                        self._aftersales.review(
                            info, product_id, product.quality, outcome.delivery_days, at, rng
                        )
                    )
        if rng.random() < POST_SALE_CHAT_SHARE:
            asked = created + int(rng.uniform(HOUR_MS, 48 * HOUR_MS))
            records.extend(
                self._aftersales.conversation(info.buyer_id, asked, "post_sale", busy, rng)
            )
        if outcome.returned_at is not None and rng.random() < 0.6:
            asked = outcome.returned_at - int(rng.uniform(HOUR_MS, DAY_MS))
            records.extend(
                self._aftersales.conversation(info.buyer_id, asked, "post_sale", busy, rng)
            )
