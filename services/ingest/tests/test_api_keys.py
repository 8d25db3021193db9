"""What a resolved key allows: its organisation's shops, each in its registered zone; and a shop
registered after the key was cached is taken at once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from shopee_common.api_keys import issue_api_key
from shopee_ingest.adapters import api_keys
from shopee_ingest.adapters.api_keys import RECHECK_SECONDS, ApiKeyAuthority, Producer


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


class OneOrganisation:
    """Stands in for the pool: the key's row, with the shops registered so far."""

    def __init__(self) -> None:
        self.shops = [["shop-1", "Asia/Jakarta"]]
        self.lookups = 0

    async def fetchrow(self, _query: str, _digest: str) -> dict[str, object]:
        self.lookups += 1
        return {"name": "producer", "organisation_id": "org-1", "shop_zones": list(self.shops)}


async def test_a_key_is_looked_up_again_for_a_shop_it_lacks_at_most_once_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1_000.0]
    # The module's clock only: the event loop keeps the real one.
    monkeypatch.setattr(api_keys, "time", SimpleNamespace(monotonic=lambda: now[0]))
    database = OneOrganisation()
    authority = ApiKeyAuthority([], database, cache_seconds=30)  # type: ignore[arg-type]
    key = issue_api_key().plain
    cached = await authority.resolve(key)
    assert cached is not None
    assert database.lookups == 1
    # Its own shops: no lookup. A shop registered since: one, not before a second has passed.
    assert await authority.for_shops(cached, ["shop-1"]) is cached
    database.shops.append(["shop-2", "Asia/Jakarta"])
    assert not (await authority.for_shops(cached, ["shop-2"])).may_publish_for("shop-2")
    assert database.lookups == 1
    now[0] += RECHECK_SECONDS
    fresh = await authority.for_shops(cached, ["shop-1", "shop-2"])
    assert fresh.may_publish_for("shop-2")
    assert database.lookups == 2
    # The fresh answer is what the cache holds now; a shop nobody registered costs a lookup a
    # second at most.
    assert await authority.resolve(key) == fresh
    for _ in range(5):
        await authority.for_shops(fresh, ["nobody-registered-this"])
    assert database.lookups == 2
