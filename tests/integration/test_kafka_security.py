"""The services against a cluster that asks for TLS and a SCRAM user, as managed Kafka does: the
local broker's second listener (deploy/kafka/server.properties; certificates and user made by
scripts/stack)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from shopee.metrics.v1 import metrics_pb2
from shopee_common.kafka import client_security, make_consumer
from shopee_common.settings import PlatformSettings
from shopee_common.topics import ALL_TOPICS, KPI_UPDATES, create_topics, delete_topics
from tests.integration.databases import migrated_database
from tests.integration.gateway_fixtures import signing_key_pem
from tests.integration.service_process import TEST_API_KEY, run_ingest, run_metrics, run_service

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SHOP = "tls-shop"
ZONE = "Asia/Jakarta"
ORDERS = 20


def _stack_env() -> dict[str, str]:
    """deploy/local/stack.env, as scripts/stack reads it (the environment wins)."""
    values = {}
    for line in (REPO / "deploy/local/stack.env").read_text().splitlines():
        name, _, value = line.partition("=")
        if value and not name.startswith("#"):
            values[name.strip()] = os.environ.get(name.strip(), value.strip())
    return values


@pytest.fixture(scope="module")
def secured() -> dict[str, str]:
    """SHOPEE_KAFKA_* for the TLS + SCRAM listener."""
    stack = _stack_env()
    cafile = Path(os.environ.get("KAFKA_TLS_DIR", REPO / ".run/kafka/tls")) / "ca.pem"
    if not cafile.is_file():
        pytest.fail(f"no {cafile}: start the stack with `scripts/stack up --infra`")
    return {
        "SHOPEE_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{stack['KAFKA_SASL_SSL_PORT']}",
        "SHOPEE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "SHOPEE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "SHOPEE_KAFKA_SASL_USERNAME": stack["KAFKA_SCRAM_USER"],
        "SHOPEE_KAFKA_SASL_PASSWORD": stack["KAFKA_SCRAM_PASSWORD"],
        "SHOPEE_KAFKA_SSL_CAFILE": str(cafile),
    }


@pytest.fixture
def database(database_url: str) -> Iterator[str]:
    with migrated_database(database_url, {SHOP: ZONE}) as dsn:
        yield dsn


def order(index: int) -> dict[str, object]:
    return {
        "event_id": f"00000000-0000-4000-8000-{index:012d}",
        "shop_id": SHOP,
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "time_zone": ZONE,
        "order": {
            "order_id": f"o-{index}",
            "status": "ORDER_STATUS_PAID",
            "currency": "IDR",
            "items": [{"product_id": "p-1", "quantity": 1, "unit_price_minor": 10_000}],
        },
    }


async def test_events_flow_through_ingest_and_the_job_over_tls_and_scram(
    secured: dict[str, str], database: str, unique_id: str
) -> None:
    settings = PlatformSettings.model_validate(
        {name.removeprefix("SHOPEE_").lower(): value for name, value in secured.items()}
    )
    security = client_security(settings)
    prefix = f"t{unique_id}."
    await create_topics(
        settings.kafka_bootstrap_servers, ALL_TOPICS, prefix=prefix, security=security
    )
    updates = make_consumer(
        prefix + "kpi.updates",
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        client_id="tls-test",
        **security,
    )
    await updates.start()
    try:
        with run_metrics(prefix, database, **secured), run_ingest(prefix, **secured) as ingest:
            async with httpx.AsyncClient(timeout=30) as http:
                response = await http.post(
                    f"{ingest.url}/v1/events",
                    content=orjson.dumps([order(i) for i in range(ORDERS)]),
                    headers={"content-type": "application/json", "x-api-key": TEST_API_KEY},
                )
            assert response.status_code == 200, response.text
            paid = 0.0
            deadline = time.monotonic() + 60
            while paid < ORDERS and time.monotonic() < deadline:
                for records in (await updates.getmany(timeout_ms=500)).values():
                    for record in records:
                        snapshot = metrics_pb2.KpiSnapshot.FromString(record.value)
                        paid = max(
                            [paid]
                            + [
                                value.numerator
                                for bucket in snapshot.buckets
                                if bucket.granularity == metrics_pb2.GRANULARITY_DAY
                                for value in bucket.values
                                if value.kpi == "paid_orders"
                            ]
                        )
    finally:
        await updates.stop()
        await delete_topics(settings.kafka_bootstrap_servers, prefix, security)
    assert paid == ORDERS


async def test_the_gateway_reads_kpi_updates_over_tls_and_scram(
    secured: dict[str, str], database: str, unique_id: str
) -> None:
    # The gateway's live reader connects at start-up: a gateway that answers ready has it.
    settings = PlatformSettings.model_validate(
        {name.removeprefix("SHOPEE_").lower(): value for name, value in secured.items()}
    )
    prefix = f"t{unique_id}."
    security = client_security(settings)
    await create_topics(
        settings.kafka_bootstrap_servers, (KPI_UPDATES,), prefix=prefix, security=security
    )
    env = {
        **secured,
        "SHOPEE_DATABASE_URL": database,
        "SHOPEE_GATEWAY_JWT_SIGNING_KEY": signing_key_pem(),
        "SHOPEE_GATEWAY_REDIS_PREFIX": f"tls{unique_id}:",
    }
    try:
        with run_service(
            "shopee_gateway", prefix, "SHOPEE_GATEWAY_PORT", "gateway stopped", **env
        ) as gateway:
            async with httpx.AsyncClient(timeout=10) as http:
                ready = await http.get(f"{gateway.url}/readyz")
            assert ready.status_code == 200, ready.text
        wrong = {**env, "SHOPEE_KAFKA_SASL_PASSWORD": "not-the-password"}
        with (
            pytest.raises(RuntimeError) as refused,
            run_service(
                "shopee_gateway", prefix, "SHOPEE_GATEWAY_PORT", "gateway stopped", **wrong
            ),
        ):
            pass
        assert "Authentication failed" in str(refused.value), str(refused.value)[-2000:]
    finally:
        await delete_topics(settings.kafka_bootstrap_servers, prefix, security)


def test_a_wrong_password_is_refused_by_name(secured: dict[str, str], unique_id: str) -> None:
    wrong = {**secured, "SHOPEE_KAFKA_SASL_PASSWORD": "not-the-password"}
    with pytest.raises(RuntimeError) as refused, run_ingest(f"t{unique_id}.", **wrong):
        pass
    assert "Authentication failed" in str(refused.value), str(refused.value)[-2000:]
