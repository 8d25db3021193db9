"""What a resolved key allows: its organisation's shops, each in its registered zone."""

from __future__ import annotations

from shopee_ingest.adapters.api_keys import Producer


def test_organisation_key_knows_its_shops_and_their_zones() -> None:
    producer = Producer("producer", "org-1", {"shop-1": "Asia/Jakarta"})
    assert producer.may_publish_for("shop-1")
    assert not producer.may_publish_for("shop-2")
    assert producer.registered_zone("shop-1") == "Asia/Jakarta"
    assert producer.registered_zone("shop-2") is None


def test_static_key_publishes_for_any_shop_and_knows_no_zone() -> None:
    producer = Producer("static-key", None, None)
    assert producer.may_publish_for("any-shop")
    assert producer.registered_zone("any-shop") is None
