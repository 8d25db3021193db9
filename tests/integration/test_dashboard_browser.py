"""The web dashboard end to end, the way a user meets it: a real browser (headless Chromium)
signs in to the real gateway process, reads every page over the real database and the real
forecast and insights services, and watches an order pushed into Kafka reach the live tiles
through the real metrics job.

The KPI rows are the generator's world of gateway_fixtures (six days of four shops), so the
numbers checked come from the generator's events, not from the test.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest
from argon2 import PasswordHasher
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from shopee_common.kafka import make_producer
from shopee_db import upgrade
from shopee_db.testing import temporary_database
from shopee_generator.world import GeneratorConfig, generate_history
from tests.integration.browser import Browser
from tests.integration.databases import shops_of
from tests.integration.forecast_world import load_world
from tests.integration.gateway_fixtures import (  # noqa: F401 - pytest fixtures
    DAYS,
    FIRST_DAY,
    PASSWORD,
    World,
    insert_tenant,
    world_fixture,
)
from tests.integration.live_orders import paid_order
from tests.integration.service_process import (
    ServiceProcess,
    free_port,
    run_gateway,
    run_metrics,
    run_service,
)

pytestmark = pytest.mark.integration

PAGE_IDS = (
    "overview",
    "traffic",
    "sales",
    "campaigns",
    "service",
    "products",
    "customers",
    "anomalies",
)
GAP_REASON = "no events for 5 h where 240 visitors were expected: events missing, not judged"
# Where a model-backed part of a page may end: answered, or told plainly why not.
SETTLED = ("ready", "not-enough-data")


def _wait(driver: WebDriver, seconds: float, condition: Callable[[WebDriver], object]) -> object:
    return WebDriverWait(driver, seconds, poll_frequency=0.1).until(condition)


def _page_ready(driver: WebDriver, page: str, shop: str) -> bool:
    problem = driver.find_element(By.ID, "problem")
    assert not problem.is_displayed(), f"{page}: {problem.text}"
    found = driver.find_elements(
        By.CSS_SELECTOR, f'main [data-page="{page}"][data-shop="{shop}"][data-ready="true"]'
    )
    return bool(found)


def _open(browser: Browser, gateway: ServiceProcess, hash_: str, page: str, shop: str) -> None:
    browser.driver.get(f"{gateway.url}/dashboard/#/{hash_}")
    _wait(browser.driver, 20, lambda d: _page_ready(d, page, shop))


@contextmanager
def running_platform(
    dsn: str,
    topic_prefix: str,
    *,
    metrics_env: Mapping[str, str] | None = None,
    forecast_env: Mapping[str, str] | None = None,
) -> Iterator[ServiceProcess]:
    """The metrics job, the forecast and insights services and the gateway as processes over
    `dsn`, as the platform runs them; yields the gateway."""
    forecast_port, insights_port = free_port(), free_port()
    with (
        tempfile.TemporaryDirectory() as artefacts,
        run_metrics(topic_prefix, dsn, **(metrics_env or {})),
        run_service(
            "shopee_forecast",
            topic_prefix,
            "SHOPEE_FORECAST_HTTP_PORT",
            '"stopped"',
            SHOPEE_DATABASE_URL=dsn,
            SHOPEE_FORECAST_GRPC_PORT=str(forecast_port),
            SHOPEE_FORECAST_ARTEFACT_ROOT=f"{artefacts}/forecast",
            **(forecast_env or {}),
        ),
        run_service(
            "shopee_insights",
            topic_prefix,
            "SHOPEE_INSIGHTS_HTTP_PORT",
            '"stopped"',
            SHOPEE_DATABASE_URL=dsn,
            SHOPEE_INSIGHTS_GRPC_PORT=str(insights_port),
            SHOPEE_INSIGHTS_ARTEFACT_ROOT=f"{artefacts}/insights",
        ),
        run_gateway(
            topic_prefix,
            dsn,
            SHOPEE_GATEWAY_FORECAST_TARGET=f"127.0.0.1:{forecast_port}",
            SHOPEE_GATEWAY_INSIGHTS_TARGET=f"127.0.0.1:{insights_port}",
        ) as gateway,
    ):
        yield gateway


def _models_settled(driver: WebDriver) -> bool:
    """Every model-backed part of the page has an answer or a plain reason (never an error)."""
    states = {}
    for part in driver.find_elements(By.CSS_SELECTOR, "[data-model]"):
        states[part.get_attribute("data-model")] = (part.get_attribute("data-state"), part.text)
    failed = {
        name: text for name, (state, text) in states.items() if state in ("error", "forbidden")
    }
    assert not failed, failed
    return all(state in SETTLED for state, _ in states.values())


def _day_total(world: World, shop: str, kpi: str) -> Decimal:
    """The shop's whole-shop day rows of `kpi` summed over the world's days."""
    return sum(
        (
            numerator
            for (kind, row_shop, product, name, _), (numerator, _den) in world.rows.items()
            if kind == "day" and row_shop == shop and product == "" and name == kpi
        ),
        Decimal(0),
    )


def _wait_for_open_incomplete(dsn: str, shop: str, seconds: float) -> str:
    """The reason of the shop's open data-incomplete signal, once the job has opened one."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(dsn, autocommit=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(
                "SELECT reason FROM data_incomplete WHERE shop_id = %s AND resolved_at IS NULL",
                (shop,),
            ).fetchone()
            if row is not None:
                return str(row[0])
            time.sleep(0.5)
    raise AssertionError(f"no data-incomplete signal for {shop} within {seconds} s")


def _sign_in(browser: Browser, gateway: ServiceProcess, email: str) -> None:
    driver = browser.driver
    driver.get(f"{gateway.url}/dashboard/")
    form = _wait(driver, 20, lambda d: d.find_element(By.ID, "sign-in-form").is_displayed())
    assert form
    driver.find_element(By.NAME, "username").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
    _wait(driver, 20, lambda d: d.find_element(By.ID, "shell").is_displayed())


async def test_an_analyst_reads_every_page_and_sees_a_live_order_arrive(
    world: World, browser: Browser, kafka_bootstrap: str, topic_prefix: str
) -> None:
    tenant = world.tenants["a"]
    shop = tenant.shops[0]
    other_tenants_shop = world.tenants["b"].shops[0]
    end = FIRST_DAY + timedelta(days=DAYS - 1)
    gap_start = datetime.combine(FIRST_DAY + timedelta(days=2), datetime.min.time(), UTC)
    # And one after the period, which its Anomalies page must leave out.
    later_gap = gap_start + timedelta(days=DAYS + 2)
    with psycopg.connect(world.dsn) as connection:
        for since, reason in ((gap_start, GAP_REASON), (later_gap, "after the period")):
            connection.execute(
                "INSERT INTO data_incomplete (shop_id, since, lag_seconds, reason, resolved_at) "
                "VALUES (%s, %s, 18000, %s, %s)",
                (shop, since, reason, since + timedelta(hours=5)),
            )
        # A record its producer got wrong, refused by the stream job in the period.
        connection.execute(
            "INSERT INTO dead_letters (dlq_topic, dlq_partition, dlq_offset, source_topic, "
            "source_partition, source_offset, shop_id, event_id, reason, errors, payload, "
            "failed_at) VALUES ('events.dlq', 0, 7, 'events.orders', 2, 40, %s, 'e-refused', "
            "'invalid value: order.currency', %s, '{}', %s)",
            (shop, '[{"field": "order.currency", "message": "not an ISO 4217 code"}]', gap_start),
        )
        connection.execute(
            "INSERT INTO late_events (shop_id, event_id, topic, kafka_partition, kafka_offset, "
            "occurred_at, received_at, lateness_seconds, reason) VALUES (%s, 'e-late', "
            "'events.orders', 1, 9, %s, %s, 7200, 'older than the 0:10:00 grace')",
            (shop, gap_start, gap_start + timedelta(hours=2)),
        )
    # The live shop's events "stop" two seconds after the live order below, so the job soon
    # says its data is incomplete (whatever traffic its baseline expected in two seconds).
    stalls_fast = {
        "SHOPEE_METRICS_ANOMALY_STALL_SECONDS": "2",
        "SHOPEE_METRICS_ANOMALY_STALL_MIN_VISITORS": "0",
        "SHOPEE_METRICS_ANOMALY_INTERVAL_SECONDS": "1",
    }
    with running_platform(world.dsn, topic_prefix, metrics_env=stalls_fast) as gateway:
        _sign_in(browser, gateway, tenant.emails["analyst"])
        driver = browser.driver
        shops = [
            o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, "#shop option")
        ]
        assert shops == tenant.shops, "only the organisation's own shops are offered"

        # Every page renders from the API without an error, over the world's days; the parts a
        # model answers settle: six days are too little history to forecast, and they say so.
        for page in PAGE_IDS:
            _open(browser, gateway, f"{page}?shop={shop}&days=7&end={end}", page, shop)
            _wait(driver, 60, _models_settled)
        _open(browser, gateway, f"sales?shop={shop}&days=7&end={end}", "sales", shop)
        _wait(driver, 60, _models_settled)
        forecast = driver.find_element(By.CSS_SELECTOR, '[data-model="Sales forecast"]')
        assert forecast.get_attribute("data-state") == "not-enough-data"
        assert "days" in forecast.text, forecast.text
        # The period's GMV and paid orders are the generator's events, summed by the database.
        _open(browser, gateway, f"overview?shop={shop}&days=7&end={end}", "overview", shop)
        for kpi in ("gmv", "paid_orders"):
            tile = driver.find_element(By.CSS_SELECTOR, f'.tile[data-kpi="{kpi}"]')
            assert Decimal(tile.get_attribute("data-value") or "nan") == _day_total(
                world, shop, kpi
            )
            assert tile.find_element(By.CLASS_NAME, "value").text not in ("", "–")
        assert len(driver.find_elements(By.CSS_SELECTOR, ".uplot")) >= 2, "the day charts drew"
        # This world's KPI rows were written for the test, not counted by the stream job: the
        # page says no event of the shop has been counted yet.
        counted = driver.find_element(By.CSS_SELECTOR, ".notice[data-counted]")
        assert counted.get_attribute("data-counted") == "none"
        _open(browser, gateway, f"products?shop={shop}&days=7&end={end}", "products", shop)
        assert driver.find_elements(By.CSS_SELECTOR, ".bar-row"), "top products are listed"
        # By the names the seller gave them in the catalogue (the full name is the tooltip).
        labels = [
            label.get_attribute("title")
            for label in driver.find_elements(By.CSS_SELECTOR, ".bar-row .label")
        ]
        names = {name for (named_shop, _), name in world.names.items() if named_shop == shop}
        assert labels
        assert set(labels) <= names, labels[:3]

        # A stretch of missing events in the period is listed beside the anomalies (the one
        # after the period is not).
        _open(browser, gateway, f"anomalies?shop={shop}&days=7&end={end}", "anomalies", shop)
        [gap] = driver.find_elements(By.CSS_SELECTOR, "article[data-incomplete]")
        assert GAP_REASON in gap.text
        # So is an event the stream job refused, with the field and why.
        [refused] = driver.find_elements(By.CSS_SELECTOR, "article[data-refused]")
        assert "order.currency: not an ISO 4217 code" in refused.text
        # And one that came two hours late, recorded rather than counted.
        [late] = driver.find_elements(By.CSS_SELECTOR, "article[data-late]")
        assert "came 2 h late" in late.text, late.text
        # And shaded on the hourly GMV chart (the world has no anomaly of this shop).
        chart = driver.find_element(By.CSS_SELECTOR, '[data-chart="anomalies:gmv"]')
        assert chart.get_attribute("data-spans") == "1"
        assert chart.find_elements(By.CSS_SELECTOR, ".uplot canvas"), "the chart drew"
        assert not driver.find_elements(By.CSS_SELECTOR, ".notice"), "nothing is going on now"
        # Six days are under the detector's first week: the list says the shop is not judged
        # yet rather than that it found nothing.
        [judged] = driver.find_elements(By.CSS_SELECTOR, "[data-judged]")
        assert judged.get_attribute("data-judged") == "none"
        assert "not judged this shop yet" in judged.text
        assert "Nothing judged yet." in driver.find_element(By.TAG_NAME, "main").text

        # A shop of another organisation in the URL falls back to one's own.
        _open(browser, gateway, f"sales?shop={other_tenants_shop}&days=7", "sales", tenant.shops[0])

        # Live: an order pushed now reaches today's tiles through the stream job and the socket.
        _open(browser, gateway, f"overview?shop={shop}", "overview", shop)
        _wait(driver, 20, lambda d: d.find_element(By.ID, "live").text == "live")
        producer = make_producer(kafka_bootstrap, client_id="dashboard-test", linger_ms=0)
        await producer.start()
        try:
            order = paid_order(
                shop,
                world.zones[shop],
                product_id="p-dashboard",
                quantity=2,
                unit_price_minor=125_000,
            )
            sent = time.monotonic()
            await producer.send_and_wait(
                topic_prefix + "events.orders", order.SerializeToString(), key=shop.encode()
            )
        finally:
            await producer.stop()
        orders_tile = '[data-live-kpi="paid_orders"] .value'
        _wait(
            driver,
            30,
            lambda d: (
                d.find_element(By.CSS_SELECTOR, orders_tile).get_attribute("data-value") == "1"
            ),
        )
        print(f"order to live tile: {time.monotonic() - sent:.2f} s")
        gmv = driver.find_element(By.CSS_SELECTOR, '[data-live-kpi="gmv"] .value')
        assert gmv.get_attribute("data-value") == "250000"
        today = datetime.now(ZoneInfo(world.zones[shop])).date()
        assert today > end, "today's tile is not the world's history"

        # No event follows the order: the job's own signal says the shop's data is incomplete,
        # and the overview says so above the live tiles.
        reason = _wait_for_open_incomplete(world.dsn, shop, 30)
        driver.refresh()
        _wait(driver, 20, lambda d: _page_ready(d, "overview", shop))
        notice = driver.find_element(By.CSS_SELECTOR, ".notice[data-incomplete]")
        assert "Data incomplete since" in notice.text
        assert reason in notice.text
        # The live order is counted: the period's figures are current up to it.
        assert not driver.find_elements(By.CSS_SELECTOR, ".notice[data-counted]")

        # Signing out forgets the session: a reload asks to sign in again.
        driver.find_element(By.ID, "sign-out").click()
        driver.refresh()
        _wait(driver, 20, lambda d: d.find_element(By.ID, "sign-in-form").is_displayed())
        # Chromium logs every 4xx/5xx answer as an error; the API's answers (409: too little
        # history) are the page's to handle, which the model states above check. Anything else
        # (a script error, a file that failed to load) is a defect.
        errors = [
            entry
            for entry in browser.console_errors()
            if not (entry["source"] == "network" and "/api/" in entry["message"])
        ]
        assert errors == []


def test_the_sales_forecast_is_drawn_with_its_bands_once_its_model_is_trained(
    database_url: str, browser: Browser, topic_prefix: str
) -> None:
    """A shop with 100 days of history: its first forecast trains on demand (the page says so
    and tries again), then draws the days behind, the median ahead and the 80%/95% bands."""
    config = GeneratorConfig(
        start=date(2025, 7, 1), days=100, shops=1, scale=0.2, seed=5, incidents=False
    )
    events = list(generate_history(config))
    [(shop, zone)] = shops_of(events).items()
    with temporary_database(database_url) as dsn:
        upgrade(dsn)
        with psycopg.connect(dsn) as connection:
            tenant = insert_tenant(connection, "f", {shop: zone}, PasswordHasher().hash(PASSWORD))
        load_world(dsn, events)
        # One short fold and one worker: the model trains in seconds, as the first call waits.
        fast_training = {
            "SHOPEE_FORECAST_BACKTEST_FOLDS": "1",
            "SHOPEE_FORECAST_BACKTEST_HORIZON_DAYS": "14",
            "SHOPEE_FORECAST_TRAIN_WORKERS": "1",
            "SHOPEE_FORECAST_RETRAIN_CRON": "",
        }
        with running_platform(dsn, topic_prefix, forecast_env=fast_training) as gateway:
            _sign_in(browser, gateway, tenant.emails["viewer"])
            _open(browser, gateway, f"sales?shop={shop}&days=30", "sales", shop)
            driver = browser.driver
            _wait(driver, 180, _models_settled)
            part = driver.find_element(By.CSS_SELECTOR, '[data-model="Sales forecast"]')
            assert part.get_attribute("data-state") == "ready", part.text
            for target in ("gmv", "paid_orders"):
                chart = part.find_element(By.CSS_SELECTOR, f'[data-chart="forecast:{target}"]')
                assert chart.find_elements(By.CSS_SELECTOR, ".uplot canvas"), target
                assert "Expected total" in chart.text
                assert "80% and 95% intervals" in chart.text
            legend = part.find_element(By.CSS_SELECTOR, '[data-chart="forecast:gmv"]').text
            assert "Forecast (median)" in legend
            assert "95% high" in legend

            # Price advice for the period's best sellers, each from its measured elasticity (or
            # its category's), or the reason there is none.
            last = config.start + timedelta(days=config.days - 1)
            _open(browser, gateway, f"products?shop={shop}&days=30&end={last}", "products", shop)
            _wait(driver, 240, _models_settled)
            prices = driver.find_element(By.CSS_SELECTOR, '[data-model="Price advice"]')
            assert prices.get_attribute("data-state") == "ready", prices.text
            rows = prices.find_elements(By.CSS_SELECTOR, "tbody tr[data-product]")
            assert rows, prices.text
            advised = [r for r in rows if len(r.find_elements(By.TAG_NAME, "td")) == 8]
            assert advised, [r.text for r in rows]
            # What buyers of the best sellers also buy, by the products' catalogue names.
            bundles = driver.find_element(By.CSS_SELECTOR, '[data-model="Bought together"]')
            assert bundles.get_attribute("data-state") == "ready", bundles.text
            partners = bundles.find_elements(By.CSS_SELECTOR, "tbody tr[data-product] span")
            assert partners, bundles.text
            names = {e.catalog.name for e in events if e.WhichOneof("payload") == "catalog"}
            assert {p.text for p in partners} <= names, [p.text for p in partners]

            # The period's ads spend a day, split across the channels with history.
            _open(browser, gateway, f"campaigns?shop={shop}&days=30&end={last}", "campaigns", shop)
            _wait(driver, 240, _models_settled)
            budget = driver.find_element(By.CSS_SELECTOR, '[data-model="Budget split"]')
            assert budget.get_attribute("data-state") == "ready", budget.text
            shares = [
                float(row.find_elements(By.TAG_NAME, "td")[2].text.rstrip("%"))
                for row in budget.find_elements(By.CSS_SELECTOR, "tbody tr[data-channel]")
            ]
            assert shares, budget.text
            assert sum(shares) == pytest.approx(100, abs=len(shares))
