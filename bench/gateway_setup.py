"""The private database of the gateway benchmark: migrated, one organisation owning the generated
shops with one admin user, and loaded in parallel processes (bench.gateway_load) under a
progress bar."""

from __future__ import annotations

import multiprocessing
import queue
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
from argon2 import PasswordHasher
from psycopg import sql
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.gateway_check import check_aggregation
from bench.gateway_load import ShopLoad, load_shop
from shopee_db.engine import with_database
from shopee_db.testing import temporary_database
from shopee_generator.world import GeneratorConfig, build_world

EMAIL = "bench@gateway-queries.example.com"
PASSWORD = "bench gateway password"  # noqa: S105 - a throwaway user of a throwaway database


@dataclass
class LoadReport:
    shops: list[ShopLoad] = field(default_factory=list)
    seconds: float = 0.0
    vacuum_seconds: float = 0.0
    sizes: dict[str, str] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return sum(s.events for s in self.shops)

    def rows(self, table: str) -> int:
        """KPI rows loaded into `table`."""
        return sum(s.kpi_rows[table] for s in self.shops)


@contextmanager
def private_database(server_dsn: str, keep: bool) -> Iterator[str]:
    """A new empty database, dropped afterwards unless `keep` (then its DSN is printed)."""
    if not keep:
        with temporary_database(server_dsn, prefix="shopee_bench") as dsn:
            yield dsn
        return
    name = f"shopee_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = with_database(server_dsn, name)
    print(f"database kept: {dsn}")
    yield dsn


def register(dsn: str, config: GeneratorConfig) -> None:
    """The organisation, its shops (as the generator describes them) and the monthly partitions
    of the period (what `shopee-db ensure-partitions` does in operation)."""
    world = build_world(config)
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "INSERT INTO organisations (slug, name) VALUES ('bench', 'Bench sellers') RETURNING id"
        ).fetchone()
        assert row is not None
        for shop in world.shops:
            connection.execute(
                "INSERT INTO shops (id, organisation_id, name, market, currency, time_zone) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (shop.shop_id, row[0], shop.name, shop.market.code, shop.currency, shop.time_zone),
            )
        for table in ("raw_events", "kpi_minute"):
            connection.execute(
                "SELECT ensure_partitions(%s, %s, %s)",
                (table, config.start - timedelta(days=2), config.last_day + timedelta(days=2)),
            )


def ensure_user(dsn: str) -> None:
    """The admin user of the bench organisation, with a fresh password hash."""
    hashed = PasswordHasher().hash(PASSWORD)
    with psycopg.connect(dsn) as connection:
        user = connection.execute(
            "INSERT INTO users (email, full_name, password_hash) VALUES (%s, 'Bench', %s) "
            "ON CONFLICT (lower(email)) DO UPDATE SET password_hash = excluded.password_hash RETURNING id",
            (EMAIL, hashed),
        ).fetchone()
        assert user is not None
        connection.execute(
            "INSERT INTO organisation_memberships (user_id, organisation_id, role_id) "
            "SELECT %s, o.id, r.id FROM organisations o, roles r "
            "WHERE o.slug = 'bench' AND r.name = 'admin' ON CONFLICT DO NOTHING",
            (user[0],),
        )


def load(dsn: str, config: GeneratorConfig, workers: int) -> LoadReport:
    """Check the aggregation against the job's, then load every shop (`workers` processes),
    then VACUUM ANALYZE the KPI tables and ANALYZE raw_events (autovacuum's steady state)."""
    checked = check_aggregation(config, shop_index=0, days=14)
    print(
        f"KPI aggregation checked equal to shopee_metrics plan()+increments() on {checked:,} events"
    )
    report = LoadReport()
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("shop-days, {task.fields[events]:,} events"),
        TimeElapsedColumn(),
    )
    with (
        context.Manager() as manager,
        Progress(*columns) as progress,
        ProcessPoolExecutor(workers, context) as pool,
    ):
        # Each worker puts the events of every day it finished: the bar's feed.
        progress_queue = manager.Queue()
        task = progress.add_task("loading", total=config.shops * config.days, events=0)
        futures: list[Future[ShopLoad]] = [
            pool.submit(load_shop, dsn, config, index, progress_queue.put)
            for index in range(config.shops)
        ]
        events = 0
        while not all(f.done() for f in futures) or not progress_queue.empty():
            try:
                events += progress_queue.get(timeout=0.2)
            except queue.Empty:
                continue
            progress.update(task, advance=1, events=events)
        report.shops = [f.result() for f in futures]
    report.seconds = time.perf_counter() - started
    vacuum_started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) kpi_minute, kpi_hour, kpi_day")
        connection.execute("ANALYZE raw_events")
        for table in ("raw_events", "kpi_minute", "kpi_hour", "kpi_day"):
            size = connection.execute(
                "SELECT pg_size_pretty(sum(pg_total_relation_size(c))) FROM "
                "(SELECT %s::regclass AS c UNION ALL SELECT inhrelid FROM pg_inherits "
                "WHERE inhparent = %s::regclass) AS parts",
                (table, table),
            ).fetchone()
            report.sizes[table] = size[0] if size else "?"
    report.vacuum_seconds = time.perf_counter() - vacuum_started
    return report
