"""Running the Alembic migrations shipped in this package, configured in code (no alembic.ini).

Options that shape the schema (the storage path, how many monthly partitions to create, the
TimescaleDB policies) travel to the migration scripts in `Config.attributes`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from shopee_db.engine import make_engine, sqlalchemy_url
from shopee_db.timescale import TimescalePolicy

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
OPTIONS_ATTRIBUTE = "shopee_migration_options"
CONNECTION_ATTRIBUTE = "connection"

StorageChoice = Literal["auto", "timescaledb", "postgres"]


@dataclass(frozen=True)
class MigrationOptions:
    """Choices made when the time-series tables are created.

    storage: `auto` uses TimescaleDB when the server can load it, else plain PostgreSQL.
    partition_months_back / partition_months_ahead: monthly partitions created around the month
    the migration runs in (plain path); `ensure_partitions` adds others later.
    """

    storage: StorageChoice = "auto"
    partition_months_back: int = 12
    partition_months_ahead: int = 3
    timescale: TimescalePolicy = field(default_factory=TimescalePolicy)


def alembic_config(
    dsn: str | None = None, options: MigrationOptions | None = None, output: TextIO | None = None
) -> Config:
    """An Alembic Config pointing at the packaged migrations.

    `dsn` is needed only offline (it names the dialect); online, the caller puts an open
    connection in `attributes["connection"]`. `output` receives offline SQL (default: stdout).
    """
    config = Config(output_buffer=output)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if dsn is not None:
        # The URL goes through configparser interpolation: escape the % of encoded passwords.
        url = sqlalchemy_url(dsn).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes[OPTIONS_ATTRIBUTE] = options or MigrationOptions()
    return config


@contextmanager
def _connected(dsn: str, options: MigrationOptions | None) -> Iterator[Config]:
    engine = make_engine(dsn)
    try:
        with engine.connect() as connection:
            config = alembic_config(options=options)
            config.attributes[CONNECTION_ATTRIBUTE] = connection
            yield config
    finally:
        engine.dispose()


def upgrade(dsn: str, revision: str = "head", options: MigrationOptions | None = None) -> None:
    """Migrate the database at `dsn` (libpq form) up to `revision`."""
    with _connected(dsn, options) as config:
        command.upgrade(config, revision)


def downgrade(dsn: str, revision: str) -> None:
    """Migrate the database at `dsn` down to `revision` (`base` removes everything)."""
    with _connected(dsn, None) as config:
        command.downgrade(config, revision)


def upgrade_sql(revision: str, options: MigrationOptions, output: TextIO | None = None) -> None:
    """Write the upgrade from an empty database as a SQL script to `output` (default: stdout).

    Offline mode cannot ask the server which path to take, so `options.storage` must name one.
    """
    if options.storage == "auto":
        raise ValueError("an offline SQL script needs storage=timescaledb or storage=postgres")
    command.upgrade(
        alembic_config("postgresql://offline/shopee", options, output), revision, sql=True
    )


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped in this package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def history() -> list[tuple[str, str]]:
    """(revision, description) of every shipped migration, oldest first."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return [(s.revision, s.doc) for s in reversed(list(scripts.walk_revisions()))]


def new_revision(message: str) -> Path:
    """Write an empty migration numbered after the newest one; return its path (for developers)."""
    numbers = [int(rev) for rev, _ in history() if re.fullmatch(r"\d{4}", rev)]
    config = alembic_config()
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    script = command.revision(config, message=message, rev_id=f"{max(numbers, default=0) + 1:04d}")
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic did not write exactly one revision")
    return Path(script.path)


def migration_options() -> MigrationOptions:
    """The options of the running migration (inside a migration script only)."""
    options = context.config.attributes.get(OPTIONS_ATTRIBUTE)
    return options if isinstance(options, MigrationOptions) else MigrationOptions()
