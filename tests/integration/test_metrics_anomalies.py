"""Anomaly detection in the real stream job, through private topics into a throwaway database.

A generated shop with a checkout outage put in by hand (its orders dropped for three midday
hours, checkouts still starting): the job must store and publish one anomaly that explains it,
and nothing else, within a bounded time. The same for an outage of an hour that straddles two
hour buckets, found to the minute from kpi_minute, and for one going on now, called before its
hour closes. A live shop whose events stop: the job must say its data is incomplete (not
anomalous) and take it back when events flow again."""

from __future__ import annotations

import asyncio
import re
import time as clock
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import psycopg
import pytest

from shopee.events.v1 import events_pb2
from shopee.metrics.v1 import metrics_pb2
from shopee_common.events import payload_topic
from shopee_common.kafka import make_producer
from shopee_common.topics import ANOMALIES
from shopee_generator.world import GeneratorConfig, generate_history
from shopee_metrics.adapters.anomaly_store import AnomalyStore
from shopee_metrics.domain.anomalies.detector import MissingData
from tests.integration.databases import copy_raw_events, migrated_database, shops_of
from tests.integration.kafka_reader import read_topics
from tests.integration.service_process import ServiceProcess, run_metrics

pytestmark = pytest.mark.integration

# Monday 12 October 2026, the tail of 10.10, then a week without sale days or paydays.
START = date(2026, 10, 12)
DAYS = 8
OUTAGE_DAY = START + timedelta(days=6)
DETECTION_SECONDS = 90
# Judging every second once a shop has four days of history.
ANOMALY_SETTINGS = {
    "SHOPEE_METRICS_ANOMALY_INTERVAL_SECONDS": "1",
    "SHOPEE_METRICS_ANOMALY_QUIET_SECONDS": "3",
    "SHOPEE_METRICS_ANOMALY_MIN_HISTORY_HOURS": "96",
}


def world(
    begin_local: time = time(12), end_local: time = time(15)
) -> tuple[list[events_pb2.Event], datetime, datetime, int]:
    """One busy shop's events with every order created during the outage (local times of
    OUTAGE_DAY) removed; the outage's start and end in UTC, and the orders it removed."""
    config = GeneratorConfig(start=START, days=DAYS, shops=1, scale=3.0, seed=5, incidents=False)
    events = list(generate_history(config))
    zone = ZoneInfo(events[0].time_zone)
    begin = datetime.combine(OUTAGE_DAY, begin_local, tzinfo=zone)
    end = datetime.combine(OUTAGE_DAY, end_local, tzinfo=zone)
    broken = {
        e.order.order_id
        for e in events
        if e.WhichOneof("payload") == "order"
        and e.order.status == events_pb2.ORDER_STATUS_CREATED
        and begin.timestamp() <= e.occurred_at.seconds < end.timestamp()
    }
    kept = [
        e for e in events if not (e.WhichOneof("payload") == "order" and e.order.order_id in broken)
    ]
    return kept, begin.astimezone(UTC), end.astimezone(UTC), len(broken)


async def produce(bootstrap: str, prefix: str, events: list[events_pb2.Event]) -> None:
    producer = make_producer(bootstrap, client_id="anomaly-test")
    await producer.start()
    try:
        acks = [
            await producer.send(
                prefix + payload_topic(e),
                e.SerializeToString(),
                key=e.shop_id.encode(),
                headers=[("content-type", b"application/x-protobuf")],
            )
            for e in events
        ]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


def anomaly_rows(dsn: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as connection:
        return connection.execute(
            "SELECT id::text, shop_id, kpis, bucket_start, bucket_end, observed, expected, "
            "score, severity, explanation FROM anomalies ORDER BY bucket_start"
        ).fetchall()


def progress(dsn: str) -> tuple[int, datetime | None]:
    """(events recorded, end of the hours judged)."""
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT (SELECT count(*) FROM event_ids), "
            "(SELECT max(judged_until) FROM anomaly_detector_state)"
        ).fetchone()
        assert row is not None
        return int(row[0]), row[1]


def wait_until_judged(dsn: str, events: int, until: datetime, service: ServiceProcess) -> None:
    """Every event counted (stopping the job mid-stream is not what this test is about) and the
    hours up to `until` judged."""
    deadline = clock.monotonic() + DETECTION_SECONDS
    while clock.monotonic() < deadline:
        recorded, judged = progress(dsn)
        if recorded >= events and judged is not None and judged >= until:
            return
        assert service.process is not None
        assert service.process.poll() is None, service.output()[-3000:]
        clock.sleep(0.5)
    raise AssertionError(
        f"(events, hours judged) = {progress(dsn)}, not ({events}, {until}), "
        f"in {DETECTION_SECONDS}s:\n" + service.output()[-3000:]
    )


def judged(
    events: list[events_pb2.Event],
    end: datetime,
    database_url: str,
    topic_prefix: str,
    kafka_bootstrap: str,
) -> tuple[list[tuple[object, ...]], str]:
    """The anomalies the real job stores for `events`, once it has judged the hours to 6 h past
    `end`, and its metrics exposition then."""
    with anomaly_job(events, database_url, topic_prefix, kafka_bootstrap) as (dsn, metrics):
        wait_until_judged(dsn, len(events), end + timedelta(hours=6), metrics)
        return anomaly_rows(dsn), httpx.get(f"{metrics.url}/metrics", timeout=5).text


@contextmanager
def anomaly_job(
    events: list[events_pb2.Event],
    database_url: str,
    topic_prefix: str,
    kafka_bootstrap: str,
    **env: str,
) -> Iterator[tuple[str, ServiceProcess]]:
    """The real job on `events` (produced first), in a fresh database, with ANOMALY_SETTINGS."""
    asyncio.run(produce(kafka_bootstrap, topic_prefix, events))
    with (
        migrated_database(database_url, shops_of(events)) as dsn,
        run_metrics(topic_prefix, dsn, **ANOMALY_SETTINGS, **env) as metrics,
    ):
        yield dsn, metrics


def test_a_checkout_outage_is_stored_published_and_explained(
    database_url: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    events, begin, end, broken = world()
    assert broken >= 10, "the outage should break enough orders to be seen"
    rows, exposition = judged(events, end, database_url, topic_prefix, kafka_bootstrap)
    assert len(rows) == 1, rows
    anomaly_id, shop, kpis, start, stop, observed, expected, score, severity, text = rows[0]
    assert shop == events[0].shop_id
    assert (start, stop) == (begin, end)
    assert isinstance(kpis, list)
    assert "created_orders" in kpis
    assert "gmv" in kpis
    assert isinstance(observed, dict)
    assert isinstance(expected, dict)
    assert observed["created_orders"] == 0
    assert expected["created_orders"] > 5
    assert severity == "critical"
    assert 0 < float(str(score)) <= 1
    assert isinstance(text, str)
    assert "below expected" in text.split(";")[0]
    assert "visitors normal" in text
    assert "conversion fell from" in text
    assert "became orders" in text
    # Counted once, with the severity it was first raised with (it may grow more severe).
    assert re.search(
        r'metrics_anomalies_total\{kpi="created_orders",severity="\w+"\} 1\.0', exposition
    )
    assert f'metrics_data_incomplete{{shop="{shop}"}} 0.0' in exposition

    records = asyncio.run(read_topics(kafka_bootstrap, [topic_prefix + ANOMALIES.name]))
    published = []
    for record in records:
        headers = dict(record.headers)
        assert headers["message-type"] == b"shopee.metrics.v1.Anomaly"
        message = metrics_pb2.Anomaly.FromString(record.value)
        assert record.key == shop.encode()
        assert message.shop_id == shop
        published.append(message)
    assert {m.anomaly_id for m in published} == {anomaly_id}
    last = published[-1]
    assert last.explanation == text
    assert last.severity == metrics_pb2.SEVERITY_CRITICAL
    assert last.bucket_start.ToDatetime(tzinfo=UTC) == begin
    assert last.bucket_end.ToDatetime(tzinfo=UTC) == end
    assert "created_orders" in {o.kpi for o in last.observations}


def test_a_restarted_job_resumes_detection_from_its_checkpoint(
    database_url: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    events, _, end, _ = world()
    asyncio.run(produce(kafka_bootstrap, topic_prefix, events))
    topics = [topic_prefix + ANOMALIES.name]
    with migrated_database(database_url, shops_of(events)) as dsn:
        with run_metrics(topic_prefix, dsn, **ANOMALY_SETTINGS) as first:
            wait_until_judged(dsn, len(events), end + timedelta(hours=6), first)
        _, judged_until = progress(dsn)
        with psycopg.connect(dsn) as connection:
            checkpoints = connection.execute(
                "SELECT shop_id, judged_until, length(detector) FROM anomaly_detector_checkpoints"
            ).fetchall()
        ((shop, checkpointed, size),) = checkpoints
        assert shop == events[0].shop_id
        assert isinstance(checkpointed, datetime)
        assert judged_until is not None
        assert checkpointed <= judged_until
        assert 1_000 < int(str(size)) < 5_000_000
        published = len(asyncio.run(read_topics(kafka_bootstrap, topics)))
        assert published > 0
        loaded = 'metrics_anomaly_detectors_loaded_total{source="checkpoint"} 1.0'
        with run_metrics(topic_prefix, dsn, **ANOMALY_SETTINGS) as again:
            wait_for(lambda: loaded in httpx.get(f"{again.url}/metrics", timeout=5).text, again)
            assert "replaying" not in again.output()
        assert len(anomaly_rows(dsn)) == 1
    # The hours judged again after the checkpoint published nothing again.
    assert len(asyncio.run(read_topics(kafka_bootstrap, topics))) == published


def test_an_outage_across_an_hour_boundary_is_found_to_the_minute(
    database_url: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    events, begin, end, broken = world(time(12, 35), time(13, 40))
    # At 90% completion, six failed checkouts in a row have a chance of 1e-6.
    assert broken >= 6, "the outage should fail enough checkouts in a row to be seen"
    rows, _ = judged(events, end, database_url, topic_prefix, kafka_bootstrap)
    assert len(rows) == 1, rows
    _, _, kpis, start, stop, observed, _, _, _, text = rows[0]
    # The anomaly spans the hour buckets the run of failed checkouts touched.
    assert (start, stop) == (
        begin.replace(minute=0),
        end.replace(minute=0) + timedelta(hours=1),
    )
    assert isinstance(kpis, list)
    assert "created_orders" in kpis
    assert isinstance(observed, dict)
    assert observed["created_orders"] == 0
    assert isinstance(text, str)
    assert re.search(r"\d+ checkouts in a row became no order \(usually \d+% do\)", text), text


def page_view(shop: str, at: datetime, number: int) -> events_pb2.Event:
    event = events_pb2.Event(event_id=f"live-{number}", shop_id=shop, time_zone="Asia/Jakarta")
    event.occurred_at.FromDatetime(at)
    event.traffic.kind = events_pb2.TRAFFIC_KIND_PAGE_VIEW
    event.traffic.session_id = f"s-{number // 5}"
    event.traffic.visitor_id = f"v-{number // 5}"
    return event


def checkout_start(shop: str, zone: str, at: datetime, number: int) -> events_pb2.Event:
    event = events_pb2.Event(event_id=f"live-checkout-{number}", shop_id=shop, time_zone=zone)
    event.occurred_at.FromDatetime(at)
    event.traffic.kind = events_pb2.TRAFFIC_KIND_CHECKOUT_START
    event.traffic.session_id = f"s-checkout-{number}"
    event.traffic.visitor_id = f"v-checkout-{number}"
    return event


def shifted(event: events_pb2.Event, by: timedelta, zone: str) -> events_pb2.Event:
    """The event `by` later, in `zone` (a generated history replayed as if it had just
    happened)."""
    moved = events_pb2.Event()
    moved.CopyFrom(event)
    moved.time_zone = zone
    moved.occurred_at.FromDatetime(event.occurred_at.ToDatetime(tzinfo=UTC) + by)
    if moved.WhichOneof("payload") == "campaign":
        for stamp in (moved.campaign.starts_at, moved.campaign.ends_at):
            stamp.FromDatetime(stamp.ToDatetime(tzinfo=UTC) + by)
    return moved


def incomplete_rows(dsn: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as connection:
        return connection.execute(
            "SELECT shop_id, since, lag_seconds, reason, resolved_at FROM data_incomplete"
        ).fetchall()


def wait_for(condition: Callable[[], bool], service: ServiceProcess, seconds: float = 30) -> None:
    deadline = clock.monotonic() + seconds
    while clock.monotonic() < deadline:
        if condition():
            return
        assert service.process is not None
        assert service.process.poll() is None, service.output()[-3000:]
        clock.sleep(0.3)
    raise AssertionError(f"not within {seconds}s:\n{service.output()[-3000:]}")


def test_a_live_shop_whose_events_stop_is_data_incomplete_until_they_flow_again(
    database_url: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    shop = "live-shop"
    stopped = datetime.now(UTC) - timedelta(minutes=40)
    before = [page_view(shop, stopped - timedelta(seconds=30 * i), i) for i in range(60)]
    asyncio.run(produce(kafka_bootstrap, topic_prefix, before))
    with (
        migrated_database(database_url, {shop: "Asia/Jakarta"}) as dsn,
        run_metrics(
            topic_prefix,
            dsn,
            SHOPEE_METRICS_ANOMALY_INTERVAL_SECONDS="0.5",
            SHOPEE_METRICS_ANOMALY_STALL_SECONDS="600",
        ) as metrics,
    ):
        wait_for(lambda: bool(incomplete_rows(dsn)), metrics)
        ((_, since, lag, reason, resolved_at),) = incomplete_rows(dsn)
        assert isinstance(since, datetime)
        assert abs(since - stopped) < timedelta(milliseconds=1)
        assert isinstance(lag, float)
        assert lag >= 40 * 60
        assert resolved_at is None
        # Counted just now, forty minutes after they happened.
        assert re.fullmatch(r"events arrive 4\d min late", str(reason)), reason
        gauge = f'metrics_data_incomplete{{shop="{shop}"}} 1.0'
        assert gauge in httpx.get(f"{metrics.url}/metrics", timeout=5).text
        asyncio.run(
            produce(kafka_bootstrap, topic_prefix, [page_view(shop, datetime.now(UTC), 1000)])
        )
        wait_for(lambda: incomplete_rows(dsn)[0][4] is not None, metrics)
    records = asyncio.run(read_topics(kafka_bootstrap, [topic_prefix + ANOMALIES.name], 2))
    signals = [metrics_pb2.DataIncomplete.FromString(r.value) for r in records]
    assert [dict(r.headers)["message-type"] for r in records] == [
        b"shopee.metrics.v1.DataIncomplete"
    ] * 2
    assert [(s.shop_id, s.resolved) for s in signals] == [(shop, False), (shop, True)]
    assert signals[0].lag_seconds >= 40 * 60


def test_a_checkout_outage_going_on_is_called_before_its_hour_closes(
    database_url: str, topic_prefix: str, kafka_bootstrap: str
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # The open hour must have begun at least 25 minutes ago to hold the outage and its settling:
    # Jakarta's hours start on the UTC hour, Kolkata's half past.
    zone = "Asia/Jakarta" if now.minute >= 25 else "Asia/Kolkata"
    hour = now.astimezone(ZoneInfo(zone)).replace(minute=0).astimezone(UTC)
    config = GeneratorConfig(start=START, days=5, shops=1, scale=3.0, seed=5, incidents=False)
    history = list(generate_history(config))
    shop = history[0].shop_id
    newest = max(e.occurred_at.ToDatetime(tzinfo=UTC) for e in history)
    by = hour - timedelta(minutes=30) - newest
    events = [shifted(e, by, zone) for e in history]
    # The hour opens with a checkout that became an order; then eight that did not, while page
    # views go on.
    events.append(checkout_start(shop, zone, hour + timedelta(seconds=10), 99))
    order = next(
        e
        for e in reversed(events)
        if e.WhichOneof("payload") == "order" and e.order.status == events_pb2.ORDER_STATUS_CREATED
    )
    events.append(
        shifted(
            order, hour + timedelta(seconds=40) - order.occurred_at.ToDatetime(tzinfo=UTC), zone
        )
    )
    events[-1].event_id, events[-1].order.order_id = "live-order", "LIVE-ORDER-1"
    events += [checkout_start(shop, zone, hour + timedelta(minutes=1 + 2 * i), i) for i in range(8)]
    events += [
        page_view(shop, now - timedelta(minutes=minutes), 10_000 + minutes)
        for minutes in range(60, 0, -1)
    ]
    for event in events[-60:]:
        event.time_zone = zone
    with anomaly_job(
        events,
        database_url,
        topic_prefix,
        kafka_bootstrap,
        SHOPEE_METRICS_LATE_GRACE_SECONDS="60",
    ) as (dsn, metrics):
        wait_for(
            lambda: any("orders stopped" in str(row[-1]) for row in anomaly_rows(dsn)),
            metrics,
            seconds=DETECTION_SECONDS,
        )
        rows = [row for row in anomaly_rows(dsn) if "orders stopped" in str(row[-1])]
        judged = progress(dsn)[1]
    ((_, _, kpis, start, stop, observed, _, _, _, text),) = rows
    assert (start, stop) == (hour, hour + timedelta(hours=1))
    assert judged == hour  # the hour had not closed
    assert kpis == ["created_orders"]
    assert isinstance(observed, dict)
    assert observed["created_orders"] == 0
    local = (hour + timedelta(minutes=1)).astimezone(ZoneInfo(zone))
    assert str(text).startswith(f"orders stopped: 8 checkouts in a row since {local:%H:%M} "), text


async def test_product_anomalies_are_named_from_the_latest_catalogue_event(
    database_url: str,
) -> None:
    """The product watch knows products by id; the runner names them in the explanation from
    product_catalog, which keeps each product's latest catalogue event."""
    config = GeneratorConfig(start=START, days=2, shops=1, seed=5, incidents=False)
    catalogue = [e for e in generate_history(config) if e.WhichOneof("payload") == "catalog"]
    shop = catalogue[0].shop_id
    renamed = events_pb2.Event()
    renamed.CopyFrom(catalogue[0])
    renamed.event_id += "-renamed"
    renamed.occurred_at.seconds += 3600
    renamed.catalog.name = "Renamed on the day"
    latest = {e.catalog.product_id: e.catalog.name for e in catalogue}
    latest[renamed.catalog.product_id] = renamed.catalog.name
    with migrated_database(database_url, shops_of(catalogue)) as dsn:
        with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
            copy_raw_events(cursor, [renamed, *catalogue])
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
        try:
            names = await AnomalyStore(pool).product_names(shop, [*latest, "not-in-catalogue"])
        finally:
            await pool.close()
    assert names == latest
    assert names[renamed.catalog.product_id] == "Renamed on the day"


async def test_a_stretch_of_missing_events_is_stored_once_as_a_closed_period(
    database_url: str,
) -> None:
    """Found again when the same hours are judged after a crash, it is recorded once; later
    judging reads it as a period not to judge."""
    start = datetime(2026, 12, 6, 17, tzinfo=UTC)
    missing = MissingData(start, start + timedelta(hours=14), 7_938.0)
    with migrated_database(database_url, {"glowlab-id": "Asia/Jakarta"}) as dsn:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
        try:
            store = AnomalyStore(pool)
            await store.record_missing("glowlab-id", missing)
            await store.record_missing("glowlab-id", missing)
            rows = await pool.fetch(
                "SELECT since, resolved_at, lag_seconds, reason FROM data_incomplete"
            )
            periods = await store.incomplete_periods(
                "glowlab-id", start - timedelta(days=1), start + timedelta(days=1)
            )
            still_open = await store.open_incomplete()
        finally:
            await pool.close()
    assert [tuple(r) for r in rows] == [(missing.start, missing.end, 14 * 3600.0, missing.reason)]
    assert (
        missing.reason
        == "no events for 14 h where 7,938 visitors were expected: events missing, not judged"
    )
    assert periods == [(missing.start, missing.end)]
    assert still_open == {}
