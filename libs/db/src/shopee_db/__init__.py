"""The platform's PostgreSQL/TimescaleDB schema: packaged Alembic migrations and helpers.

`upgrade(dsn)` migrates a database; `ensure_partitions` adds monthly partitions (plain path);
`recorded_storage_path` tells which storage path the migrations chose.
"""

from shopee_db.migrator import MigrationOptions, downgrade, head_revision, upgrade
from shopee_db.partitions import ensure_partitions
from shopee_db.storage import StoragePath, recorded_storage_path
from shopee_db.timescale import TimescalePolicy

__all__ = [
    "MigrationOptions",
    "StoragePath",
    "TimescalePolicy",
    "downgrade",
    "ensure_partitions",
    "head_revision",
    "recorded_storage_path",
    "upgrade",
]
