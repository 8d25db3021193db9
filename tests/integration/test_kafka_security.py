"""The services against a cluster that asks for TLS and a SCRAM user, as managed Kafka does: the
local broker's second listener (deploy/kafka/server.properties; certificates and user made by
scripts/stack)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import orjson
import pytest
from google.protobuf.json_format import MessageToDict

from shopee.metrics.v1 import metrics_pb2
from shopee_common.kafka import client_security, make_consumer
from shopee_common.settings import PlatformSettings
from shopee_common.topics import ALL_TOPICS, create_topics, delete_topics
from tests.integration.databases import migrated_database
from tests.integration.live_orders import paid_order
from tests.integration.service_process import (
    TEST_API_KEY,
    ServiceProcess,
    run_gateway,
    run_ingest,
    run_metrics,
)

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


@pytest.fixture(scope="module")
def secured_settings(secured: dict[str, str]) -> PlatformSettings:
    return PlatformSettings.model_validate(
        {name.removeprefix("SHOPEE_").lower(): value for name, value in secured.items()}
    )


@pytest.fixture
async def secured_prefix(secured_settings: PlatformSettings, unique_id: str) -> AsyncIterator[str]:
    """The platform's topics, made and deleted through the TLS + SCRAM listener."""
    prefix = f"t{unique_id}."
    servers, security = secured_settings.kafka_bootstrap_servers, client_security(secured_settings)
    await create_topics(servers, ALL_TOPICS, prefix=prefix, security=security)
    yield prefix
    await delete_topics(servers, prefix, security)


def refused_by_name(service: AbstractContextManager[ServiceProcess]) -> None:
    """The service, given a wrong password, stops at start-up saying why."""
    with pytest.raises(RuntimeError) as refused, service:
        pass
    assert "Authentication failed" in str(refused.value), str(refused.value)[-2000:]


@pytest.fixture
def database(database_url: str) -> Iterator[str]:
    with migrated_database(database_url, {SHOP: ZONE}) as dsn:
        yield dsn


async def test_events_flow_through_ingest_and_the_job_over_tls_and_scram(
    secured: dict[str, str],
    secured_settings: PlatformSettings,
    secured_prefix: str,
    database: str,
) -> None:
    prefix = secured_prefix
    updates = make_consumer(
        prefix + "kpi.updates",
        bootstrap_servers=secured_settings.kafka_bootstrap_servers,
        group_id=None,
        client_id="tls-test",
        **client_security(secured_settings),
    )
    orders = [
        MessageToDict(paid_order(SHOP, ZONE), preserving_proto_field_name=True)
        for _ in range(ORDERS)
    ]
    await updates.start()
    try:
        with run_metrics(prefix, database, **secured), run_ingest(prefix, **secured) as ingest:
            async with httpx.AsyncClient(timeout=30) as http:
                response = await http.post(
                    f"{ingest.url}/v1/events",
                    content=orjson.dumps(orders),
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
    assert paid == ORDERS


async def test_the_gateway_reads_kpi_updates_over_tls_and_scram(
    secured: dict[str, str], secured_prefix: str, database: str, unique_id: str
) -> None:
    # The gateway's live reader connects at start-up: a gateway that answers ready has it.
    with run_gateway(secured_prefix, database, **secured) as gateway:
        async with httpx.AsyncClient(timeout=10) as http:
            ready = await http.get(f"{gateway.url}/readyz")
        assert ready.status_code == 200, ready.text
    wrong = {**secured, "SHOPEE_KAFKA_SASL_PASSWORD": "not-the-password"}
    refused_by_name(run_gateway(secured_prefix, database, **wrong))


def test_a_wrong_password_is_refused_by_name(secured: dict[str, str], unique_id: str) -> None:
    wrong = {**secured, "SHOPEE_KAFKA_SASL_PASSWORD": "not-the-password"}
    refused_by_name(run_ingest(f"t{unique_id}.", **wrong))
