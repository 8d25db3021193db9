"""`shopee-db`: migrate the platform database, inspect it, add partitions, seed demo data.

The database comes from SHOPEE_DATABASE_URL (libpq form, `postgresql://user:pw@host:port/db`)
unless --database-url is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from shopee_common.logging import configure_logging
from shopee_common.settings import PlatformSettings
from shopee_db import migrator, partitions, seed
from shopee_db.engine import make_engine
from shopee_db.storage import StoragePath, probe_timescaledb, recorded_storage_path
from shopee_db.timescale import TimescalePolicy

EPILOG = """\
examples:
  shopee-db upgrade                         migrate to the newest schema
  shopee-db upgrade --sql --storage postgres    print the SQL instead of running it
  shopee-db downgrade base                  remove every table the migrations made
  shopee-db check                           revision, and whether TimescaleDB is used
  shopee-db ensure-partitions --from 2024-01-01 --to 2026-01-01
  shopee-db seed-demo --shops-file shops.json
"""


def _positive_days(value: str) -> timedelta:
    days = int(value)
    if days <= 0:
        raise argparse.ArgumentTypeError("days must be > 0")
    return timedelta(days=days)


def _days_or_forever(value: str) -> timedelta | None:
    """A retention in days; 0 means keep forever (no retention policy)."""
    return None if int(value) == 0 else _positive_days(value)


def _utc_date(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (public so that tests and docs can inspect it)."""
    parser = argparse.ArgumentParser(
        prog="shopee-db",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database-url", help="overrides SHOPEE_DATABASE_URL")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("upgrade", help="migrate up (to head by default)")
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.add_argument(
        "--storage",
        choices=["auto", "timescaledb", "postgres"],
        default="auto",
        help="time-series storage path; auto = TimescaleDB when the server can load it",
    )
    up.add_argument(
        "--months-back", type=int, default=12, help="past monthly partitions (default: 12)"
    )
    up.add_argument(
        "--months-ahead", type=int, default=3, help="future monthly partitions (default: 3)"
    )
    up.add_argument(
        "--compress-after-days",
        type=_positive_days,
        default=timedelta(days=7),
        help="TimescaleDB only (default: 7)",
    )
    up.add_argument(
        "--raw-events-retention-days",
        type=_days_or_forever,
        default=timedelta(days=400),
        help="TimescaleDB only; 0 keeps raw events forever (default: 400)",
    )
    up.add_argument(
        "--kpi-minute-retention-days",
        type=_days_or_forever,
        default=timedelta(days=90),
        help="TimescaleDB only; 0 keeps minute KPIs forever (default: 90)",
    )
    up.add_argument("--sql", action="store_true", help="print the SQL script, touch nothing")

    down = commands.add_parser("downgrade", help="migrate down to REVISION (base = empty)")
    down.add_argument("revision")

    commands.add_parser("current", help="print the database's revision")
    commands.add_parser("history", help="list the shipped migrations")
    commands.add_parser(
        "check", help="print revision, storage path and TimescaleDB use; exit 1 if not at head"
    )

    ensure = commands.add_parser(
        "ensure-partitions", help="create the monthly partitions covering [--from, --to)"
    )
    ensure.add_argument("--table", action="append", choices=sorted(partitions.PARTITIONED_TABLES))
    ensure.add_argument("--from", dest="start", type=_utc_date, required=True, help="YYYY-MM-DD")
    ensure.add_argument("--to", dest="end", type=_utc_date, required=True, help="YYYY-MM-DD")

    demo = commands.add_parser("seed-demo", help="insert the demo tenant (idempotent)")
    shops = demo.add_mutually_exclusive_group()
    shops.add_argument("--shops-file", type=Path, help="JSON list of shop ids or shop objects")
    shops.add_argument("--shop", action="append", help="a shop id (repeatable)")
    demo.add_argument("--admin-email", default=seed.DEMO_ADMIN_EMAIL)
    demo.add_argument("--admin-password", help="default: generated and printed once")
    demo.add_argument("--api-key", help="register this sk_<prefix>_<secret> key instead")
    demo.add_argument("--json", action="store_true", help="print the result as JSON")

    revision = commands.add_parser("revision", help="write an empty migration (developers)")
    revision.add_argument("-m", "--message", required=True)
    return parser


def _database_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    return PlatformSettings().database_url.get_secret_value()


def _upgrade(args: argparse.Namespace) -> int:
    options = migrator.MigrationOptions(
        storage=args.storage,
        partition_months_back=args.months_back,
        partition_months_ahead=args.months_ahead,
        timescale=TimescalePolicy(
            compress_after=args.compress_after_days,
            raw_events_retention=args.raw_events_retention_days,
            kpi_minute_retention=args.kpi_minute_retention_days,
        ),
    )
    if args.sql:
        migrator.upgrade_sql(args.revision, options)
    else:
        migrator.upgrade(_database_url(args), args.revision, options)
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    migrator.downgrade(_database_url(args), args.revision)
    return 0


def _current(args: argparse.Namespace) -> int:
    engine = make_engine(_database_url(args))
    try:
        with engine.connect() as connection:
            revision = migrator.current_revision(connection)
    finally:
        engine.dispose()
    head = migrator.head_revision()
    print(f"{revision} (head)" if revision == head else f"{revision or 'none'} (head is {head})")
    return 0


def _history(_: argparse.Namespace) -> int:
    for revision, description in migrator.history():
        print(f"{revision}  {description.splitlines()[0] if description else ''}")
    return 0


def _check(args: argparse.Namespace) -> int:
    engine = make_engine(_database_url(args))
    try:
        with engine.connect() as connection:
            server = connection.execute(text("SHOW server_version")).scalar()
            revision = migrator.current_revision(connection)
            timescaledb = probe_timescaledb(connection)
            path = recorded_storage_path(connection)
    finally:
        engine.dispose()
    head = migrator.head_revision()
    print(f"server: PostgreSQL {server}")
    print(f"revision: {revision or 'none'} (head {head})")
    print(
        f"timescaledb extension: available={timescaledb.available} "
        f"preloaded={timescaledb.preloaded} installed={timescaledb.installed_version or 'no'}"
    )
    if path is None:
        print("storage path: not chosen yet (run `shopee-db upgrade`)")
    else:
        print(f"storage path: {path.value}")
    print(f"TimescaleDB used: {'yes' if path is StoragePath.TIMESCALEDB else 'no'}")
    return 0 if revision == head else 1


def _ensure_partitions(args: argparse.Namespace) -> int:
    engine = make_engine(_database_url(args))
    try:
        for table in args.table or sorted(partitions.PARTITIONED_TABLES):
            with engine.begin() as connection:
                created = partitions.ensure_partitions(connection, table, args.start, args.end)
            print(f"{table}: {created} partition(s) created")
    finally:
        engine.dispose()
    return 0


def _seed_demo(args: argparse.Namespace) -> int:
    if args.shops_file:
        shops = seed.load_shops(args.shops_file)
    elif args.shop:
        shops = seed.shops_from_ids(args.shop)
    else:
        shops = list(seed.DEFAULT_DEMO_SHOPS)
    engine = make_engine(_database_url(args))
    try:
        with engine.begin() as connection:
            result = seed.seed_demo(
                connection, shops, args.admin_email, args.admin_password, args.api_key
            )
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(asdict(result), indent=2))
        return 0
    print(f"organisation: {seed.DEMO_ORGANISATION_SLUG} ({result.organisation_id})")
    print(f"admin: {result.admin_email} ({'created' if result.admin_created else 'exists'})")
    if result.generated_admin_password:
        print(f"admin password (shown once): {result.generated_admin_password}")
    print(f"shops: {', '.join(result.shop_ids)}")
    if result.api_key:
        print(f"ingest API key (shown once, store it now): {result.api_key}")
    else:
        print(f"ingest API key: sk_{result.api_key_prefix}_... (registered earlier)")
    return 0


def _revision(args: argparse.Namespace) -> int:
    print(migrator.new_revision(args.message))
    return 0


HANDLERS = {
    "upgrade": _upgrade,
    "downgrade": _downgrade,
    "current": _current,
    "history": _history,
    "check": _check,
    "ensure-partitions": _ensure_partitions,
    "seed-demo": _seed_demo,
    "revision": _revision,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit status."""
    args = build_parser().parse_args(argv)
    # Migrations narrate at INFO; commands whose stdout is data keep logs to warnings.
    narrates = args.command in {"upgrade", "downgrade"} and not getattr(args, "sql", False)
    configure_logging("shopee-db", "INFO" if narrates else "WARNING")
    try:
        return HANDLERS[args.command](args)
    except (seed.SeedError, ValueError, RuntimeError) as error:
        print(f"shopee-db {args.command}: {error}", file=sys.stderr)
        return 2
