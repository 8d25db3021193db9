"""Turning the platform's libpq DSN into SQLAlchemy URLs and engines (psycopg 3 driver)."""

from __future__ import annotations

from sqlalchemy import URL, Engine, create_engine, make_url
from sqlalchemy.pool import NullPool

PSYCOPG_DRIVER = "postgresql+psycopg"


def sqlalchemy_url(dsn: str) -> URL:
    """`postgresql://...` (or `postgres://`, or already `postgresql+psycopg://`) as a psycopg 3 URL."""
    url = make_url(
        dsn.replace("postgres://", "postgresql://", 1) if dsn.startswith("postgres://") else dsn
    )
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL DSN: {url.render_as_string(hide_password=True)}")
    return url.set(drivername=PSYCOPG_DRIVER)


def make_engine(dsn: str) -> Engine:
    """An engine without a pool: the CLI and migrations open one connection and close it."""
    return create_engine(sqlalchemy_url(dsn), poolclass=NullPool)


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials as `dsn`, another database name (libpq URL form)."""
    url = make_url(dsn).set(database=database)
    return url.render_as_string(hide_password=False)
