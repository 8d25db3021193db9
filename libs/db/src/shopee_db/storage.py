"""Which storage path the schema uses for time series: TimescaleDB, or plain PostgreSQL.

The choice is made once, by the migration that creates the event and KPI tables, and recorded in
`platform_meta`. It changes how the time-series tables are stored (hypertables or monthly
partitions), never their columns: on both, the stream job keeps the hourly and daily rollups.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import Connection, text

STORAGE_PATH_KEY = "storage_path"
TIMESCALEDB_VERSION_KEY = "timescaledb_version"


class StoragePath(enum.StrEnum):
    """`timescaledb`: hypertables with compression and retention; `postgres`: range partitions."""

    TIMESCALEDB = "timescaledb"
    POSTGRES = "postgres"


@dataclass(frozen=True)
class TimescaleAvailability:
    """What the server offers: whether the extension is packaged, preloaded, installed here."""

    available: bool
    preloaded: bool
    installed_version: str | None

    @property
    def usable(self) -> bool:
        """CREATE EXTENSION succeeds only when the library is in shared_preload_libraries."""
        return self.installed_version is not None or (self.available and self.preloaded)


def probe_timescaledb(connection: Connection) -> TimescaleAvailability:
    """Ask the server whether TimescaleDB can be used in this database."""
    row = connection.execute(
        text(
            """
            SELECT
                EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),
                'timescaledb' = ANY (
                    string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')
                ),
                (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb')
            """
        )
    ).one()
    return TimescaleAvailability(available=row[0], preloaded=row[1], installed_version=row[2])


def choose_storage_path(requested: str, availability: TimescaleAvailability) -> StoragePath:
    """Resolve `auto` against what the server offers; refuse `timescaledb` when it cannot work."""
    if requested == "auto":
        return StoragePath.TIMESCALEDB if availability.usable else StoragePath.POSTGRES
    path = StoragePath(requested)
    if path is StoragePath.TIMESCALEDB and not availability.usable:
        raise RuntimeError(
            "storage=timescaledb was requested but the server cannot load the extension "
            f"(available={availability.available}, preloaded={availability.preloaded})"
        )
    return path


def recorded_storage_path(connection: Connection) -> StoragePath | None:
    """The path recorded by the migrations, or None before they ran."""
    if connection.execute(text("SELECT to_regclass('platform_meta')")).scalar() is None:
        return None
    value = connection.execute(
        text("SELECT value FROM platform_meta WHERE key = :key"), {"key": STORAGE_PATH_KEY}
    ).scalar()
    return None if value is None else StoragePath(value)
