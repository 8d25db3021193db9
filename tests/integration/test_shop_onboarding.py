"""A seller's new shop, end to end: an admin registers it through the gateway, ingest takes its
events at once (with a key looked up before the shop existed), the stream job counts them, the
gateway answers its KPIs, and an event its own producer got wrong, or sent an hour late, is
listed with the reason; and
what the shop routes answer to bad or foreign requests."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from google.protobuf import json_format

from shopee_common.kafka import make_producer
from shopee_gateway.app import create_app
from tests.integration.gateway_fixtures import (  # noqa: F401 - pytest fixtures
    World,
    gateway_fixture,
    gateway_settings,
    running,
    sign_in,
    world_fixture,
)
from tests.integration.live_orders import paid_order
from tests.integration.service_process import run_ingest, run_metrics

pytestmark = pytest.mark.integration

NEW_SHOP = {
    "id": "rumahkopi-id",
    "name": "Rumah Kopi",
    "market": "ID",
    "currency": "IDR",
    "time_zone": "Asia/Jakarta",
}


def _order_json(shop: str) -> dict[str, Any]:
    return json_format.MessageToDict(
        paid_order(shop, NEW_SHOP["time_zone"], unit_price_minor=125_000),
        preserving_proto_field_name=True,
    )


def _send(ingest_url: str, key: str, shop: str) -> httpx.Response:
    return httpx.post(
        f"{ingest_url}/v1/events", json=[_order_json(shop)], headers={"x-api-key": key}
    )


async def _produce(bootstrap: str, topic: str, shop: str, event: dict[str, Any]) -> None:
    producer = make_producer(bootstrap, client_id="onboarding-test")
    await producer.start()
    try:
        await producer.send_and_wait(topic, json.dumps(event).encode(), key=shop.encode())
    finally:
        await producer.stop()


async def _wait_for_items(
    gateway: httpx.AsyncClient, headers: dict[str, str], route: str, shop: str
) -> list[dict[str, Any]]:
    """The items of `GET /api/{route}?shop_id=` once there are any."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = await gateway.get(f"/api/{route}", params={"shop_id": shop}, headers=headers)
        assert answer.status_code == 200, answer.text
        if items := answer.json()["items"]:
            return list(items)
        await asyncio.sleep(0.5)
    raise AssertionError(f"nothing of {shop} in /api/{route} within 60 s")


async def test_a_shop_registered_through_the_api_is_taken_at_once_and_counted(
    world: World, topic_prefix: str, kafka_bootstrap: str
) -> None:
    tenant = world.tenants["a"]
    # A gateway on the test's topics: its kpi.updates reader drops the cached answers of a shop
    # as its figures change.
    settings = gateway_settings(world.dsn, topic_prefix=topic_prefix)
    async with running(create_app(settings)) as gateway:
        admin = await sign_in(gateway, tenant.emails["admin"])
        issued = await gateway.post(
            "/api/api-keys", json={"name": "shop sync", "scopes": ["kpis:read"]}, headers=admin
        )
        assert issued.status_code == 201, issued.text
        key = issued.json()["key"]
        with (
            run_ingest(topic_prefix, SHOPEE_DATABASE_URL=world.dsn) as ingest,
            run_metrics(topic_prefix, world.dsn),
        ):
            # Before it is registered: refused, and the key is now cached without the shop.
            assert _send(ingest.url, key, NEW_SHOP["id"]).status_code == 403
            registered = await gateway.post("/api/shops", json=NEW_SHOP, headers=admin)
            assert registered.status_code == 201, registered.text
            assert registered.json() == NEW_SHOP
            await asyncio.sleep(1)  # a key is looked up again at most once a second
            sent = _send(ingest.url, key, NEW_SHOP["id"])
            assert sent.status_code == 200, sent.text

            today = datetime.now(ZoneInfo(NEW_SHOP["time_zone"])).date().isoformat()
            query = {"shops": NEW_SHOP["id"], "from": today, "to": today, "kpis": "gmv"}
            deadline, gmv = time.monotonic() + 60, None
            while time.monotonic() < deadline and gmv != 125_000:
                summary = await gateway.get("/api/kpis/summary", params=query, headers=admin)
                assert summary.status_code == 200, summary.text
                [shop] = [s for s in summary.json()["shops"] if s["shop_id"] == NEW_SHOP["id"]]
                gmv = shop["kpis"][0]["current"]
                await asyncio.sleep(0.5)
            assert gmv == 125_000

            # Its own producer writes an event with a negative price straight to the topic: the
            # seller reads why it was refused.
            bad = {**_order_json(NEW_SHOP["id"]), "event_id": "refused-1"}
            bad["order"]["items"][0]["unit_price_minor"] = -5
            await _produce(kafka_bootstrap, topic_prefix + "events.orders", NEW_SHOP["id"], bad)
            [refused] = await _wait_for_items(gateway, admin, "dead-letters", NEW_SHOP["id"])
            assert refused["event_id"] == "refused-1"
            assert refused["reason"] == "invalid value: order.items[0].unit_price_minor"
            assert refused["errors"][0]["field"] == "order.items[0].unit_price_minor"
            assert refused["source_topic"] == topic_prefix + "events.orders"
            assert '"refused-1"' in refused["payload_preview"]
            other = await sign_in(gateway, world.tenants["b"].emails["admin"])
            theirs = await gateway.get("/api/dead-letters", headers=other)
            assert theirs.json()["items"] == []
            foreign = await gateway.get(
                "/api/dead-letters", params={"shop_id": NEW_SHOP["id"]}, headers=other
            )
            assert foreign.status_code == 404

            # And one an hour old, past the late grace: recorded, not counted, and listed.
            late = {**_order_json(NEW_SHOP["id"]), "event_id": "late-1"}
            late["occurred_at"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
            await _produce(kafka_bootstrap, topic_prefix + "events.orders", NEW_SHOP["id"], late)
            [listed_late] = await _wait_for_items(gateway, admin, "late-events", NEW_SHOP["id"])
            assert listed_late["event_id"] == "late-1"
            assert 3_500 < listed_late["lateness_seconds"] < 3_700

        listed = await gateway.get("/api/shops", headers=admin)
        assert [s["id"] for s in listed.json()] == sorted([*tenant.shops, NEW_SHOP["id"]])
        me = await gateway.get("/api/me", headers=admin)
        assert NEW_SHOP in me.json()["shops"]


async def test_the_shop_routes_refuse_what_they_cannot_take(
    gateway: httpx.AsyncClient, world: World
) -> None:
    admin = await sign_in(gateway, world.tenants["a"].emails["admin"])
    viewer = await sign_in(gateway, world.tenants["a"].emails["viewer"])
    shop = {**NEW_SHOP, "id": "second-shop"}
    assert (await gateway.post("/api/shops", json=shop, headers=viewer)).status_code == 403
    assert (await gateway.post("/api/shops", json=shop, headers=admin)).status_code == 201
    # Shop ids are the events': unique across organisations too.
    again = await gateway.post("/api/shops", json=shop, headers=admin)
    assert again.status_code == 409
    foreign = world.tenants["b"].shops[0]
    taken = await gateway.post("/api/shops", json={**shop, "id": foreign}, headers=admin)
    assert taken.status_code == 409
    for field, value in (
        ("time_zone", "Asia/Atlantis"),
        ("id", "has spaces"),
        ("currency", "idr"),
        ("market", "IDN"),
    ):
        bad = await gateway.post(
            "/api/shops", json={**shop, "id": "third", field: value}, headers=admin
        )
        assert bad.status_code == 422, (field, bad.text)
        assert bad.json()["errors"][0]["field"] == f"body.{field}", bad.json()

    renamed = await gateway.patch(
        f"/api/shops/{shop['id']}", json={"name": "Rumah Kopi Kedua"}, headers=admin
    )
    assert renamed.status_code == 200
    assert renamed.json() == {**shop, "name": "Rumah Kopi Kedua"}
    # Another organisation's shop reads as absent; only the name may change.
    other = await gateway.patch(f"/api/shops/{foreign}", json={"name": "mine"}, headers=admin)
    assert other.status_code == 404
    zone = await gateway.patch(
        f"/api/shops/{shop['id']}", json={"name": "x", "time_zone": "UTC"}, headers=admin
    )
    assert zone.status_code == 422, zone.text
    assert zone.json()["errors"][0]["field"] == "body.time_zone"
