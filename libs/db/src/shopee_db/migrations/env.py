"""Alembic environment: runs the packaged migrations on the connection `shopee_db.migrator` gives.

Online, the caller puts an open SQLAlchemy connection in `config.attributes["connection"]`;
offline (`shopee-db upgrade --sql`), the script is rendered for the URL in the config.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from shopee_db.migrator import CONNECTION_ATTRIBUTE


def run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        literal_binds=True,
        # With the driver's pyformat style, a literal % would be rendered as %%.
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online(connection: Connection) -> None:
    # One transaction per revision: a failed revision leaves the database at the previous one.
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online(context.config.attributes[CONNECTION_ATTRIBUTE])
