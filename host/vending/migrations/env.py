"""Alembic environment for the vending ledger: runs on the connection handed in by
``host.vending.db.upgrade_head`` (or opens one from the configured URL)."""
from alembic import context
from sqlalchemy import create_engine

from host.vending.schema import metadata

config = context.config


def run():
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()


run()
