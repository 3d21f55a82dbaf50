"""Alembic environment: runs on the connection handed over in config.attributes["connection"]."""

from alembic import context

from fediverse_node.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `fediverse-node migrate`, which passes a connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
