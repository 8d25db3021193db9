"""DSN handling: libpq URLs in, psycopg 3 SQLAlchemy URLs out."""

from __future__ import annotations

import pytest

from shopee_db.engine import sqlalchemy_url, with_database

DSN = "postgresql://shopee:p%40ss@127.0.0.1:15432/shopee"


@pytest.mark.parametrize(
    "dsn",
    [
        DSN,
        DSN.replace("postgresql://", "postgres://"),
        DSN.replace("postgresql", "postgresql+psycopg"),
    ],
)
def test_every_postgres_spelling_becomes_psycopg(dsn: str) -> None:
    url = sqlalchemy_url(dsn)
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "shopee",
        "p@ss",
        "127.0.0.1",
        15432,
        "shopee",
    )


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL DSN"):
        sqlalchemy_url("mysql://root@localhost/db")


def test_with_database_keeps_server_and_credentials() -> None:
    assert with_database(DSN, "other") == "postgresql://shopee:p%40ss@127.0.0.1:15432/other"
