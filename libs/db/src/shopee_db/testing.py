"""A throwaway database on a real server, for integration tests of any package.

Use it as `with temporary_database(server_dsn) as dsn: upgrade(dsn); ...`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from shopee_db.engine import with_database


@contextmanager
def temporary_database(server_dsn: str, prefix: str = "shopee_test") -> Iterator[str]:
    """Create an empty database on the server of `server_dsn`; drop it afterwards.

    Yields the new database's DSN (libpq URL form). The connecting role needs CREATEDB.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(server_dsn, name)
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as admin:
            # FORCE ends sessions a failed test may have left open.
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
