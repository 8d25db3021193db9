"""What follows a checkout: payment, shipping, completion or cancellation or return; the buyer's
chats with the shop (with first-response times and CSAT) and product reviews."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from shopee.events.v1 import events_pb2
from shopee_generator.domain.clock import DAY_MS, HOUR_MS, MINUTE_MS, zone
from shopee_generator.domain.records import OrderInfo, Record, fill_chat, fill_order, fill_review
from shopee_generator.domain.shop import Shop
from shopee_generator.domain.texts import ASPECTS, CANCEL_REASONS, CHATS, RETURN_REASONS, REVIEWS

PAID_SHARE = 0.95
CANCEL_AFTER_PAYMENT = 0.02
RETURN_SHARE = 0.025
REVIEW_SHARE = 0.3
POST_SALE_CHAT_SHARE = 0.1
CSAT_SHARE = 0.35
WORKING_HOURS = (9, 22)


@dataclass
class OrderOutcome:
    records: list[Record] = field(default_factory=list)
    # When stock comes back (an order cancelled before shipping), if it does.
    restocked_at: int | None = None
    completed_at: int | None = None
    delivery_days: float = 0.0
    returned_at: int | None = None


class AfterSales:
    def __init__(self, shop: Shop) -> None:
        self._shop = shop
        offset = zone(shop.time_zone).utcoffset(datetime(2025, 1, 1))
        self._utc_offset_ms = int(offset.total_seconds() * 1000) if offset else 0
        self._conversations = 0
        self._reviews = 0

    def local_hour(self, epoch_ms: int) -> int:
        return ((epoch_ms + self._utc_offset_ms) // HOUR_MS) % 24

    def order(
        self, info: OrderInfo, created_ms: int, rng: np.random.Generator, pays: bool
    ) -> OrderOutcome:
        """The state changes of one order from CREATED on, at their times."""
        outcome = OrderOutcome()
        add = outcome.records.append
        add((created_ms, fill_order, (info, events_pb2.ORDER_STATUS_CREATED, "")))
        if not pays or rng.random() >= PAID_SHARE:
            cancelled = created_ms + DAY_MS
            add(
                (
                    cancelled,
                    fill_order,
                    (info, events_pb2.ORDER_STATUS_CANCELLED, CANCEL_REASONS[0]),
                )
            )
            outcome.restocked_at = cancelled
            return outcome
        paid = created_ms + 10_000 + int(rng.exponential(4 * MINUTE_MS))
        add((paid, fill_order, (info, events_pb2.ORDER_STATUS_PAID, "")))
        if rng.random() < CANCEL_AFTER_PAYMENT:
            cancelled = paid + int(rng.uniform(10 * MINUTE_MS, 8 * HOUR_MS))
            reason = CANCEL_REASONS[1 + int(rng.integers(0, 3))]
            add((cancelled, fill_order, (info, events_pb2.ORDER_STATUS_CANCELLED, reason)))
            outcome.restocked_at = cancelled
            return outcome
        handling = min(max(rng.lognormal(math.log(16 * HOUR_MS), 0.5), HOUR_MS), 72 * HOUR_MS)
        shipped = paid + int(handling)
        add((shipped, fill_order, (info, events_pb2.ORDER_STATUS_SHIPPED, "")))
        outcome.delivery_days = float(rng.uniform(1.5, 6.0))
        delivered = shipped + int(outcome.delivery_days * DAY_MS)
        if rng.random() < RETURN_SHARE:
            returned = delivered + int(rng.uniform(0.5, 3.0) * DAY_MS)
            reason = RETURN_REASONS[int(rng.integers(0, len(RETURN_REASONS)))]
            add((returned, fill_order, (info, events_pb2.ORDER_STATUS_RETURNED, reason)))
            outcome.returned_at = returned
            return outcome
        completed = delivered + int(rng.uniform(0.1, 3.0) * DAY_MS)
        add((completed, fill_order, (info, events_pb2.ORDER_STATUS_COMPLETED, "")))
        outcome.completed_at = completed
        return outcome

    def _language(self, rng: np.random.Generator) -> str:
        local = self._shop.market.language
        return local if local == "en" or rng.random() < 0.7 else "en"

    def _first_response_ms(self, asked_ms: int, busy: bool, rng: np.random.Generator) -> int:
        median = self._shop.response_median_seconds * 1000 * (2.5 if busy else 1.0)
        typing = rng.lognormal(math.log(median), 0.9)
        hour = self.local_hour(asked_ms)
        if WORKING_HOURS[0] <= hour < WORKING_HOURS[1]:
            wait = 0
        else:
            # Nobody answers at night: the reply comes after the team starts at 09:00.
            wait = ((WORKING_HOURS[0] - hour) % 24) * HOUR_MS - (
                asked_ms + self._utc_offset_ms
            ) % HOUR_MS
        return int(min(max(typing + wait, 5_000), 3 * DAY_MS))

    def conversation(
        self, buyer_id: str, asked_ms: int, topic: str, busy: bool, rng: np.random.Generator
    ) -> list[Record]:
        """A buyer's chat: question(s), an auto-reply maybe, the seller's answer, maybe a CSAT."""
        self._conversations += 1
        conversation_id = f"conv-{self._shop.index}-{self._conversations:07d}"
        lines = CHATS[self._language(rng)]
        records: list[Record] = []
        count = 0

        def message(at: int, sender: int, text: str, first_response_seconds: int = 0) -> None:
            nonlocal count
            count += 1
            records.append(
                (
                    at,
                    fill_chat,
                    (
                        events_pb2.CHAT_KIND_MESSAGE,
                        conversation_id,
                        f"{conversation_id}-{count}",
                        sender,
                        buyer_id,
                        text,
                        first_response_seconds,
                        0,
                    ),
                )
            )

        def line(kind: str) -> str:
            options = lines[kind]
            return options[int(rng.integers(0, len(options)))]

        message(asked_ms, events_pb2.CHAT_SENDER_BUYER, line(topic))
        if rng.random() < 0.3:
            message(
                asked_ms + int(rng.uniform(15_000, 90_000)),
                events_pb2.CHAT_SENDER_BUYER,
                line(topic),
            )
        if self._shop.auto_reply:
            message(asked_ms + 2_000, events_pb2.CHAT_SENDER_BOT, lines["bot"][0])
        response = self._first_response_ms(asked_ms, busy, rng)
        last = asked_ms + response
        message(last, events_pb2.CHAT_SENDER_SELLER, line("seller"), max(1, response // 1000))
        if rng.random() < 0.5:
            last += int(rng.uniform(30_000, 600_000))
            message(last, events_pb2.CHAT_SENDER_BUYER, line("follow_up"))
            last += int(rng.uniform(20_000, 300_000))
            message(last, events_pb2.CHAT_SENDER_SELLER, line("seller"))
        if rng.random() < CSAT_SHARE:
            slowness = math.log10(max(response / 30_000, 1.0))
            score = int(np.clip(round(4.8 - 0.45 * slowness + rng.normal(0, 0.6)), 1, 5))
            records.append(
                (
                    last + int(rng.uniform(5, 60)) * MINUTE_MS,
                    fill_chat,
                    (events_pb2.CHAT_KIND_CSAT, conversation_id, "", 0, buyer_id, "", 0, score),
                )
            )
        return records

    def review(
        self,
        info: OrderInfo,
        product_id: str,
        quality: float,
        delivery_days: float,
        at_ms: int,
        rng: np.random.Generator,
    ) -> Record:
        """A review whose stars follow the product's quality and the delivery time."""
        self._reviews += 1
        mean = 4.35 + 2.0 * (quality - 0.8) - 0.3 * max(0.0, delivery_days - 4)
        rating = 1 if rng.random() < 0.03 else int(np.clip(round(mean + rng.normal(0, 0.8)), 1, 5))
        language = self._language(rng)
        text = review_text(language, rating, delivery_days, rng)
        return (
            at_ms,
            fill_review,
            (
                f"rv-{self._shop.index}-{self._reviews:07d}",
                info.order_id,
                product_id,
                info.buyer_id,
                rating,
                text,
                language,
            ),
        )


def _sentiment(rating: int) -> str:
    return "pos" if rating >= 4 else "neu" if rating == 3 else "neg"


def review_text(language: str, rating: int, delivery_days: float, rng: np.random.Generator) -> str:
    """A short review: opener, one or two aspects, closer, matching the stars."""
    phrases = REVIEWS[language]
    mood = _sentiment(rating)

    def pick(options: tuple[str, ...]) -> str:
        return options[int(rng.integers(0, len(options)))]

    parts = []
    if rng.random() < 0.7:
        parts.append(pick(phrases["open"][mood]))
    for aspect_index in rng.choice(
        len(ASPECTS), size=int(rng.integers(1, 3)), replace=False
    ).tolist():
        aspect = ASPECTS[aspect_index]
        aspect_mood = mood
        if aspect == "delivery":
            aspect_mood = "pos" if delivery_days <= 3 else "neu" if delivery_days <= 5 else "neg"
        parts.append(pick(phrases[aspect][aspect_mood]))
    if rng.random() < 0.6:
        parts.append(pick(phrases["close"][mood]))
    return " ".join(part for part in parts if part)
