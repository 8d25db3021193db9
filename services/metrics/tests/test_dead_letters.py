"""Dead letters read back from the DLQ: the producer's record split from the job's headers, which
ones an operator's selection takes, and the summary by reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shopee_common.events import FieldError
from shopee_metrics.adapters.dead_letters import DeadLetter, dlq_headers
from shopee_metrics.domain.dead_letters import (
    DeadLetterSummary,
    Selection,
    stored_dead_letter,
)

AT = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


def letter(
    reason: str, shop: str = "glowlab-id", topic: str = "t1.events.orders", at: datetime = AT
):
    written = DeadLetter(
        value=b"{}",
        key=shop.encode(),
        headers=[("content-type", b"application/json"), ("dlq.reason", b"an older reason")],
        reason=reason,
        errors=[FieldError("shop_id", f"shop {shop!r} is not registered")],
        source_topic=topic,
        source_partition=4,
        source_offset=17,
    )
    return stored_dead_letter(written.key, written.value, dlq_headers(written), at)


def test_a_dead_letter_reads_back_as_its_producer_sent_it_and_why_it_was_refused() -> None:
    read = letter("unknown shop")
    assert read.headers == [("content-type", b"application/json")]
    assert (read.reason, read.source_topic) == ("unknown shop", "t1.events.orders")
    assert read.errors == [{"field": "shop_id", "message": "shop 'glowlab-id' is not registered"}]
    assert read.shop == "glowlab-id"


def test_a_record_the_job_did_not_write_reads_as_of_unknown_reason() -> None:
    read = stored_dead_letter(None, None, [("dlq.errors", b"not json")], AT)
    assert (read.reason, read.source_topic, read.errors, read.shop, read.value) == (
        "unknown",
        "",
        [],
        "",
        b"",
    )


def test_a_selection_takes_reasons_by_prefix_shops_by_key_and_topics_without_the_prefix() -> None:
    unknown = letter("unknown shop", shop="new-shop")
    invalid = letter("invalid value: order.items[0].quantity", topic="t1.events.traffic")
    assert Selection().takes(unknown)
    assert Selection(reasons=("invalid value",)).takes(invalid)
    assert not Selection(reasons=("invalid value",)).takes(unknown)
    assert Selection(shops=("new-shop",)).takes(unknown)
    assert not Selection(shops=("new-shop",)).takes(invalid)
    assert Selection(topics=("events.traffic",)).takes(invalid, topic_prefix="t1.")
    assert not Selection(topics=("events.traffic",)).takes(unknown, topic_prefix="t1.")
    both = Selection(reasons=("unknown shop",), shops=("glowlab-id",))
    assert not both.takes(unknown)


def test_the_summary_counts_by_reason_and_topic_largest_first() -> None:
    summary = DeadLetterSummary()
    for minutes, shop in enumerate(["a", "b", "a"]):
        summary.add(letter("unknown shop", shop=shop, at=AT + timedelta(minutes=minutes)))
    summary.add(letter("schema violation", at=AT - timedelta(hours=1)))
    first, second = summary.rows()
    assert (first.reason, first.count, first.first, first.last) == (
        "unknown shop",
        3,
        AT,
        AT + timedelta(minutes=2),
    )
    assert first.shops.most_common() == [("a", 2), ("b", 1)]
    assert first.example == "shop_id: shop 'a' is not registered"
    assert (second.reason, second.count) == ("schema violation", 1)
